package conn

import (
	"context"
	"fmt"
	"time"

	"duplex/frame"
)

// Close runs the closing handshake of RFC 6455, Section 7: it sends a
// close frame with code and reason, waits for the peer's close frame, then
// ends the TCP connection (a server at once, a client after the server
// did). The whole handshake is bounded by [Options.CloseTimeout], after
// which the TCP connection is closed anyway.
//
// The code must be valid on the wire (see [frame.CloseCode.ValidOnWire]),
// or [frame.CloseNoStatus] with an empty reason for a close frame without
// a body; the reason is at most 123 bytes of UTF-8. An invalid code or
// reason is reported and nothing is sent.
//
// If a goroutine is reading, it receives the peer's close frame and Close
// waits for it; otherwise Close reads itself, discarding data messages.
// Close returns nil when the peer answered, an error matching
// os.ErrDeadlineExceeded when it did not answer in time, and an error
// matching [ErrClosed] when the connection was already closing or closed.
// It is safe to call from any goroutine, concurrently with reads and
// writes, which then return errors.
func (c *Conn) Close(code frame.CloseCode, reason string) error {
	var body [frame.MaxControlPayload]byte
	p, err := frame.AppendClosePayload(body[:0], code, reason)
	if err != nil {
		return fmt.Errorf("conn: close: %w", err)
	}
	// Whoever moves the connection to Closing sends the one close frame
	// it ever sends; RFC 6455, Section 5.5.1: after it, "the endpoint
	// MUST NOT send any more data frames."
	if !c.transition(StateOpen, StateClosing) {
		if c.State() == StateConnecting {
			return errNotOpen
		}
		return ErrClosed
	}
	c.startCloseTimer()
	if err := c.writeControl(context.Background(), frame.OpClose, p); err != nil {
		c.setErr(ErrClosed)
		c.closeTCP()
		return err
	}
	if c.ev != nil {
		return nil // a Loop reads the answer; OnClose reports the end
	}
	return c.awaitClose()
}

// awaitClose waits for the peer's close frame after Close sent one. A
// goroutine reading receives it; if none is, Close reads for it itself.
func (c *Conn) awaitClose() error {
	if c.takeOverFromHook() {
		c.closeReading.Store(true)
		c.drainUntilClose()
	} else {
		// A reader ends the connection when the peer's close frame comes;
		// if nobody is reading, the read lock comes first.
		if c.r.lock.tryAcquire() || c.r.lock.acquire(nil, c.done()) {
			c.closeReading.Store(true)
			c.drainUntilClose()
			c.unlockRead()
		}
	}
	<-c.done() // the reader ends the connection, bounded by the timer
	c.setErr(ErrClosed)
	if c.peerClosed.Load() {
		return nil
	}
	if c.closeExpired.Load() {
		return errCloseTimeout
	}
	return c.loadErr()
}

// CloseNow closes the TCP connection without a closing handshake, for a
// peer that cannot be trusted to take part in one. Blocked reads and
// writes return. It returns [ErrClosed] if the connection was already
// closed, and is safe to call from any goroutine.
func (c *Conn) CloseNow() error {
	if c.tcpClosed.Load() {
		return ErrClosed
	}
	c.setErr(ErrClosed)
	if !c.closeTCP() {
		return ErrClosed
	}
	return nil
}

// failWith fails the connection (RFC 6455, Section 7.1.7): "If _The
// WebSocket Connection is Established_ prior to the point where the
// endpoint is required to _Fail the WebSocket Connection_, the endpoint
// SHOULD send a Close frame with an appropriate status code before
// proceeding to _Close the WebSocket Connection_." err is what every call
// reports from now on.
//
// With drain, which the read path asks for, the peer's close frame is
// then awaited as after Close (see drainUntilClose): the peer is often
// still sending the message that failed, and a TCP connection closed with
// unread input is reset, which destroys the close frame before the peer
// reads it (a browser then reports 1006, not the code sent). Without, for a
// peer that is gone, the TCP connection is closed at once.
func (c *Conn) failWith(code frame.CloseCode, reason string, err error, drain bool) error {
	c.setErr(err)
	if c.transition(StateOpen, StateClosing) {
		c.startCloseTimer()
		var body [frame.MaxControlPayload]byte
		p, perr := frame.AppendClosePayload(body[:0], code, reason)
		if perr != nil {
			p, _ = frame.AppendClosePayload(body[:0], code, "")
		}
		if werr := c.writeControl(context.Background(), frame.OpClose, p); werr != nil {
			drain = false // the peer will not answer what it did not get
		}
	}
	switch {
	case drain && c.ev != nil:
		c.startDrain() // the Loop reads on for the answer
		c.ev.beginDrain()
		return c.loadErr()
	case drain:
		c.drainUntilClose()
	}
	c.closeTCP()
	return c.loadErr()
}

// closeTCP closes the net.Conn and moves the connection to Closed. It
// reports whether this call did it.
func (c *Conn) closeTCP() bool {
	if !c.tcpClosed.CompareAndSwap(false, true) {
		return false
	}
	c.stateMu.Lock()
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	c.stateMu.Unlock()
	_ = c.nc.Close()
	c.toClosed()
	if c.ev != nil {
		c.ev.closedElsewhere()
	}
	return true
}

// startCloseTimer bounds the closing handshake by CloseTimeout: when the
// timer fires, the TCP connection is closed whatever the peer does, which
// unblocks every read and write.
func (c *Conn) startCloseTimer() {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if c.closeTimer != nil || c.tcpClosed.Load() {
		return
	}
	c.closeTimer = time.AfterFunc(c.cfg.closeTimeout, c.expireClose)
}

func (c *Conn) expireClose() {
	c.closeExpired.Store(true)
	c.setErr(ErrClosed)
	c.closeTCP()
}
