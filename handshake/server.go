package handshake

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"duplex/internal/deadline"
)

// DefaultTimeout bounds a server handshake when [ServerOptions.Timeout] is zero.
const DefaultTimeout = 10 * time.Second

// ServerOptions configure [Accept] and [Upgrade]. A nil *ServerOptions means the zero
// value. The functions only read the options, so one value may serve many handshakes at
// once, provided NegotiateExtensions and Authorize are safe for concurrent use. The options
// are validated (the syntax of the subprotocols, the origin patterns and Header) once per
// content, not per handshake: a handshake keeps a copy of the last options it found valid
// and compares the next ones with it, so options may still change between handshakes.
type ServerOptions struct {
	// Subprotocols lists the subprotocols the server speaks, most preferred first. The first
	// one the client offered is selected; if there is none, the handshake proceeds without
	// a subprotocol, and the application decides whether that will do.
	Subprotocols []string

	// Origin policy (RFC 6455, Sections 4.2.2 and 10.2). A request without Origin is
	// accepted: it comes from a program that is not a browser. By default a request with an
	// Origin is accepted only if the origin's host[:port] equals Host (ASCII case-insensitive)
	// and its scheme fits the connection: https over TLS (a plain http page could have been
	// tampered with on the way), http or https without TLS (which may have been ended by a
	// proxy). OriginPatterns adds allowed origins, in the syntax of [path.Match], matched
	// case-insensitively: a pattern with a scheme matches scheme and host[:port], e.g.
	// "https://*.example.com", one without matches host[:port] alone, e.g. "localhost:*".
	// InsecureSkipOriginCheck accepts any origin: only for servers that do not rely on
	// cookies or other ambient credentials. A refused origin gets 403.
	OriginPatterns          []string
	InsecureSkipOriginCheck bool

	// NegotiateExtensions, if set, is called with the client's offers in order, when there
	// are any. It returns the extensions to accept, echoed in the 101 response, or an error
	// that refuses the handshake with 400. With a nil hook no extension is accepted.
	// Accepting an extension that was not offered refuses the handshake with 500.
	NegotiateExtensions func(offers []Extension) ([]Extension, error)

	// Header holds extra header fields for the 101 response. Fields the handshake writes
	// itself (Upgrade, Connection, Sec-WebSocket-Accept, Sec-WebSocket-Protocol,
	// Sec-WebSocket-Extensions) are refused with [ErrInvalidOptions].
	Header http.Header

	// Limits bound the request head read by Accept.
	Limits Limits

	// Authorize, if set, is called once the request has passed every check of the handshake
	// and the subprotocol and extensions are agreed, before the 101 response is written:
	// the place to authenticate the client (a cookie, an Authorization header, a token in
	// the path) and refuse it before the connection opens. r is the Result the handshake is
	// about to return, a copy, with Rest left nil: r.RequestTarget, r.RequestHeader and
	// r.Request read the client's request at their usual cost (after Accept the first two
	// allocate nothing). ctx is the one given to Accept, or the request's for Upgrade and
	// AcceptConnect; Timeout does not bound the call, which the client waits for.
	//
	// A nil error accepts. An error refuses the handshake with the Status and Header of the
	// [*Error] it is or wraps (found with errors.As); with 403 when there is none or its
	// Status is 0. The status must be 4xx or 5xx, a 401 must carry a WWW-Authenticate
	// challenge (RFC 9110, Section 15.5.2), and the header must not hold a field that the
	// refusal writes itself (Content-Type, Content-Length, Connection, ...): otherwise the
	// refusal is a 500. Its body is the status text alone, so that the error's message stays
	// on the server; the handshake returns an *Error wrapping [ErrRefused] and the hook's
	// error. Shared options mean concurrent calls.
	Authorize func(ctx context.Context, r Result) error

	// Timeout bounds the whole handshake on the connection: reading the request and writing
	// the response. Zero means the context's deadline when it has one and [DefaultTimeout]
	// otherwise; a negative value leaves the bound to the context alone; a positive one
	// applies with the context's deadline, whichever comes first.
	Timeout time.Duration
}

// Result is the outcome of a successful handshake.
type Result struct {
	// Rest holds the bytes the peer sent right after the head, which the handshake read
	// along with it: the start of the first frame. It is nil when there are none, the usual
	// case. The WebSocket connection must consume them before it reads from the net.Conn.
	// It is a copy, owned by the caller.
	Rest []byte
	// Subprotocol is the selected subprotocol, "" for none. On the server side it is one of
	// the strings of ServerOptions.Subprotocols.
	Subprotocol string
	// Extensions are the extensions the server accepted, in the order of its response.
	Extensions []Extension
	// Response is the server's response head; nil on the server side.
	Response *Response

	head string        // Accept: the request head as received
	tls  bool          // Accept: the request came over TLS
	hreq *http.Request // Upgrade: the request net/http read
	req  *Request      // Client: the request sent
}

// Request returns the request of the handshake: on the server side the client's request,
// on the client side the request that was sent. After [Accept] it parses the head kept in
// the Result, on each call, into a new Request the caller owns: the cost of a header map
// (a few allocations and a microsecond or so), paid only by callers who want a header. After
// [Upgrade] it returns a new Request over the header net/http read (its Header is that of
// the http.Request); after [Client], the same Request on each call. It returns nil for a
// Result not made by a handshake.
func (r *Result) Request() *Request {
	switch {
	case r.req != nil:
		return r.req
	case r.hreq != nil:
		return &Request{
			Method:     r.hreq.Method,
			Target:     r.hreq.RequestURI,
			ProtoMajor: r.hreq.ProtoMajor,
			ProtoMinor: r.hreq.ProtoMinor,
			Host:       r.hreq.Host,
			Header:     r.hreq.Header,
			TLS:        r.hreq.TLS != nil,
		}
	case r.head != "":
		req, err := parseRequest(r.head)
		if err != nil {
			return nil // Accept took only heads that parse (differential_test.go)
		}
		req.TLS = r.tls
		return req
	}
	return nil
}

// RequestHeader returns the value of the first header field of the request (see
// [Result.Request]) called name, ASCII case-insensitively, trimmed of surrounding
// whitespace, or "" if there is none; "Host" gives the request's Host. It reads one field
// without building a header map: after [Accept] it looks through the head kept in the
// Result and allocates nothing, the string being part of that head; after [Upgrade] and
// [Client] it reads the header that Request returns. For a field that may span several
// lines, Request().Header has them all.
func (r *Result) RequestHeader(name string) string {
	var h http.Header
	switch {
	case r.req != nil:
		if equalFoldASCII(name, "Host") {
			return r.req.Host
		}
		h = r.req.Header
	case r.hreq != nil:
		if equalFoldASCII(name, "Host") {
			return r.hreq.Host
		}
		h = r.hreq.Header
	case r.head != "":
		return headField(r.head, name)
	}
	return h.Get(name)
}

// headField returns the value of the first field called name in a head that Accept took,
// every field line of which is a token, a colon and a value (fieldLine).
func headField(head, name string) string {
	_, fields := cutLine(skipEmptyLines(head))
	for {
		var line string
		if line, fields = cutLine(fields); line == "" {
			return ""
		}
		if i := strings.IndexByte(line, ':'); i == len(name) && equalFoldASCII(line[:i], name) {
			return trimOWS(line[i+1:])
		}
	}
}

// Accept performs the server side of the opening handshake on c (RFC 6455, Section 4.2):
// it reads the request head, checks it, and writes the 101 response in one Write. It reads
// and refuses exactly what [ReadRequest] would, with the same statuses, but parses the head
// in place in a borrowed buffer, without a header map: a successful Accept allocates one
// copy of the head, which [Result.Request] parses on demand, and the Result only when the
// caller keeps it beyond its own frame (Accept is inlined, so the Result of a caller that
// takes its fields and drops it, as conn.Accept does, is on that caller's stack). ctx and
// opts.Timeout bound the handshake (see [ServerOptions.Timeout]) and ctx ending interrupts
// the I/O, the error then wrapping ctx.Err(). The bound is set on c as a deadline before
// any read or write that may wait, and cleared on success; on a *net.TCPConn under Unix a
// request that has arrived whole and a response that the socket takes at once need no
// wait, so then no deadline is set at all (see "Deadline" in the package documentation).
// A deadline the caller set on c before is thus either replaced and cleared or left in
// place: a caller that sets one clears it after Accept.
//
// The checks, in order: method GET (else 405 with Allow: GET), HTTP/1.1 or later (else 400,
// or 505), a Host (else 400), Upgrade with the token "websocket" and Connection with the
// token "upgrade" (else 426), Sec-WebSocket-Version 13 (else 426 with
// Sec-WebSocket-Version: 13), a Sec-WebSocket-Key of 16 bytes (else 400), the origin
// policy (else 403), well-formed Sec-WebSocket-Protocol and Sec-WebSocket-Extensions
// (else 400), the extension hook's choice (else 400 or 500), and last the
// [ServerOptions.Authorize] hook (else the status it chose).
//
// On a refusal Accept writes an HTTP/1.1 response with a short text body and
// Connection: close, under the deadline, and returns an [*Error] with that status. On any
// error c is closed.
func Accept(ctx context.Context, c net.Conn, opts *ServerOptions) (*Result, error) {
	// Accept is small enough to be inlined: the Result is then allocated in the caller's
	// frame, and on its stack when the caller does not keep it, as conn.Accept, which takes
	// its fields and drops it. serverAccept lets res escape only to its result.
	return serverAccept(ctx, c, opts, new(Result))
}

// serverAccept is Accept, filling in res, which it returns; nil on error. It is not to be
// inlined into Accept, which would then be too large to be inlined itself.
//
//go:noinline
func serverAccept(ctx context.Context, c net.Conn, opts *ServerOptions, res *Result) (*Result, error) {
	if err := acceptGuarded(ctx, c, opts, res); err != nil {
		return nil, err
	}
	return res, nil
}

// acceptGuarded is Accept under the bound of ctx and opts.Timeout, filling in res.
func acceptGuarded(ctx context.Context, c net.Conn, opts *ServerOptions, res *Result) error {
	o := serverOptions(opts)
	if ctx.Err() != nil {
		c.Close()
		return ctxErr(ctx, nil)
	}
	g := guard{c: c, ctx: ctx, timeout: o.Timeout}
	if !pollable(c) {
		// Nothing tells whether an operation would wait: bound them all.
		if err := g.arm(); err != nil {
			c.Close()
			return wrapIO("set deadline", err)
		}
	}
	var err error
	ended := false
	if ctx.Done() == nil {
		err = accept(c, o, &g, res)
	} else {
		var w deadline.Watch
		w.Init(c, deadline.Both)
		w.Arm(ctx)
		g.w = &w
		err = accept(c, o, &g, res)
		ended = w.Disarm()
	}
	if interrupted(ctx, ended, err) {
		c.Close()
		return ctxErr(ctx, err)
	}
	if err != nil {
		return err
	}
	if g.set {
		if err := c.SetDeadline(time.Time{}); err != nil {
			c.Close()
			return wrapIO("clear deadline", err)
		}
	}
	return nil
}

// guard is the bound of one server handshake, set on its connection as a deadline only
// once an operation may wait: a silent or slow peer then meets it, a prompt one costs no
// deadline (nor the clock read that computes it).
type guard struct {
	c       net.Conn
	ctx     context.Context
	timeout time.Duration
	w       *deadline.Watch // ctx's, when it can end
	at      time.Time       // the deadline, once set; zero for none
	set     bool
	err     error // from setting it
}

// arm sets the deadline on the connection, once, and returns the error that setting it
// met, on every call. A nil guard has no bound to set.
func (g *guard) arm() error {
	if g == nil {
		return nil
	}
	if !g.set {
		g.set = true
		g.err = g.setDeadline()
	}
	return g.err
}

func (g *guard) setDeadline() error {
	g.at = deadline.Bound(g.ctx, g.timeout, DefaultTimeout)
	if err := g.c.SetDeadline(g.at); err != nil {
		return err
	}
	if g.w.Ended() {
		// ctx ended already and its watch set a past deadline, which the line above may have
		// replaced: put it back, so the next operation is interrupted at once.
		return g.c.SetDeadline(deadline.Past)
	}
	return nil
}

// accept is Accept under its guard, filling in res. On error c is closed.
func accept(c net.Conn, o *ServerOptions, g *guard, res *Result) error {
	s := getScratch()
	defer s.release()
	extra, ferr := s.vet.vet(o)
	if ferr != nil {
		return refuse(c, ferr, g)
	}
	scan := newHeadScan(o.Limits, true)
	scan.index = &s.index
	// The head is copied out of the pooled buffer into a string, which is the one the checks
	// below take their strings from (the key, the extension offers and so what a
	// NegotiateExtensions hook accepts from them) and the one Result.Request parses later:
	// the buffer goes back to the pool, and the response is written over it first.
	head, rest, err := receiveHead(c, s.buf, readReady(c, s.buf, g), &scan, "read request", g)
	if err != nil {
		var ferr *Error
		if errors.As(err, &ferr) {
			return refuse(c, ferr, g)
		}
		c.Close()
		return err
	}
	// release left s.q zero: a composite literal would clear its 208 bytes again.
	q := &s.q
	q.o, q.tls = o, isTLS(c)
	if scan.index != nil {
		ferr = q.gather(head, &s.index)
	} else {
		ferr = q.parse(head)
	}
	if ferr == nil {
		s.acc, ferr = q.check()
	}
	if ferr == nil && o.Authorize != nil {
		ferr = authorize(g.ctx, o, Result{Subprotocol: s.acc.subprotocol, Extensions: s.acc.extensions, head: head, tls: q.tls})
	}
	if ferr != nil {
		return refuse(c, ferr, g)
	}
	if err := respond(c, appendSwitching(s.buf[:0], &s.acc, extra), g); err != nil {
		c.Close()
		return wrapIO("write response", err)
	}
	*res = Result{Rest: rest, Subprotocol: s.acc.subprotocol, Extensions: s.acc.extensions, head: head, tls: q.tls}
	return nil
}

// respond writes b to c, with no deadline if the socket takes it at once (a fresh
// connection's send buffer holds far more than a 101 response), else under g's.
func respond(c net.Conn, b []byte, g *guard) error {
	if !g.set {
		n := writeReady(c, b)
		if b = b[n:]; len(b) == 0 {
			return nil
		}
		if err := g.arm(); err != nil {
			return err
		}
	}
	_, err := c.Write(b)
	return err
}

// isTLS reports whether c is a TLS connection, whose requests come from https origins.
func isTLS(c net.Conn) bool {
	_, ok := c.(interface{ ConnectionState() tls.ConnectionState })
	return ok
}

// interrupted reports whether ctx ended the handshake: the watch saw it end, or the I/O
// failed at ctx's deadline, which the connection's deadline may reach before ctx's own
// timer does.
func interrupted(ctx context.Context, ended bool, err error) bool {
	if ended {
		return true
	}
	d, ok := ctx.Deadline()
	return err != nil && ok && !time.Now().Before(d)
}

// ctxErr is the error of a handshake that ctx interrupted, err being what the interrupted
// I/O reported, if anything.
func ctxErr(ctx context.Context, err error) error {
	cause := ctx.Err()
	if cause == nil {
		cause = context.DeadlineExceeded // see interrupted
	}
	if err == nil {
		return wrapIO("interrupted", cause)
	}
	return fmt.Errorf("handshake: %w (%w)", cause, err)
}

// noServerOptions stands for nil options. Nothing writes to it.
var noServerOptions ServerOptions

func serverOptions(opts *ServerOptions) *ServerOptions {
	if opts == nil {
		return &noServerOptions
	}
	return opts
}

// serverOwnHeaders are the response fields the handshake writes itself.
var serverOwnHeaders = []string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"}

// validate checks what the options would put on the wire or use as patterns, before any
// byte is read, so a configuration error never depends on what the client sent.
func (o *ServerOptions) validate() *Error {
	if err := checkExtraHeader(o.Header, serverOwnHeaders); err != nil {
		return &Error{Status: http.StatusInternalServerError, Err: err}
	}
	for _, s := range o.Subprotocols {
		if !isToken(s) {
			return fail(http.StatusInternalServerError, ErrInvalidOptions, "subprotocol %q is not a token", s)
		}
	}
	for _, p := range o.OriginPatterns {
		// path.Match checks the whole pattern's syntax, even against "".
		if _, err := originMatch(p, "", ""); err != nil {
			return fail(http.StatusInternalServerError, ErrInvalidOptions, "origin pattern %q: %v", p, err)
		}
	}
	return nil
}

// checkExtraHeader refuses header fields that are invalid on the wire or that would
// override one of the handshake's own fields.
func checkExtraHeader(h http.Header, own []string) error {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("%w: header name %q", ErrInvalidOptions, name)
		}
		for _, n := range own {
			if strings.EqualFold(name, n) {
				return fmt.Errorf("%w: header %q is set by the handshake", ErrInvalidOptions, name)
			}
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w: value of header %q", ErrInvalidOptions, name)
			}
		}
	}
	return nil
}

// appendHeaderLines appends h as header lines, keys sorted so the output is stable, but
// for the keys that match one of skip (ASCII case-insensitive).
func appendHeaderLines(dst []byte, h http.Header, skip []string) []byte {
	if len(h) == 0 {
		return dst
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		if !slices.ContainsFunc(skip, func(s string) bool { return strings.EqualFold(s, k) }) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			dst = appendField(dst, k, v)
		}
	}
	return dst
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// appendSwitching appends the 101 response of RFC 6455, Section 4.2.2, item 5; extra holds
// the header lines of ServerOptions.Header (see vetted).
func appendSwitching(dst []byte, a *accepted, extra []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"...)
	dst = append(dst, "Sec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, a.key)
	dst = append(dst, "\r\n"...)
	if a.subprotocol != "" {
		dst = appendField(dst, "Sec-WebSocket-Protocol", a.subprotocol)
	}
	if len(a.extensions) > 0 {
		dst = append(dst, "Sec-WebSocket-Extensions: "...)
		dst = AppendExtensions(dst, a.extensions)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, extra...)
	return append(dst, "\r\n"...)
}

// refusal returns the header fields and body of the response that refuses a handshake.
// Accept writes them by hand and Upgrade through net/http, so both say the same.
func refusal(e *Error) (fields [][2]string, body string) {
	body = refusalBody(e)
	fields = [][2]string{
		{"Content-Type", "text/plain; charset=utf-8"},
		{"X-Content-Type-Options", "nosniff"},
		{"Content-Length", strconv.Itoa(len(body))},
		// Connection: close comes first: net/http closes after a response only when the
		// first Connection value is exactly "close".
		{"Connection", "close"},
	}
	switch e.Status {
	case http.StatusMethodNotAllowed:
		// RFC 9110, Section 15.5.6: "The origin server MUST generate an Allow header field in
		// a 405 response".
		fields = append(fields, [2]string{"Allow", http.MethodGet})
	case http.StatusUpgradeRequired:
		// RFC 9110, Section 15.5.22: "The server MUST send an Upgrade header field in a 426
		// response"; Section 7.8: a sender of Upgrade "MUST also send an "upgrade" connection
		// option". A second Connection line is the same as a comma list (Section 5.3).
		fields = append(fields,
			[2]string{"Connection", "Upgrade"},
			[2]string{"Upgrade", "websocket"},
			[2]string{"Sec-WebSocket-Version", "13"})
	}
	return appendHeaderFields(fields, e.Header), body
}

func appendRefusal(dst []byte, e *Error) []byte {
	fields, body := refusal(e)
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(e.Status)...)
	dst = append(dst, "\r\n"...)
	for _, f := range fields {
		dst = appendField(dst, f[0], f[1])
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// Lingering after a refusal: closing a socket with unread input makes the kernel answer
// with RST, which may destroy the refusal before the client reads it. So Accept half-closes
// and drains a bounded amount for a bounded time before closing.
const (
	lingerTimeout = time.Second
	lingerBytes   = 64 << 10
)

// refuse writes the refusal for e on c under g's deadline, so that a peer that does not
// read cannot hold it, closes c and returns e.
func refuse(c net.Conn, e *Error, g *guard) error {
	if err := g.arm(); err != nil {
		c.Close()
		return e
	}
	_, err := c.Write(appendRefusal(nil, e))
	deadline := g.at
	if cw, ok := c.(interface{ CloseWrite() error }); ok && err == nil && cw.CloseWrite() == nil {
		until := time.Now().Add(lingerTimeout)
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		if c.SetReadDeadline(until) == nil {
			_, _ = io.CopyN(io.Discard, c, lingerBytes)
		}
	}
	c.Close()
	return e
}
