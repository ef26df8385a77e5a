package handshake_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"duplex/handshake"
)

// browserRequest is a handshake as Chromium sends it, with a cookie and the
// permessage-deflate offer every browser makes.
var browserRequest = head("GET /chat HTTP/1.1",
	"Host: localhost:8080",
	"Connection: Upgrade",
	"Pragma: no-cache",
	"Cache-Control: no-cache",
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Upgrade: websocket",
	"Origin: http://localhost:8080",
	"Sec-WebSocket-Version: 13",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Accept-Language: en-US,en;q=0.9",
	"Cookie: session=3f9a1c0e7b2d4a6f8e5c1b0a9d7e6f5c; theme=dark",
	"Sec-WebSocket-Key: "+rfcKey,
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
)

// memConn is a net.Conn that reads canned bytes and discards what is written;
// deadlines are no-ops. reset makes it replay the bytes.
type memConn struct {
	in  []byte
	off int
}

func (c *memConn) reset() { c.off = 0 }

func (c *memConn) Read(b []byte) (int, error) {
	if c.off == len(c.in) {
		return 0, net.ErrClosed
	}
	n := copy(b, c.in[c.off:])
	c.off += n
	return n, nil
}

func (c *memConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// BenchmarkAccept is a whole server handshake on a raw connection: reading and
// checking the request, writing the 101.
func BenchmarkAccept(b *testing.B) {
	c := &memConn{in: []byte(browserRequest)}
	ctx := context.Background()
	opts := &handshake.ServerOptions{}
	b.ReportAllocs()
	for b.Loop() {
		c.reset()
		if _, err := handshake.Accept(ctx, c, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// hijackWriter is an http.ResponseWriter whose Hijack hands over a memConn,
// as net/http's does after it has read the request.
type hijackWriter struct {
	header http.Header
	conn   memConn
	brw    *bufio.ReadWriter
}

func (w *hijackWriter) Header() http.Header         { return w.header }
func (w *hijackWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.brw.Reader.Reset(&w.conn)
	return &w.conn, w.brw, nil
}

// BenchmarkUpgrade is the server handshake on a request net/http has read,
// from the check to the 101 on the hijacked connection; net/http's own work
// (reading the request, the hijack) is left out.
func BenchmarkUpgrade(b *testing.B) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(browserRequest)))
	if err != nil {
		b.Fatal(err)
	}
	w := &hijackWriter{header: http.Header{}, brw: bufio.NewReadWriter(bufio.NewReader(nil), bufio.NewWriter(nil))}
	opts := &handshake.ServerOptions{}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := handshake.Upgrade(w, r, opts); err != nil {
			b.Fatal(err)
		}
	}
}
