package conn

import (
	"errors"
	"fmt"
	"net"
	"os"

	"duplex/frame"
	"duplex/handshake"
)

// CloseError reports the close frame the peer sent (RFC 6455, Section 7.1.5
// and 7.1.6), or, with Code [frame.CloseAbnormal], a connection that ended
// without one. Every read after the peer's close frame returns it; match it
// with [errors.As] or read its code with [CloseStatus].
//
// A close frame without a body is reported as Code [frame.CloseNoStatus]
// (RFC 6455, Section 7.1.5).
type CloseError struct {
	Code   frame.CloseCode
	Reason string
}

// Error returns "conn: closed with " and the code, followed by the reason
// when there is one.
func (e CloseError) Error() string {
	s := "conn: closed with " + e.Code.String()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// CloseStatus returns the code of the first [CloseError] in err's chain, or
// 0 when there is none (0 is never a valid close code, so it means "no
// close status"). A protocol violation this side detected is not a
// CloseError: read its code with errors.As into a [frame.ProtocolError].
func CloseStatus(err error) frame.CloseCode {
	var ce CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// ErrClosed is returned by calls on a connection this side closed with
// [Conn.Close] or [Conn.CloseNow], and by writes after the closing handshake
// started. It wraps [net.ErrClosed].
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "conn: use of closed connection" }
func (closedError) Unwrap() error { return net.ErrClosed }

// ErrConcurrentRead is returned when a goroutine starts a read while
// another one is reading: a connection has one reader by design.
var ErrConcurrentRead = errors.New("conn: concurrent read: another goroutine is reading")

// ErrControlTooLong is returned by [Conn.Ping] and [Conn.Pong] for a
// payload longer than 125 bytes (RFC 6455, Section 5.5).
var ErrControlTooLong = errors.New("conn: control payload longer than 125 bytes")

// Protocol violations found above the frame level, where the order of
// frames matters. They are [frame.ProtocolError] values, so the code the
// connection was failed with comes out of errors.As like any other.
var (
	// ErrReadLimit reports a message longer than [Options.ReadLimit]; the
	// connection is failed with code 1009 as soon as a frame header shows it.
	ErrReadLimit error = frame.ProtocolError{Code: frame.CloseTooBig, Reason: "message longer than the read limit"}

	// ErrUnexpectedContinuation reports a continuation frame with no
	// fragmented message to continue (RFC 6455, Section 5.4).
	ErrUnexpectedContinuation error = frame.ProtocolError{Code: frame.CloseProtocolError, Reason: "continuation frame outside a fragmented message"}

	// ErrExpectedContinuation reports a text or binary frame inside a
	// fragmented message (RFC 6455, Section 5.4).
	ErrExpectedContinuation error = frame.ProtocolError{Code: frame.CloseProtocolError, Reason: "data frame inside a fragmented message"}
)

var (
	errWriterClosed = errors.New("conn: message writer used after Close")
	errMessageType  = errors.New("conn: message type must be text or binary")
	errExtensions   = errors.New("conn: extensions are not supported")
	errCloseTimeout = closeTimeoutError{}
	errNotOpen      = errors.New("conn: connection is not open")
	// errOwnExtensions refuses extension hooks in the handshake options:
	// the connection can apply only what Options.Compression negotiates.
	errOwnExtensions = fmt.Errorf("%w: extensions are negotiated from Options.Compression; leave NegotiateExtensions and Extensions nil", handshake.ErrInvalidOptions)
)

// closeTimeoutError is returned by Close when the peer did not finish the
// closing handshake in time; it matches os.ErrDeadlineExceeded.
type closeTimeoutError struct{}

func (closeTimeoutError) Error() string { return "conn: closing handshake timed out" }
func (closeTimeoutError) Timeout() bool { return true }
func (closeTimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }
