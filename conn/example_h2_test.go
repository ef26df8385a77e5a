package conn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"duplex/conn"
	"duplex/frame"
)

// A WebSocket over HTTP/2 (RFC 8441): one handler serves the extended
// CONNECT and the HTTP/1.1 upgrade alike, and Dial with HTTP2 opens the
// connection on a stream. This test binary runs with
// GODEBUG=http2xconnect=1, which a server's process needs from its start.
func ExampleDialOptions_http2() {
	mux := http.NewServeMux()
	// "/ws", not "GET /ws": HTTP/2 clients send CONNECT.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		// Printed before the answer, so before the client's lines.
		fmt.Printf("server: %s %s, :protocol %s\n", r.Proto, r.Method, r.Header.Get(":protocol"))
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// The stream lasts as long as this handler: echo until the end.
		echoUntilClosed(c)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	ctx := context.Background()
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/ws"
	c, resp, err := conn.Dial(ctx, url, &conn.DialOptions{HTTP2: true, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()
	fmt.Println("client: HTTP", resp.ProtoMajor, resp.StatusCode)
	if err := c.WriteMessage(ctx, conn.MessageText, []byte("hello over h2")); err != nil {
		fmt.Println("write:", err)
		return
	}
	_, reply, err := c.ReadMessage(ctx)
	if err != nil {
		fmt.Println("read:", err)
		return
	}
	fmt.Println("client:", string(reply))
	fmt.Println("close:", c.Close(frame.CloseNormal, ""))
	// Output:
	// server: HTTP/2.0 CONNECT, :protocol websocket
	// client: HTTP 2 200
	// client: hello over h2
	// close: <nil>
}
