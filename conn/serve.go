package conn

import (
	"context"
	"errors"

	"duplex/frame"
)

// Handler holds the callbacks Serve calls, named after the browser's
// WebSocket events. Nil fields are skipped, so a server sets only what it
// uses:
//
//	conn.Serve(ctx, c, conn.Handler{
//		OnMessage: func(t conn.MessageType, b []byte) { c.WriteMessage(ctx, t, b) },
//	})
type Handler struct {
	// OnOpen is called first, once, before any message.
	OnOpen func()

	// OnMessage is called for each complete message, in the order received.
	// b is owned by the callback and stays valid after it returns, unless
	// BorrowMessages is set.
	OnMessage func(t MessageType, b []byte)

	// BorrowMessages makes the b passed to OnMessage valid only during the
	// call: each message is read into a buffer borrowed from the pools the
	// connections share, given back when OnMessage returns, so that
	// receiving allocates nothing. A callback that keeps the bytes copies
	// them; writing b back (WriteMessage, a PreparedMessage) copies already.
	BorrowMessages bool

	// OnError is called at most once, only when the connection ends without a
	// clean closing handshake (a protocol violation, a read limit, an I/O error
	// or a close that timed out), just before OnClose.
	OnError func(err error)

	// OnClose is called exactly once, last.
	OnClose func(e CloseEvent)
}

// CloseEvent describes how a connection ended, like the browser's CloseEvent.
type CloseEvent struct {
	// Code is the status code of the close frame received from the peer
	// (frame.CloseNoStatus when it had none). When the connection failed, it
	// is the code it was failed with (such as frame.CloseProtocolError), or
	// frame.CloseAbnormal when no close frame was exchanged.
	Code frame.CloseCode
	// Reason is the reason text that came with Code.
	Reason string
	// WasClean reports whether the closing handshake completed
	// (RFC 6455, Section 7.1.4).
	WasClean bool
}

// Serve reads c until it closes and reports what happens through h, in the
// order a browser fires its events: OnOpen first, then OnMessage for each
// message, then OnError at most once (only if the connection failed), then
// OnClose exactly once. The callbacks run one at a time on the goroutine that
// called Serve; they may write to c and may call c.Close, but must not read
// from c: Serve is its reader.
//
// When ctx is cancelled Serve closes c with frame.CloseGoingAway and keeps
// reading until the peer's reply (or the close timeout) ends the connection.
// Serve returns once c is closed: nil after a clean closing handshake, whoever
// started it, otherwise the error passed to OnError.
func Serve(ctx context.Context, c *Conn, h Handler) error {
	// Reads do not take ctx: a context ending mid-frame would fail the
	// connection, while going away deserves a closing handshake.
	closing := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closing)
		_ = c.Close(frame.CloseGoingAway, "")
	})
	defer func() {
		if !stop() {
			<-closing
		}
	}()

	if h.OnOpen != nil {
		h.OnOpen()
	}
	readCtx := context.WithoutCancel(ctx)
	for {
		var (
			t   MessageType
			b   []byte
			bp  *[]byte
			err error
		)
		if h.BorrowMessages {
			t, b, bp, err = c.readMessageBorrowed(readCtx)
		} else {
			t, b, err = c.ReadMessage(readCtx)
		}
		if err != nil {
			ev, failure := closeEvent(err)
			if failure != nil && h.OnError != nil {
				h.OnError(failure)
			}
			_ = c.CloseNow()
			if h.OnClose != nil {
				h.OnClose(ev)
			}
			return failure
		}
		if h.OnMessage != nil {
			h.OnMessage(t, b)
		}
		giveBack(bp, b)
	}
}

// closeEvent maps the error that ended the read loop to the event a browser
// would report, and to the failure (nil after a clean close).
func closeEvent(err error) (CloseEvent, error) {
	var ce CloseError
	if errors.As(err, &ce) && ce.Code != frame.CloseAbnormal {
		// The peer's close frame arrived and was answered (or answered
		// ours): the closing handshake is complete.
		return CloseEvent{Code: ce.Code, Reason: ce.Reason, WasClean: true}, nil
	}
	var pe frame.ProtocolError
	if errors.As(err, &pe) {
		return CloseEvent{Code: pe.Code, Reason: pe.Reason}, err
	}
	// No close frame was exchanged: the stream broke, the closing handshake
	// timed out, or the connection was closed under the reader.
	return CloseEvent{Code: frame.CloseAbnormal}, err
}
