package handshake

import (
	"bytes"
	"net"
	"net/http"
	"time"

	"duplex/internal/deadline"
)

// Upgrade performs the server side of the opening handshake for a request net/http has
// read: the same checks and options as [Accept]. net/http read the head, within its
// server's MaxHeaderBytes (1 MiB by default); a head over opts.Limits, as Accept would
// count it, is refused with 431 all the same, so both paths accept the same requests.
// On a refusal it writes the response through w (no hijack) and returns an [*Error] with
// its status. Otherwise it hijacks the connection, writes the 101 response on it in one
// Write under a deadline of opts.Timeout (then cleared, along with any deadline the
// http.Server had set), and returns the connection and a [Result] whose Rest holds what the
// hijacked buffered reader held: bytes the client sent after the request are not lost.
//
// If w cannot be hijacked, Upgrade answers 500 and returns an error wrapping
// [ErrNotHijackable]. After a failure past the hijack the connection is closed.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *ServerOptions) (net.Conn, *Result, error) {
	// As Accept, Upgrade is small enough to be inlined, so that its Result may be allocated
	// on its caller's stack.
	return upgrade(w, r, opts, new(Result))
}

// upgrade is Upgrade, filling in res, which it returns; nil on error.
//
//go:noinline
func upgrade(w http.ResponseWriter, r *http.Request, opts *ServerOptions, res *Result) (net.Conn, *Result, error) {
	// net/http runs the handler on a goroutine whose stack starts small. What the checks
	// gather is in a pooled scratch, and the checks and the hijack have frames of their own,
	// gone before the next one starts: the deepest points (the response's SHA-1, the parsing
	// of an extension offer) then sit under little, and the stack need not grow.
	o := serverOptions(opts)
	s := getScratch()
	extra, ferr := s.checkHTTP(r, o)
	if ferr != nil {
		s.release()
		refuseHTTP(w, ferr)
		return nil, nil, ferr
	}
	c, rest, err := switchHTTP(w, r, o.Timeout, appendSwitching(s.buf[:0], &s.acc, extra))
	if err != nil {
		res = nil
	} else {
		*res = Result{Rest: rest, Subprotocol: s.acc.subprotocol, Extensions: s.acc.extensions, hreq: r}
	}
	s.release()
	return c, res, err
}

// checkHTTP applies the checks of [Accept] to a request net/http read, gathering its
// fields in s.q, and sets s.acc to what they decided. It returns the extra header lines of
// the 101 response, which s holds.
//
//go:noinline
func (s *scratch) checkHTTP(r *http.Request, o *ServerOptions) ([]byte, *Error) {
	extra, ferr := s.vet.vet(o)
	if ferr == nil {
		ferr = s.q.fromHTTP(r, o)
	}
	if ferr == nil {
		s.acc, ferr = s.q.check()
	}
	if ferr == nil && o.Authorize != nil {
		ferr = authorize(r.Context(), o, Result{Subprotocol: s.acc.subprotocol, Extensions: s.acc.extensions, hreq: r})
	}
	return extra, ferr
}

// fromHTTP sets q to the fields of a request net/http read, after the check that comes
// before any of them, once the options are validated: the size of the head as Accept would
// have read it.
func (q *upgradeRequest) fromHTTP(r *http.Request, o *ServerOptions) *Error {
	if ferr := checkHeadSize(r, o.Limits); ferr != nil {
		return ferr
	}
	// Field by field: a composite literal would be built on the stack first, under the
	// parsing that q.header runs.
	*q = upgradeRequest{}
	q.o, q.method, q.major, q.minor, q.host, q.tls = o, r.Method, r.ProtoMajor, r.ProtoMinor, r.Host, r.TLS != nil
	q.header(r.Header)
	return nil
}

// switchHTTP hijacks w's connection and writes resp, the 101 response, on it under a
// deadline of timeout, then cleared. It returns the connection and a copy of what the
// hijacked buffered reader held. A failed hijack is answered with 500 through w; after any
// other failure the connection is closed.
//
//go:noinline
func switchHTTP(w http.ResponseWriter, r *http.Request, timeout time.Duration, resp []byte) (net.Conn, []byte, error) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		ferr := fail(http.StatusInternalServerError, ErrNotHijackable, "%w", err)
		refuseHTTP(w, ferr)
		return nil, nil, ferr
	}
	if err := c.SetDeadline(deadline.Bound(r.Context(), timeout, DefaultTimeout)); err != nil {
		c.Close()
		return nil, nil, wrapIO("set deadline", err)
	}
	if _, err := c.Write(resp); err != nil {
		c.Close()
		return nil, nil, wrapIO("write response", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, nil, wrapIO("clear deadline", err)
	}
	var rest []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent after its request, which net/http read with it.
		rest, _ = brw.Reader.Peek(n)
		rest = bytes.Clone(rest)
	}
	return c, rest, nil
}

// checkHeadSize refuses a head net/http read that Accept would have refused as too large:
// its size and number of header lines as they were sent, within a line terminator each.
func checkHeadSize(r *http.Request, l Limits) *Error {
	l = l.withDefaults()
	// The request line, the Host line and the final empty line.
	size := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2 + len("Host: ") + len(r.Host) + 2 + 2
	lines := 1
	for k, vs := range r.Header {
		for _, v := range vs {
			size += len(k) + 2 + len(v) + 2
			lines++
		}
	}
	if size > l.MaxHeadBytes {
		return fail(http.StatusRequestHeaderFieldsTooLarge, ErrHeadTooLarge, "%d bytes, over %d", size, l.MaxHeadBytes)
	}
	if lines > l.MaxHeaders {
		return fail(http.StatusRequestHeaderFieldsTooLarge, ErrHeadTooLarge, "%d header lines, over %d", lines, l.MaxHeaders)
	}
	return nil
}

// refuseHTTP writes the refusal for e through w. Fields the handler may have set already
// (X-Content-Type-Options, Content-Type) are replaced, not repeated.
func refuseHTTP(w http.ResponseWriter, e *Error) {
	fields, body := refusal(e)
	h := w.Header()
	for i, f := range fields {
		if i == 0 || fields[i-1][0] != f[0] {
			h.Del(f[0])
		}
		h.Add(f[0], f[1])
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
}
