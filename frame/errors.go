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

// Protocol violations, each with the RFC 6455 section of its rule. Errors
// returned by this package may wrap these with detail (the offending
// opcode, length or code); match them with [errors.Is].
var (
	// ErrReservedOpcode: an opcode RFC 6455 does not define (Section 5.2).
	ErrReservedOpcode error = ProtocolError{CloseProtocolError, "reserved opcode"}
	// ErrReservedBits: an RSV bit no negotiated extension claims (Section 5.2).
	ErrReservedBits error = ProtocolError{CloseProtocolError, "reserved bits set without a negotiated extension"}
	// ErrControlTooLong: a control payload over 125 bytes (Section 5.5).
	ErrControlTooLong error = ProtocolError{CloseProtocolError, "control frame payload longer than 125 bytes"}
	// ErrControlFragmented: a control frame without FIN (Section 5.5).
	ErrControlFragmented error = ProtocolError{CloseProtocolError, "fragmented control frame"}
	// ErrLengthMSB: a 64-bit length with its most significant bit set (Section 5.2).
	ErrLengthMSB error = ProtocolError{CloseProtocolError, "64-bit payload length with the most significant bit set"}
	// ErrNonMinimalLength: a length in a longer form than needed (Section 5.2).
	ErrNonMinimalLength error = ProtocolError{CloseProtocolError, "payload length not in its minimal encoding"}
	// ErrUnmasked: a server received an unmasked frame (Section 5.1).
	ErrUnmasked error = ProtocolError{CloseProtocolError, "unmasked frame from a client"}
	// ErrMasked: a client received a masked frame (Section 5.1).
	ErrMasked error = ProtocolError{CloseProtocolError, "masked frame from a server"}
	// ErrInvalidCloseCode: a close code not allowed on the wire (Section 7.4).
	ErrInvalidCloseCode error = ProtocolError{CloseProtocolError, "close code not allowed on the wire"}
	// ErrClosePayloadLength: a close body of 1 byte, too short for a code
	// (Section 5.5.1).
	ErrClosePayloadLength error = ProtocolError{CloseProtocolError, "close payload of 1 byte"}
	// ErrInvalidUTF8: text that is not valid UTF-8, in a text message or a
	// close reason (Section 8.1). Its code is 1007.
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
