package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"duplex/frame"
)

// tapConn shows the bytes of a plaintext connection as they cross it: the
// HTTP heads line by line, then one line per WebSocket frame. It sits under
// the connection, so it shows what really went over the wire, masks and
// fragments included. Under TLS it would see only ciphertext, so it is used
// for ws:// only.
type tapConn struct {
	net.Conn
	in, out *wireDecoder
	onClose func() // if set, called on Close
}

func (c *tapConn) Close() error {
	if c.onClose != nil {
		c.onClose()
	}
	return c.Conn.Close()
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.feed(b[:n])
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.feed(b[:n])
	return n, err
}

// tapDialer returns a NetDial function whose connections are tapped.
func tapDialer(p *printer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &tapConn{Conn: nc, in: newWireDecoder(p, "<"), out: newWireDecoder(p, ">")}, nil
	}
}

// wireDecoder decodes one direction of a connection incrementally, however
// the bytes are split across calls.
type wireDecoder struct {
	mu     sync.Mutex // a direction has one reader or one writer at a time; this keeps the race detector sure of it
	p      *printer
	dir    string
	inHead bool   // still in HTTP heads
	buf    []byte // an unfinished head or frame header, or a control payload
	hdr    frame.Header
	left   int64 // payload bytes of the current frame still to come
	broken bool  // the stream stopped making sense: stop decoding
}

func newWireDecoder(p *printer, dir string) *wireDecoder {
	return &wireDecoder{p: p, dir: dir, inHead: true}
}

func (d *wireDecoder) feed(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(b) > 0 && !d.broken {
		switch {
		case d.inHead:
			b = d.head(b)
		case d.left > 0:
			b = d.payload(b)
		default:
			b = d.header(b)
		}
	}
}

// head collects an HTTP head and prints it. A CONNECT request, or a response
// other than 101, is followed by another head (a proxy tunnel, then the
// WebSocket handshake); anything else is followed by frames.
func (d *wireDecoder) head(b []byte) []byte {
	d.buf = append(d.buf, b...)
	end := bytes.Index(d.buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(d.buf) > 64<<10 {
			d.p.event("%s (not an HTTP head; decoding stops)", d.dir)
			d.broken = true
		}
		return nil
	}
	head := string(d.buf[:end])
	rest := bytes.Clone(d.buf[end+4:])
	d.buf = d.buf[:0]
	for line := range strings.SplitSeq(head, "\r\n") {
		d.p.event("%s %s", d.dir, line)
	}
	first, _, _ := strings.Cut(head, "\r\n")
	switch {
	case strings.HasPrefix(first, "CONNECT "):
	case strings.HasPrefix(first, "HTTP/") && !strings.Contains(first, " 101"):
	default:
		d.inHead = false
	}
	return rest
}

// header parses the next frame header and prints it; a control frame's
// payload is collected to be shown with it.
func (d *wireDecoder) header(b []byte) []byte {
	d.buf = append(d.buf, b...)
	h, n, err := frame.ParseHeader(d.buf)
	if errors.Is(err, frame.ErrShortHeader) {
		return nil
	}
	if err != nil {
		d.p.event("%s bad frame header: %v", d.dir, err)
		d.broken = true
		return nil
	}
	rest := bytes.Clone(d.buf[n:])
	d.buf = d.buf[:0]
	d.hdr, d.left = h, h.Length
	if !h.Opcode.IsControl() || h.Length == 0 || h.Length > frame.MaxControlPayload {
		d.p.event("%s frame %v", d.dir, h)
	}
	return rest
}

// payload skips a data payload, or collects a control payload (at most 125
// bytes, RFC 6455, Section 5.5) and prints the frame with it.
func (d *wireDecoder) payload(b []byte) []byte {
	n := int64(len(b))
	if n > d.left {
		n = d.left
	}
	if d.hdr.Opcode.IsControl() && d.hdr.Length <= frame.MaxControlPayload {
		d.buf = append(d.buf, b[:n]...)
	}
	d.left -= n
	if d.left == 0 && d.hdr.Opcode.IsControl() && d.hdr.Length > 0 {
		d.control()
	}
	return b[n:]
}

func (d *wireDecoder) control() {
	body := d.buf
	d.buf = d.buf[:0]
	if d.hdr.Masked {
		frame.Mask(d.hdr.MaskKey, 0, body)
	}
	if d.hdr.Opcode == frame.OpClose {
		code, reason, err := frame.ParseClosePayload(body)
		if err != nil {
			d.p.event("%s frame %v: bad close payload: %v", d.dir, d.hdr, err)
			return
		}
		d.p.event("%s frame %v: %d %q", d.dir, d.hdr, code, reason)
		return
	}
	d.p.event("%s frame %v: %q", d.dir, d.hdr, body)
}
