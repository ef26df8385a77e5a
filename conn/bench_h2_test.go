package conn_test

import (
	"context"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

// BenchmarkH2 compares a connection on an HTTP/2 stream (RFC 8441) with one
// upgraded over HTTP/1.1, both over TLS on loopback to the same net/http
// server: roundtrip is one message out and its echo back, the latency of a
// request and its answer; stream sends messages the server discards one by
// one and then waits for one acknowledgement, the throughput one way. Read
// the two protocols' results as a ratio; the absolute figures depend on the
// machine.
//
//	go test ./conn -run '^$' -bench '^BenchmarkH2$' -benchtime 2s -count 5
func BenchmarkH2(b *testing.B) {
	for _, proto := range []struct {
		name  string
		http2 bool
	}{{"http1.1", false}, {"http2", true}} {
		b.Run(proto.name, func(b *testing.B) {
			srv, _ := h2Server(b, nil, benchPeer)
			o := conn.DialOptions{HTTP2: proto.http2, TLSConfig: trustingConfig(b, srv.Certificate())}
			c, resp, err := conn.Dial(testCtx(b), wsURL(srv), &o)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			if want := map[bool]int{false: 1, true: 2}[proto.http2]; resp.ProtoMajor != want {
				b.Fatalf("HTTP/%d, want %d", resp.ProtoMajor, want)
			}
			for _, n := range benchSizes {
				msg := make([]byte, n)
				b.Run("roundtrip/"+sizeName(n), func(b *testing.B) {
					msg[0] = 'e'
					b.SetBytes(int64(2 * n))
					ctx := context.Background()
					for b.Loop() {
						if err := c.WriteMessage(ctx, conn.MessageBinary, msg); err != nil {
							b.Fatal(err)
						}
						if _, _, err := c.ReadMessage(ctx); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("stream/"+sizeName(n), func(b *testing.B) {
					b.SetBytes(int64(n))
					ctx := context.Background()
					msg[0] = 'd'
					for b.Loop() {
						if err := c.WriteMessage(ctx, conn.MessageBinary, msg); err != nil {
							b.Fatal(err)
						}
					}
					// One acknowledged message: all the others were read.
					msg[0] = 'e'
					if err := c.WriteMessage(ctx, conn.MessageBinary, msg[:1]); err != nil {
						b.Fatal(err)
					}
					if _, _, err := c.ReadMessage(ctx); err != nil {
						b.Fatal(err)
					}
				})
			}
			_ = c.Close(frame.CloseNormal, "")
		})
	}
}

// benchPeer echoes messages starting with 'e' and discards the others.
func benchPeer(c *conn.Conn) {
	ctx := context.Background()
	for {
		typ, b, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if len(b) > 0 && b[0] == 'e' {
			if c.WriteMessage(ctx, typ, b) != nil {
				return
			}
		}
	}
}
