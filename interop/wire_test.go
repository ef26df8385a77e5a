package interop_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"

	"duplex/frame"
)

// wireMessage is one data message as it crossed the wire.
type wireMessage struct {
	// rsv1: RSV1 on the first frame, which marks a compressed message
	// (RFC 7692, Section 6).
	rsv1   bool
	frames int
	bytes  int64 // payload bytes on the wire, headers left out
	// contRSV1: RSV1 on a continuation frame. RFC 7692, Section 6.1: "the
	// sender MUST NOT set the RSV1 bit" on any frame but the first.
	contRSV1 bool
}

// wireDir decodes one direction of a plaintext connection: an HTTP head,
// then frame headers, skipping payloads. It keeps the last complete data
// message; control frames between fragments are passed over.
type wireDir struct {
	mu     sync.Mutex
	inHead bool
	buf    []byte // an unfinished head or frame header
	left   int64  // payload bytes of the current frame still to come
	cur    wireMessage
	last   wireMessage
	count  int   // complete data messages
	err    error // the stream stopped making sense
}

func (d *wireDir) feed(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(b) > 0 && d.err == nil {
		switch {
		case d.inHead:
			d.buf = append(d.buf, b...)
			end := bytes.Index(d.buf, []byte("\r\n\r\n"))
			if end < 0 {
				return
			}
			b = bytes.Clone(d.buf[end+4:])
			d.buf, d.inHead = d.buf[:0], false
		case d.left > 0:
			n := min(int64(len(b)), d.left)
			d.left -= n
			b = b[n:]
		default:
			b = d.header(b)
		}
	}
}

func (d *wireDir) header(b []byte) []byte {
	d.buf = append(d.buf, b...)
	h, n, err := frame.ParseHeader(d.buf)
	if errors.Is(err, frame.ErrShortHeader) {
		return nil
	}
	if err != nil {
		d.err = err
		return nil
	}
	rest := bytes.Clone(d.buf[n:])
	d.buf = d.buf[:0]
	d.left = h.Length
	switch {
	case h.Opcode == frame.OpContinuation:
		d.cur.frames++
		d.cur.bytes += h.Length
		d.cur.contRSV1 = d.cur.contRSV1 || h.RSV1
	case h.Opcode.IsData():
		d.cur = wireMessage{rsv1: h.RSV1, frames: 1, bytes: h.Length}
	default:
		return rest
	}
	if h.Fin {
		d.last = d.cur
		d.count++
	}
	return rest
}

// lastMessage returns the last complete data message and how many there
// were.
func (d *wireDir) lastMessage() (wireMessage, int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.count, d.err
}

// wireTap watches a plaintext connection from the duplex end: out is what
// duplex sent, in what it received. A message is recorded before the
// connection above can have it, so once duplex returned a message, or
// finished writing one, the tap knows it.
type wireTap struct{ in, out wireDir }

func newWireTap() *wireTap {
	return &wireTap{in: wireDir{inHead: true}, out: wireDir{inHead: true}}
}

type tapConn struct {
	net.Conn
	tap     *wireTap
	onClose func()
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.tap.in.feed(b[:n])
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.tap.out.feed(b[:n])
	return n, err
}

func (c *tapConn) Close() error {
	if c.onClose != nil {
		c.onClose()
	}
	return c.Conn.Close()
}

// tapDial is a DialOptions.NetDial whose connection reports to tap.
func tapDial(tap *wireTap) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &tapConn{Conn: nc, tap: tap}, nil
	}
}

// tapListener taps every accepted connection; the server finds a
// connection's tap by its remote address.
type tapListener struct {
	net.Listener
	mu   sync.Mutex
	taps map[string]*wireTap
}

func newTapListener(ln net.Listener) *tapListener {
	return &tapListener{Listener: ln, taps: make(map[string]*wireTap)}
}

func (l *tapListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	addr := nc.RemoteAddr().String()
	tap := newWireTap()
	l.mu.Lock()
	l.taps[addr] = tap
	l.mu.Unlock()
	return &tapConn{Conn: nc, tap: tap, onClose: func() {
		l.mu.Lock()
		delete(l.taps, addr)
		l.mu.Unlock()
	}}, nil
}

// tap returns the tap of the connection from remoteAddr.
func (l *tapListener) tap(remoteAddr string) *wireTap {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taps[remoteAddr]
}
