package frame

import (
	"errors"
	"fmt"
)

// ProtocolError is a protocol violation by the peer. Code is the status the
// connection must be failed with (RFC 6455, Section 7.4.1); Reason is a short
// text fit for the close frame (at most 123 bytes).
//
// ProtocolError is a comparable value type: the sentinels below match with
// [errors.Is], and [errors.As] into a ProtocolError recovers the code from
// any error this package returns, wrapped or not.
type ProtocolError struct {
	Code   CloseCode
	Reason string
}

// Error returns "frame: " followed by the reason.
func (e ProtocolError) Error() string { return "frame: " + e.Reason }

// Protocol violations. Errors returned by this package may wrap these with
// detail (the offending opcode, length or code); match them with [errors.Is].
var (
	ErrReservedOpcode     error = ProtocolError{CloseProtocolError, "reserved opcode"}
	ErrReservedBits       error = ProtocolError{CloseProtocolError, "reserved bits set without a negotiated extension"}
	ErrControlTooLong     error = ProtocolError{CloseProtocolError, "control frame payload longer than 125 bytes"}
	ErrControlFragmented  error = ProtocolError{CloseProtocolError, "fragmented control frame"}
	ErrLengthMSB          error = ProtocolError{CloseProtocolError, "64-bit payload length with the most significant bit set"}
	ErrNonMinimalLength   error = ProtocolError{CloseProtocolError, "payload length not in its minimal encoding"}
	ErrUnmasked           error = ProtocolError{CloseProtocolError, "unmasked frame from a client"}
	ErrMasked             error = ProtocolError{CloseProtocolError, "masked frame from a server"}
	ErrInvalidCloseCode   error = ProtocolError{CloseProtocolError, "close code not allowed on the wire"}
	ErrClosePayloadLength error = ProtocolError{CloseProtocolError, "close payload of 1 byte"}

	// ErrInvalidUTF8 reports text that is not valid UTF-8: a text message
	// or a close reason (RFC 6455, Section 8.1). Its code is 1007.
	ErrInvalidUTF8 error = ProtocolError{CloseInvalidPayload, "invalid UTF-8"}
)

// ErrShortHeader is returned by [ParseHeader] when b does not yet hold the
// whole header. It is not a protocol error: read more bytes and try again.
var ErrShortHeader = errors.New("frame: short header")

// ErrCloseReasonTooLong is returned by [AppendClosePayload] for a reason that
// would not fit a control frame. It reports local misuse, not a peer's fault.
var ErrCloseReasonTooLong = errors.New("frame: close reason longer than 123 bytes")

// detail wraps a sentinel with the value that broke the rule. It is only
// reached on the error path, so its allocation never burdens valid traffic.
func detail(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
