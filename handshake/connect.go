package handshake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ProtocolHeader is the key under which net/http and golang.org/x/net/http2 keep the
// :protocol pseudo-header of an extended CONNECT in http.Request.Header (RFC 8441,
// Section 4): a server reads it there, a client sets it there.
const ProtocolHeader = ":protocol"

// IsConnect reports whether r came as an HTTP/2 (or later) CONNECT: the request an
// RFC 8441 client opens a WebSocket with, which [AcceptConnect] answers. A plain CONNECT
// (a proxy tunnel, without :protocol) is one too, so that it gets a refusal rather than
// the HTTP/1.1 checks.
func IsConnect(r *http.Request) bool {
	return r.ProtoMajor >= 2 && r.Method == http.MethodConnect
}

// AcceptConnect performs the server side of the opening handshake of a WebSocket over an
// HTTP/2 stream, bootstrapped with an extended CONNECT (RFC 8441), for a request net/http
// (or golang.org/x/net/http2) read. The request must be a CONNECT on HTTP/2 or later
// (else 405 with Allow: CONNECT, or 505) whose :protocol is "websocket" (else 400), with an
// :authority (else 400) and Sec-WebSocket-Version 13 (else 400 with Sec-WebSocket-Version:
// 13); then the origin policy, the subprotocols and the extensions are checked and
// negotiated exactly as for HTTP/1.1 ([Accept]), with the same options.
//
// On a refusal it writes the response through w (status, headers and a short text body)
// and returns an [*Error] with its status. On success it sends the 200 response, with
// Sec-WebSocket-Protocol, Sec-WebSocket-Extensions and opts.Header, and flushes it; the
// stream is then the WebSocket connection: the client's frames arrive in r.Body and the
// server's go out through w, flushed. The Result has no Rest (nothing is read past the
// headers).
//
// RFC 8441, Section 4 requires :scheme and :path too. net/http's HTTP/2 server refuses an
// extended CONNECT without a :path, but neither checks :scheme nor passes it on, so it
// cannot be checked here; the origin policy takes the request's scheme from r.TLS, as it
// does for HTTP/1.1.
func AcceptConnect(w http.ResponseWriter, r *http.Request, opts *ServerOptions) (*Result, error) {
	o := serverOptions(opts)
	var q upgradeRequest
	var a accepted
	ferr := o.validate()
	if ferr == nil {
		ferr = q.fromHTTP(r, o)
	}
	if ferr == nil {
		a, ferr = q.checkConnect(r.Header.Get(ProtocolHeader))
	}
	if ferr == nil && o.Authorize != nil {
		ferr = authorize(r.Context(), o, Result{Subprotocol: a.subprotocol, Extensions: a.extensions, hreq: r})
	}
	if ferr != nil {
		refuseConnect(w, ferr)
		return nil, ferr
	}
	h := w.Header()
	for k, vs := range o.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if a.subprotocol != "" {
		h.Set("Sec-WebSocket-Protocol", a.subprotocol)
	}
	if len(a.extensions) > 0 {
		h.Set("Sec-WebSocket-Extensions", string(AppendExtensions(nil, a.extensions)))
	}
	// RFC 8441, Section 5: the server answers a successful extended CONNECT with a 2xx status,
	// and the stream carries the WebSocket frames from then on. The response must reach the
	// client now: it waits for it before it sends a frame.
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		return nil, wrapIO("flush response", err)
	}
	return &Result{Subprotocol: a.subprotocol, Extensions: a.extensions, hreq: r}, nil
}

// checkConnect applies RFC 8441, Sections 4 and 5 to an extended CONNECT whose :protocol is
// protocol, then the checks it shares with the HTTP/1.1 upgrade.
func (q *upgradeRequest) checkConnect(protocol string) (accepted, *Error) {
	if q.method != http.MethodConnect {
		return accepted{}, fail(http.StatusMethodNotAllowed, ErrBadMethod, "%q, not CONNECT", q.method)
	}
	if q.major < 2 {
		// RFC 8441, Section 4 defines :protocol for HTTP/2 only; an HTTP/1.1 CONNECT is a
		// proxy request.
		return accepted{}, fail(http.StatusHTTPVersionNotSupported, ErrBadHTTPVersion, "extended CONNECT over HTTP/%d.%d", q.major, q.minor)
	}
	// RFC 8441, Section 5: "The :protocol pseudo-header field MUST be included in the CONNECT
	// request, and it MUST have a value of "websocket" to initiate a WebSocket connection on an
	// HTTP/2 stream." Upgrade tokens compare case-insensitively (RFC 6455, Section 4.2.1).
	if !tokenIs(protocol, "websocket") {
		return accepted{}, fail(http.StatusBadRequest, ErrNotUpgrade, ":protocol %q", protocol)
	}
	// RFC 8441, Section 4: :authority carries the target's authority, as Host does in
	// HTTP/1.1 (net/http falls back on a Host field when it is absent).
	if q.host == "" {
		return accepted{}, fail(http.StatusBadRequest, ErrMissingHost, "no :authority")
	}
	// RFC 8441, Section 5 keeps Sec-WebSocket-Version; RFC 6455, Section 4.2.2 asks for "an
	// appropriate HTTP error code" with the versions understood. 426 would point to an
	// Upgrade, which HTTP/2 does not have (RFC 9113, Section 8.6), so the status is 400.
	if q.versions != 1 || q.version != "13" {
		return accepted{}, fail(http.StatusBadRequest, ErrBadVersion, "%s", count(q.versions, q.version))
	}
	// RFC 8441, Section 5: "Implementations using this extended CONNECT to bootstrap
	// WebSockets do not do the processing of the Sec-WebSocket-Key and Sec-WebSocket-Accept
	// header fields of [RFC6455] as that functionality has been superseded by the :protocol
	// pseudo-header field."
	if err := q.checkOrigin(); err != nil {
		return accepted{}, err
	}
	return q.agree("")
}

// refuseConnect writes the refusal for e through w as an HTTP/2 response: the fields of
// an HTTP/1.1 refusal but the connection-specific ones, which HTTP/2 forbids (RFC 9113,
// Section 8.2.2), and the Upgrade that a 426 would carry.
func refuseConnect(w http.ResponseWriter, e *Error) {
	body := refusalBody(e)
	h := w.Header()
	for _, f := range appendHeaderFields(nil, e.Header) {
		h.Add(f[0], f[1])
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	switch {
	case e.Status == http.StatusMethodNotAllowed:
		// RFC 9110, Section 15.5.6: "The origin server MUST generate an Allow header field in
		// a 405 response".
		h.Set("Allow", http.MethodConnect)
	case errors.Is(e, ErrBadVersion):
		h.Set("Sec-WebSocket-Version", "13")
	}
	w.WriteHeader(e.Status)
	_, _ = io.WriteString(w, body)
}

// NewConnectRequest returns the extended CONNECT request (RFC 8441, Sections 4 and 5) that
// opens a WebSocket to u (ws, wss, http or https) on an HTTP/2 connection, for
// golang.org/x/net/http2's Transport or ClientConn, which send the :protocol pseudo-header
// from Header[ProtocolHeader] (net/http's Transport refuses it). It carries the same
// fields as the HTTP/1.1 request of [Client] but Upgrade, Connection and
// Sec-WebSocket-Key, which RFC 8441 leaves out; body is the stream's sending side: what is
// written to it goes to the server as DATA frames. ctx governs the whole stream, not just
// the handshake: cancelling it resets the stream.
func NewConnectRequest(ctx context.Context, u *url.URL, body io.Reader, opts *ClientOptions) (*http.Request, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	req, _, err := newClientRequest(u, &o)
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Del("Upgrade")
	h.Del("Connection")
	h.Del("Sec-WebSocket-Key")
	h.Set(ProtocolHeader, "websocket")
	// RFC 8441, Section 5: "The scheme of the target URI ... MUST be "https" for
	// "wss"-schemed WebSockets and "http" for "ws"-schemed WebSockets."
	scheme := "https"
	if s := strings.ToLower(u.Scheme); s == "ws" || s == "http" {
		scheme = "http"
	}
	target := &url.URL{Scheme: scheme, Host: req.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	hr, err := http.NewRequestWithContext(ctx, http.MethodConnect, target.String(), body)
	if err != nil {
		return nil, wrapIO("connect request", err)
	}
	hr.Header = h
	hr.Host = req.Host
	// The body is a stream of unknown length, not a message.
	hr.ContentLength = -1
	return hr, nil
}

// CheckConnectResponse validates the server's response to a request from
// [NewConnectRequest] made with the same options: a 2xx status (RFC 8441, Section 5; else an
// [*Error] wrapping [ErrBadStatus] with the status), a subprotocol the client offered or
// none, and only extensions it offered, with permessage-deflate parameters its offer
// allows (RFC 7692, Section 7). It does not read or close resp.Body, the stream.
func CheckConnectResponse(resp *http.Response, opts *ClientOptions) (*Result, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	res := &Result{Response: &Response{
		ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		StatusCode: resp.StatusCode, Reason: http.StatusText(resp.StatusCode), Header: resp.Header,
	}}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, fail(resp.StatusCode, ErrBadStatus, "%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if err := checkAgreed(res, resp.StatusCode, resp.Header, &o); err != nil {
		return res, err
	}
	return res, nil
}
