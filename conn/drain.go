package conn

import (
	"time"

	"duplex/frame"
)

// drainLimit bounds what the closing side discards while it waits for the
// peer's close frame: 32 times the read limit, within 1 MiB and 64 MiB, so
// a peer in the middle of a message over the limit can finish sending it
// and read the close frame, and a peer that never stops cannot keep the
// connection busy for more than that (nor longer than CloseTimeout).
func (c *Conn) drainLimit() int64 {
	lim := c.cfg.readLimit
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
	c.startDrain()
	for {
		var err error
		switch c.drainBuffered() {
		case drainDone:
			c.finishClose()
			return
		case drainLost:
			c.drainRaw()
			return
		case drainBetween:
			// No deadline but the close timer's: keepalive is over.
			_ = c.nc.SetReadDeadline(time.Time{})
			err = c.fill(1)
		case drainWithin:
			_ = c.nc.SetReadDeadline(time.Now().Add(drainPause))
			err = c.fill(c.in.buffered() + 1)
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		if err != nil {
			// The end of the stream, the close timer, or a peer that
			// stopped within a frame: everything it sent was read.
			c.finishClose()
			return
		}
	}
}

// startDrain begins reading for the peer's close frame.
func (c *Conn) startDrain() {
	c.r.drainBudget = c.drainLimit()
}

// drainRaw ends a drain that lost the frames: a server shuts its sending
// side down after its close frame, so that the peer reads both and ends
// its side, and discards everything until then.
func (c *Conn) drainRaw() {
	if c.role == frame.RoleServer {
		c.closeWrite()
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	_, _ = c.discard(c.r.drainBudget)
	c.finishClose()
}

// drainState is how far drainBuffered got.
type drainState uint8

const (
	drainDone    drainState = iota // the peer's close frame came
	drainBetween                   // waiting for the peer's next frame
	drainWithin                    // waiting for the rest of a frame
	drainLost                      // frames cannot be followed, or the budget is spent
)

// drainBuffered discards what is buffered of the frames the peer sends
// after this side's close frame, and reports how far it got. c.r.remain is
// the rest of the frame being skipped, negative when where the next frame
// starts is unknown. It never reads from the network, so a blocking reader
// and a readiness-driven one share it.
func (c *Conn) drainBuffered() drainState {
	for {
		if c.r.closeSeen {
			return drainDone
		}
		if c.r.remain < 0 {
			return drainLost
		}
		if c.r.remain > 0 {
			k := min(c.r.remain, int64(c.in.buffered()))
			if k > c.r.drainBudget {
				return drainLost
			}
			if k == 0 {
				return drainWithin
			}
			c.in.consume(int(k))
			c.r.remain -= k
			c.r.drainBudget -= k
			continue
		}
		b := c.in.bytes()
		if len(b) == 0 {
			return drainBetween
		}
		size := frame.HeaderSize(b)
		if len(b) < size {
			return drainWithin
		}
		h, _, err := frame.ParseHeader(b)
		if err != nil || h.Check(c.role, c.rsv) != nil {
			return drainLost
		}
		if h.Opcode != frame.OpClose {
			c.in.consume(size)
			c.r.remain = h.Length
			continue
		}
		if len(b) < size+int(h.Length) { // h.Check bounds it to 125
			return drainWithin
		}
		c.recordPeerClose(h, b[size:size+int(h.Length)])
		c.in.consume(size + int(h.Length))
	}
}

// recordPeerClose notes the peer's close frame, whose header is h and
// whose payload (masked as it came) is p, when this side's went first.
func (c *Conn) recordPeerClose(h frame.Header, p []byte) {
	var body [frame.MaxControlPayload]byte
	q := body[:copy(body[:], p)]
	if h.Masked {
		frame.Mask(h.MaskKey, 0, q)
	}
	if code, reason, err := frame.ParseClosePayload(q); err == nil {
		c.setErr(CloseError{Code: code, Reason: reason})
	}
	c.r.closeSeen = true
	c.peerClosed.Store(true)
}

// closeWrite shuts down the sending side of the connection, where the
// connection can (TCP, TLS, Unix sockets).
func (c *Conn) closeWrite() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
