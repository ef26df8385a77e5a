package conn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"duplex/conn"
	"duplex/frame"
)

// Compression is negotiated by setting Options.Compression on both sides.
// Here the server asks the client for a 4 KiB window without context
// takeover, so it keeps no history to inflate with.
func ExampleCompressionOptions() {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, &conn.AcceptOptions{Options: conn.Options{
			Compression: &conn.CompressionOptions{PeerNoContextTakeover: true, PeerMaxWindowBits: 12},
		}})
		if err != nil {
			return
		}
		defer close(done)
		echoUntilClosed(c)
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{
		Options: conn.Options{Compression: &conn.CompressionOptions{}},
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	p, ok := c.Compression()
	fmt.Println(ok, p.Extension())

	msg := strings.Repeat("all work and no play makes a dull message ", 100)
	_ = c.WriteMessage(ctx, conn.MessageText, []byte(msg))
	_, reply, _ := c.ReadMessage(ctx)
	fmt.Println(len(reply), string(reply) == msg)

	// A message already compressed is better sent as is.
	_ = c.WriteMessage(conn.NoCompression(ctx), conn.MessageBinary, []byte{0x1f, 0x8b, 8, 0})
	_, reply, _ = c.ReadMessage(ctx)
	fmt.Printf("% x\n", reply)

	_ = c.Close(frame.CloseNormal, "")
	<-done
	// Output:
	// true permessage-deflate; client_no_context_takeover; client_max_window_bits=12
	// 4200 true
	// 1f 8b 08 00
}
