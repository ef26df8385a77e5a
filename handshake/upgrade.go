package handshake

import (
	"net"
	"net/http"
	"time"
)

// Upgrade performs the server side of the opening handshake for a request net/http has
// read: the same checks and options as [Accept] (opts.Limits aside: net/http read the head).
// On a refusal it writes the response through w (no hijack) and returns an [*Error] with
// its status. Otherwise it hijacks the connection, writes the 101 response on it in one
// Write under a deadline of opts.Timeout (then cleared, along with any deadline the
// http.Server had set), and returns the connection and a [Result] whose Reader is the
// hijacked buffered reader: bytes the client sent after the request are not lost.
//
// If w cannot be hijacked, Upgrade answers 500 and returns an error wrapping
// [ErrNotHijackable]. After a failure past the hijack the connection is closed.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *ServerOptions) (net.Conn, *Result, error) {
	o := cloneServerOptions(opts)
	req := &Request{
		Method:     r.Method,
		Target:     r.RequestURI,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Host:       r.Host,
		Header:     r.Header,
	}
	ferr := o.validate()
	var a *accepted
	if ferr == nil {
		a, ferr = checkRequest(req, &o)
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
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, nil, wrapIO("set deadline", err)
	}
	if _, err := c.Write(appendSwitching(nil, a, o.Header)); err != nil {
		c.Close()
		return nil, nil, wrapIO("write response", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, nil, wrapIO("clear deadline", err)
	}
	return c, &Result{Reader: brw.Reader, Subprotocol: a.subprotocol, Extensions: a.extensions, Request: req}, nil
}

// refuseHTTP writes the refusal for e through w.
func refuseHTTP(w http.ResponseWriter, e *Error) {
	fields, body := refusal(e)
	h := w.Header()
	for _, f := range fields {
		h.Add(f[0], f[1])
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
}
