package frame

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// CloseCode is a close status code (RFC 6455, Section 7.4).
type CloseCode uint16

// The status codes of RFC 6455, Section 7.4.1, and the IANA "WebSocket Close
// Code Number Registry" entries 1012-1014.
const (
	CloseNormal             CloseCode = 1000
	CloseGoingAway          CloseCode = 1001
	CloseProtocolError      CloseCode = 1002
	CloseUnsupportedData    CloseCode = 1003
	CloseNoStatus           CloseCode = 1005 // local only: the close frame had no body
	CloseAbnormal           CloseCode = 1006 // local only: the connection ended without a close frame
	CloseInvalidPayload     CloseCode = 1007
	ClosePolicyViolation    CloseCode = 1008
	CloseTooBig             CloseCode = 1009
	CloseMandatoryExtension CloseCode = 1010
	CloseInternalError      CloseCode = 1011
	CloseServiceRestart     CloseCode = 1012
	CloseTryAgainLater      CloseCode = 1013
	CloseBadGateway         CloseCode = 1014
	CloseTLSHandshake       CloseCode = 1015 // local only: the TLS handshake failed
)

// MaxCloseReason is the longest close reason in bytes: a control payload
// holds 125 bytes, two of which carry the code.
const MaxCloseReason = MaxControlPayload - 2

var closeNames = [...]string{
	CloseNormal - 1000:             "normal closure",
	CloseGoingAway - 1000:          "going away",
	CloseProtocolError - 1000:      "protocol error",
	CloseUnsupportedData - 1000:    "unsupported data",
	1004 - 1000:                    "reserved",
	CloseNoStatus - 1000:           "no status received",
	CloseAbnormal - 1000:           "abnormal closure",
	CloseInvalidPayload - 1000:     "invalid frame payload data",
	ClosePolicyViolation - 1000:    "policy violation",
	CloseTooBig - 1000:             "message too big",
	CloseMandatoryExtension - 1000: "mandatory extension",
	CloseInternalError - 1000:      "internal error",
	CloseServiceRestart - 1000:     "service restart",
	CloseTryAgainLater - 1000:      "try again later",
	CloseBadGateway - 1000:         "bad gateway",
	CloseTLSHandshake - 1000:       "TLS handshake failure",
}

// String returns the code with its meaning, such as "1000 (normal closure)"
// or "4000 (private use)"; it never fails.
func (c CloseCode) String() string {
	var name string
	switch {
	case c < 1000:
		name = "unused"
	case int(c-1000) < len(closeNames):
		name = closeNames[c-1000]
	case c < 3000:
		name = "reserved"
	case c < 4000:
		name = "registered"
	case c < 5000:
		name = "private use"
	default:
		name = "out of range"
	}
	return strconv.FormatUint(uint64(c), 10) + " (" + name + ")"
}

// ValidOnWire reports whether c may be sent in a close frame: 1000-1003 and
// 1007-1011 (RFC 6455, Section 7.4.1), 1012-1014 (IANA registry), and
// 3000-4999 (Section 7.4.2). 1005, 1006 and 1015 are only reported locally.
func (c CloseCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	// RFC 6455, Section 7.4.1 on 1005, 1006 and 1015: each "MUST NOT be
	// set as a status code in a Close control frame by an endpoint."
	// Section 7.4.2: "Status codes in the range 0-999 are not used."
	return false
}

// ParseClosePayload decodes the body of a close frame (RFC 6455, Section
// 5.5.1). An empty body yields (CloseNoStatus, "", nil). The reason is a
// copy, safe to keep; b is not retained.
//
// Errors, all protocol errors: a 1-byte body ([ErrClosePayloadLength]), a
// body over 125 bytes ([ErrControlTooLong]), a code not [CloseCode.ValidOnWire]
// ([ErrInvalidCloseCode]), and a reason that is not UTF-8 ([ErrInvalidUTF8],
// code 1007).
func ParseClosePayload(b []byte) (CloseCode, string, error) {
	switch {
	case len(b) == 0:
		return CloseNoStatus, "", nil
	case len(b) == 1:
		// RFC 6455, Section 5.5.1: "If there is a body, the first two
		// bytes of the body MUST be a 2-byte unsigned integer".
		return 0, "", ErrClosePayloadLength
	case len(b) > MaxControlPayload:
		return 0, "", detail(ErrControlTooLong, "close body of %d bytes", len(b))
	}
	code := CloseCode(binary.BigEndian.Uint16(b))
	if !code.ValidOnWire() {
		return 0, "", detail(ErrInvalidCloseCode, "%d", uint16(code))
	}
	reason := b[2:]
	// RFC 6455, Section 8.1: "When an endpoint is to interpret a byte
	// stream as UTF-8 but finds that the byte stream is not, in fact, a
	// valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
	// Connection_." The close reason is such a stream (Section 5.5.1).
	if !utf8.Valid(reason) {
		return 0, "", detail(ErrInvalidUTF8, "in close reason")
	}
	return code, string(reason), nil
}

// AppendClosePayload appends the body of a close frame to dst and returns
// the extended slice. CloseNoStatus with an empty reason appends nothing: a
// close frame without a body. Otherwise code must be valid on the wire
// ([ErrInvalidCloseCode]) and reason valid UTF-8 ([ErrInvalidUTF8]) of at
// most [MaxCloseReason] bytes ([ErrCloseReasonTooLong]). On error dst is
// returned unchanged.
func AppendClosePayload(dst []byte, code CloseCode, reason string) ([]byte, error) {
	if code == CloseNoStatus && reason == "" {
		return dst, nil
	}
	if !code.ValidOnWire() {
		return dst, detail(ErrInvalidCloseCode, "%d", uint16(code))
	}
	if len(reason) > MaxCloseReason {
		return dst, ErrCloseReasonTooLong
	}
	if !utf8.ValidString(reason) {
		return dst, detail(ErrInvalidUTF8, "in close reason")
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...), nil
}
