package handshake

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a failed handshake with the HTTP status involved: on the server side the status
// of the refusal that was (or, for [ReadRequest], should be) sent; on the client side the
// status in the server's response, or 0 when none was read. Err is the cause and wraps one
// of the sentinel errors of this package, so callers match it with [errors.Is].
type Error struct {
	Status int
	Err    error
	// Header holds extra header fields for the refusal, such as the WWW-Authenticate
	// challenge of a 401: a [ServerOptions.Authorize] hook sets them on the Error it
	// returns. The handshake's own errors have none.
	Header http.Header
}

// Error returns the cause's message followed by the status, if any.
func (e *Error) Error() string {
	msg := "handshake: failed"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Status == 0 {
		return msg
	}
	return fmt.Sprintf("%s (status %d %s)", msg, e.Status, http.StatusText(e.Status))
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Causes of a failed handshake. They are wrapped in an [*Error] (with detail), so compare
// them with [errors.Is].
var (
	// ErrMalformedHead reports that the request or response head breaks the HTTP/1.1 message syntax.
	ErrMalformedHead = errors.New("handshake: malformed HTTP head")
	// ErrHeadTooLarge reports that the head exceeds [Limits] (status 431 on the server side).
	ErrHeadTooLarge = errors.New("handshake: HTTP head too large")
	// ErrBadMethod reports a request method other than GET (status 405).
	ErrBadMethod = errors.New("handshake: method is not GET")
	// ErrBadHTTPVersion reports a request older than HTTP/1.1 (status 400, or 505 for a major version other than 1).
	ErrBadHTTPVersion = errors.New("handshake: HTTP version is not 1.1 or later")
	// ErrMissingHost reports a request without a Host, or with an empty one (status 400).
	ErrMissingHost = errors.New("handshake: missing Host header")
	// ErrNotUpgrade reports that Upgrade lacks the "websocket" token or Connection lacks the "upgrade" token
	// (status 426 on the server side).
	ErrNotUpgrade = errors.New("handshake: not a websocket upgrade")
	// ErrBadVersion reports a Sec-WebSocket-Version missing or other than 13 (status 426).
	ErrBadVersion = errors.New("handshake: unsupported Sec-WebSocket-Version")
	// ErrBadKey reports a Sec-WebSocket-Key that is missing, repeated or does not decode to 16 bytes (status 400).
	ErrBadKey = errors.New("handshake: bad Sec-WebSocket-Key")
	// ErrOriginRefused reports that the origin policy refuses the request's Origin (status 403).
	ErrOriginRefused = errors.New("handshake: origin refused")
	// ErrBadSubprotocol reports a malformed Sec-WebSocket-Protocol, or (client side) a subprotocol the client did not offer.
	ErrBadSubprotocol = errors.New("handshake: bad Sec-WebSocket-Protocol")
	// ErrBadExtension reports a malformed Sec-WebSocket-Extensions, an offer refused by the negotiation hook, or
	// (client side) an extension the client did not offer.
	ErrBadExtension = errors.New("handshake: bad Sec-WebSocket-Extensions")
	// ErrRefused reports that the [ServerOptions.Authorize] hook refused the request (status
	// 403, or the one it chose).
	ErrRefused = errors.New("handshake: refused by the server")
	// ErrBadStatus reports that the server answered with a status other than 101; Error.Status holds it.
	ErrBadStatus = errors.New("handshake: server did not switch protocols")
	// ErrBadAccept reports a Sec-WebSocket-Accept that is missing or does not match the key sent.
	ErrBadAccept = errors.New("handshake: bad Sec-WebSocket-Accept")
	// ErrNotHijackable reports that the http.ResponseWriter given to [Upgrade] cannot be hijacked (status 500).
	ErrNotHijackable = errors.New("handshake: response writer cannot be hijacked")
	// ErrInvalidOptions reports unusable options (a header that would override the handshake's own,
	// an invalid header name or value, a bad origin pattern, a bad URL).
	ErrInvalidOptions = errors.New("handshake: invalid options")
)

// fail builds an *Error whose cause wraps sentinel with a detail message.
func fail(status int, sentinel error, format string, args ...any) *Error {
	if format == "" {
		return &Error{Status: status, Err: sentinel}
	}
	return &Error{Status: status, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// wrapIO prefixes an I/O error with the step that failed.
func wrapIO(step string, err error) error {
	return fmt.Errorf("handshake: %s: %w", step, err)
}
