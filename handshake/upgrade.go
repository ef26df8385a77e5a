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
	o := serverOptions(opts)
	ferr := o.validate()
	if ferr == nil {
		ferr = checkHeadSize(r, o.Limits)
	}
	var a accepted
	if ferr == nil {
		q := upgradeRequest{o: o, method: r.Method, major: r.ProtoMajor, minor: r.ProtoMinor, host: r.Host, tls: r.TLS != nil}
		q.header(r.Header)
		a, ferr = q.check()
	}
	if ferr != nil {
		refuseHTTP(w, ferr)
		return nil, nil, ferr
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		ferr = fail(http.StatusInternalServerError, ErrNotHijackable, "%w", err)
		refuseHTTP(w, ferr)
		return nil, nil, ferr
	}
	if err := c.SetDeadline(deadline.Bound(r.Context(), o.Timeout, DefaultTimeout)); err != nil {
		c.Close()
		return nil, nil, wrapIO("set deadline", err)
	}
	bp := headBuffers.Get().(*[]byte)
	defer headBuffers.Put(bp)
	if _, err := c.Write(appendSwitching((*bp)[:0], &a, o.Header)); err != nil {
		c.Close()
		return nil, nil, wrapIO("write response", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, nil, wrapIO("clear deadline", err)
	}
	res := &Result{Subprotocol: a.subprotocol, Extensions: a.extensions, hreq: r}
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent after its request, which net/http read with it.
		res.Rest, _ = brw.Reader.Peek(n)
		res.Rest = bytes.Clone(res.Rest)
	}
	return c, res, nil
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
