package handshake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// authorize runs the Authorize hook of o, if any, on the Result a handshake is about to
// return, and turns its refusal into the *Error the handshake answers with. A hook that
// breaks the rules of the refusal it asks for (a status that refuses nothing, a header the
// refusal writes itself, a 401 without a challenge) is a server bug: 500.
func authorize(ctx context.Context, o *ServerOptions, r Result) *Error {
	if o.Authorize == nil {
		return nil
	}
	err := o.Authorize(ctx, r)
	if err == nil {
		return nil
	}
	status, cause := http.StatusForbidden, err
	var h http.Header
	var e *Error
	if errors.As(err, &e) {
		status, h = e.Status, e.Header
		if status == 0 {
			status = http.StatusForbidden
		}
		if e == err { // its own message would repeat the status
			cause = e.Err
		}
	}
	if status < 400 || status > 599 {
		return fail(http.StatusInternalServerError, ErrInvalidOptions, "Authorize refused with status %d", status)
	}
	if err := checkExtraHeader(h, refusalOwnHeaders); err != nil {
		return &Error{Status: http.StatusInternalServerError, Err: err}
	}
	// RFC 9110, Section 15.5.2: "The server generating a 401 response MUST send a
	// WWW-Authenticate header field (Section 11.6.1) containing at least one challenge
	// applicable to the target resource."
	if status == http.StatusUnauthorized && len(h.Values("WWW-Authenticate")) == 0 {
		return fail(http.StatusInternalServerError, ErrInvalidOptions, "Authorize refused with 401 and no WWW-Authenticate")
	}
	if cause == nil {
		return &Error{Status: status, Header: h, Err: ErrRefused}
	}
	return &Error{Status: status, Header: h, Err: fmt.Errorf("%w: %w", ErrRefused, cause)}
}

// refusalOwnHeaders are the fields a refusal writes itself (see refusal), and
// Transfer-Encoding, which would contradict its Content-Length.
var refusalOwnHeaders = []string{
	"Content-Type", "X-Content-Type-Options", "Content-Length", "Connection", "Transfer-Encoding",
	"Allow", "Upgrade", "Sec-WebSocket-Version",
}

// refusalBody is the body of the response that refuses a handshake: the reason, but for a
// server error, whose details stay on the server, and a refusal by the Authorize hook,
// whose error may say what the client should not learn; those get the status text alone.
func refusalBody(e *Error) string {
	if e.Status >= 500 || errors.Is(e.Err, ErrRefused) {
		return http.StatusText(e.Status) + "\n"
	}
	return e.Error() + "\n"
}

// appendHeaderFields appends the fields of h to fields, keys sorted so the response is
// stable.
func appendHeaderFields(fields [][2]string, h http.Header) [][2]string {
	if len(h) == 0 {
		return fields
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fields = append(fields, [2]string{k, v})
		}
	}
	return fields
}

// RequestTarget returns the request-target of the request (see [Result.Request]) as it
// was sent, e.g. "/chat?room=1", without building a header map: after [Accept] it is part
// of the head kept in the Result and costs no allocation.
func (r *Result) RequestTarget() string {
	switch {
	case r.req != nil:
		return r.req.Target
	case r.hreq != nil:
		return r.hreq.RequestURI
	case r.head != "":
		// Accept took only heads whose request line parses: method SP request-target SP
		// HTTP-version, with no space in any of the three.
		line, _ := cutLine(skipEmptyLines(r.head))
		i, j := strings.IndexByte(line, ' '), strings.LastIndexByte(line, ' ')
		if i < 0 || j <= i {
			return ""
		}
		return line[i+1 : j]
	}
	return ""
}
