package conn_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"duplex/conn"
)

// cannedRequest is the opening handshake of a browser, with the fields
// Chromium sends.
const cannedRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: localhost:8080\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: http://localhost:8080\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: session=0123456789abcdef\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// replayConn is a net.Conn that reads a canned request once and discards
// what is written to it, for benchmarks of the opening handshake alone.
type replayConn struct {
	in []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}
func (c *replayConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkAccept is the server's opening handshake on a raw connection,
// with the Conn it opens.
func BenchmarkAccept(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	nc := &replayConn{}
	req := []byte(cannedRequest)
	for b.Loop() {
		nc.in = req
		c, err := conn.Accept(ctx, nc, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.CloseNow()
	}
}
