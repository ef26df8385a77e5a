package conn

import (
	"context"
	"errors"
	"fmt"

	"duplex/frame"
)

// handleControl reads the payload of the control frame h and does what the
// protocol requires with it. It runs on the read path, which is why the
// connection must keep being read.
func (c *Conn) handleControl(h frame.Header) error {
	// Borrowed, not kept on the connection: a control frame is rare next to
	// the connections that sit idle. frame.Check bounds it to 125 bytes.
	bp := getBuf(frame.MaxControlPayload)
	defer putBuf(bp)
	p := (*bp)[:h.Length]
	if err := c.readFull(p); err != nil {
		c.r.remain = -1
		return err
	}
	c.r.remain = 0
	if h.Masked {
		frame.Mask(h.MaskKey, 0, p)
	}
	switch h.Opcode {
	case frame.OpPing:
		// RFC 6455, Section 5.5.2: "Upon receipt of a Ping frame, an
		// endpoint MUST send a Pong frame in response, unless it already
		// received a Close frame." Section 5.5.3: the Pong "MUST have
		// identical 'Application data' as found in the message body of the
		// Ping frame being replied to." The pong goes before the hook
		// sees the payload, so the hook cannot change the answer.
		if err := c.writeControl(c.r.ctx, frame.OpPong, p); err != nil && c.State() == StateOpen {
			return err
		}
		return c.callHook(c.cfg.onPing, p)
	case frame.OpPong:
		// RFC 6455, Section 5.5.3: an unsolicited pong is allowed and
		// needs no answer.
		return c.callHook(c.cfg.onPong, p)
	case frame.OpClose:
		return c.receiveClose(p)
	}
	return nil
}

// callHook calls a ping or pong hook on the reading goroutine. While the
// hook runs the stream is idle, between two frames; a Close meanwhile, from
// the hook itself or from another goroutine, cannot wait for the reader (it
// may be the goroutine that called it), so it takes the stream over and
// reads the peer's close frame itself (takeOverFromHook). Once the hook
// returns, the reader learns whether that happened and, if so, leaves the
// stream alone and reports how the connection ended.
func (c *Conn) callHook(hook func([]byte), p []byte) error {
	if hook == nil {
		return nil
	}
	c.r.hookMu.Lock()
	c.r.hook = true
	c.r.hookMu.Unlock()
	hook(p)
	c.r.hookMu.Lock()
	c.r.hook = false
	lent := c.r.lent
	c.r.hookMu.Unlock()
	if !lent {
		return nil
	}
	<-c.done() // the Close that took the stream ends the connection
	if err := c.loadErr(); err != nil {
		return err
	}
	return ErrClosed
}

// takeOverFromHook reports whether the reader is in a hook and, if so,
// lends the stream to the caller, a Close.
func (c *Conn) takeOverFromHook() bool {
	c.r.hookMu.Lock()
	defer c.r.hookMu.Unlock()
	if !c.r.hook || c.r.lent {
		return false
	}
	c.r.lent = true
	return true
}

// Ping sends a ping with the given payload (at most 125 bytes, copied
// before Ping returns). It does not wait for the pong: set
// [Options.OnPong] to observe it, and keep reading, since pongs arrive on
// the read path. Ping may be called from any goroutine, also between the
// fragments of a message another goroutine is writing.
func (c *Conn) Ping(ctx context.Context, payload []byte) error {
	return c.writeControl(ctx, frame.OpPing, payload)
}

// Pong sends an unsolicited pong with the given payload (at most 125
// bytes), which RFC 6455, Section 5.5.3 allows as a one-way heartbeat.
// Pings received are answered automatically; Pong is never needed for
// that. It may be called from any goroutine.
func (c *Conn) Pong(ctx context.Context, payload []byte) error {
	return c.writeControl(ctx, frame.OpPong, payload)
}

// writeControl sends one control frame. It takes only the frame lock, so
// it may go between the fragments of a message (RFC 6455, Section 5.4:
// "Control frames MAY be injected in the middle of a fragmented
// message."). Pings and pongs are sent only while the connection is open;
// a close frame is sent by whoever moved the connection to Closing.
func (c *Conn) writeControl(ctx context.Context, op frame.Opcode, payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return ErrControlTooLong
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("conn: write: %w", err)
	}
	if err := c.acquire(ctx, &c.w.frameLock); err != nil {
		return err
	}
	defer c.w.frameLock.release()
	if op != frame.OpClose && c.State() != StateOpen {
		return c.writeErr()
	}
	h := frame.Header{Fin: true, Opcode: op, Length: int64(len(payload))}
	return c.emit(ctx, h, payload, true)
}

// receiveClose handles the peer's close frame: it answers it if this side
// has not sent one yet, then ends the connection and returns the
// [CloseError] every later read reports.
func (c *Conn) receiveClose(p []byte) error {
	if c.r.closeSeen {
		return c.loadErr()
	}
	// A close frame, even a malformed one, is the peer's last: nothing
	// follows it to wait for.
	c.r.closeSeen = true
	code, reason, err := frame.ParseClosePayload(p)
	if err != nil {
		return err
	}
	ce := CloseError{Code: code, Reason: reason}
	c.setErr(ce)
	if c.transition(StateOpen, StateClosing) {
		c.startCloseTimer()
		// RFC 6455, Section 5.5.1: "If an endpoint receives a Close frame
		// and did not previously send a Close frame, the endpoint MUST
		// send a Close frame in response. (When sending a Close frame in
		// response, the endpoint typically echos the status code it
		// received.)" A close without a code is answered without one.
		var body [2]byte
		echo, _ := frame.AppendClosePayload(body[:0], code, "")
		_ = c.writeControl(context.Background(), frame.OpClose, echo) // the teardown follows either way
	}
	c.peerClosed.Store(true)
	c.finishClose()
	return ce
}

// finishClose ends the TCP connection once both close frames went.
// RFC 6455, Section 7.1.1: "The underlying TCP connection, in most normal
// cases, SHOULD be closed first by the server, so that it holds the
// TIME_WAIT state and not the client". A client waits, within the close
// timeout, for the server to close.
func (c *Conn) finishClose() {
	if c.role == frame.RoleClient {
		_, _ = c.discard(c.drainLimit())
	}
	c.closeTCP()
}

func isCloseError(err error) bool {
	var ce CloseError
	return errors.As(err, &ce)
}

func asProtocolError(err error) (frame.ProtocolError, bool) {
	var pe frame.ProtocolError
	ok := errors.As(err, &pe)
	return pe, ok
}

// abnormal wraps the error that ended a connection without a close frame,
// so that CloseStatus reports 1006 as the browser does (RFC 6455, Section
// 7.1.5: "If _The WebSocket Connection is Closed_ and no Close control
// frame was received by the endpoint ... _The WebSocket Connection Close
// Code_ is considered to be 1006.").
func abnormal(err error) error {
	return fmt.Errorf("%w: %w", CloseError{Code: frame.CloseAbnormal}, err)
}
