package conn

import (
	"errors"
	"time"

	"duplex/frame"
)

// drainLimit bounds what the closing side discards while it waits for the
// peer's close frame: 32 times the read limit, within 1 MiB and 64 MiB, so
// a peer in the middle of a message over the limit can finish sending it
// and read the close frame, and a peer that never stops cannot keep the
// connection busy for more than that (nor longer than CloseTimeout).
func (c *Conn) drainLimit() int64 {
	lim := c.opts.ReadLimit
	if lim < 0 || lim > 2<<20 {
		return 64 << 20
	}
	return max(32*lim, 1<<20)
}

// drainPause is how long a frame may pause while it is discarded after
// this side's close frame. A peer writes a frame whole, so its bytes come
// without gaps much longer than a retransmission (200 ms at least); one
// that pauses longer has stopped, perhaps to wait for this side, and the
// end of its frame may never come.
const drainPause = 500 * time.Millisecond

// drainUntilClose runs once this side's close frame went. It reads on,
// discarding data frames, until the peer's close frame (which it records as
// receiveClose would, without answering: this side's close already went)
// or the end of the stream, within drainLimit bytes; the close timer bounds
// the time, closing the TCP connection when it fires, which ends any read.
// It then ends the TCP connection as finishClose does. It runs under the
// read lock, or with the stream lent by a hook (callHook).
//
// The peer may stop in the middle of a frame to wait for this side (it got
// the close frame): everything it sent has been read by then, so TCP ends
// without a reset. Where the stream cannot be followed frame by frame (a
// header that does not parse or check), a server shuts its sending side
// down, so that the peer reads the close frame and the end of stream and
// ends its side, and discards until then.
func (c *Conn) drainUntilClose() {
	// No deadline but the close timer's and drainPause from now on:
	// keepalive is over.
	_ = c.nc.SetReadDeadline(time.Time{})
	d := drainer{c: c, budget: c.drainLimit()}
	ok := c.r.remain >= 0 && d.skip(c.r.remain)
	for ok && !c.r.closeSeen {
		var h frame.Header
		if h, ok = d.header(); !ok {
			break
		}
		if h.Opcode == frame.OpClose {
			ok = d.close(h)
			break
		}
		ok = d.skip(h.Length)
	}
	if !ok && !d.stalled && c.role == frame.RoleServer {
		c.closeWrite()
		_ = c.nc.SetReadDeadline(time.Time{})
		_, _ = c.discard(d.budget)
	}
	c.finishClose()
}

// drainer reads what the peer sends after this side's close frame.
type drainer struct {
	c       *Conn
	budget  int64 // bytes left to discard
	stalled bool  // a frame paused for longer than drainPause
}

// read runs one read of a frame under way, which may pause for drainPause
// at most.
func (d *drainer) read(f func() error) bool {
	_ = d.c.nc.SetReadDeadline(time.Now().Add(drainPause))
	err := f()
	_ = d.c.nc.SetReadDeadline(time.Time{})
	if err != nil {
		d.stalled = isTimeout(err)
		return false
	}
	return true
}

// skip discards the next n bytes, the rest of a frame.
func (d *drainer) skip(n int64) bool {
	for n > 0 {
		k := min(n, 64<<10)
		if k > d.budget {
			return false
		}
		ok := d.read(func() error {
			m, err := d.c.discard(k)
			d.budget -= m
			n -= m
			return err
		})
		if !ok {
			return false
		}
	}
	return true
}

// header waits for the next frame, as long as the close timer lets it,
// and reads its header, which must be one the peer may send.
func (d *drainer) header() (frame.Header, bool) {
	c := d.c
	if err := c.fill(1); err != nil {
		return frame.Header{}, false
	}
	var h frame.Header
	ok := d.read(func() error {
		var err error
		if h, err = c.readHeader(); err != nil {
			return err
		}
		return h.Check(c.role, c.rsv)
	})
	return h, ok
}

// close reads the peer's close frame, whose header is h, and records it.
func (d *drainer) close(h frame.Header) bool {
	c := d.c
	var body [frame.MaxControlPayload]byte
	p := body[:h.Length] // h.Check bounds it
	if !d.read(func() error { return c.readFull(p) }) {
		return false
	}
	if h.Masked {
		frame.Mask(h.MaskKey, 0, p)
	}
	if code, reason, err := frame.ParseClosePayload(p); err == nil {
		c.setErr(CloseError{Code: code, Reason: reason})
	}
	c.r.closeSeen = true
	c.peerClosed.Store(true)
	return true
}

// closeWrite shuts down the sending side of the connection, where the
// connection can (TCP, TLS, Unix sockets).
func (c *Conn) closeWrite() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
