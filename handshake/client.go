package handshake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"duplex/internal/deadline"
)

// ClientOptions configure [Client]. A nil *ClientOptions means the zero value. Client only
// reads the options, so one value may serve many handshakes at once.
type ClientOptions struct {
	// Origin, if set, is sent as the Origin header, as a browser would.
	Origin string
	// Subprotocols are offered in Sec-WebSocket-Protocol, most preferred first.
	Subprotocols []string
	// Extensions are offered in Sec-WebSocket-Extensions, in order.
	Extensions []Extension
	// Header holds extra request header fields. Fields the handshake writes itself (Host,
	// Upgrade, Connection, Origin and the Sec-WebSocket-* fields) are refused with
	// [ErrInvalidOptions]: set them through the other options.
	Header http.Header
	// Limits bound the response head.
	Limits Limits
	// Timeout bounds the handshake: writing the request and reading the response. Zero
	// means the context's deadline when it has one and [DefaultClientTimeout] otherwise, so
	// that a server that accepts the connection and never answers cannot hold the client
	// for ever; a negative value leaves the bound to the context alone; a positive one
	// applies with the context's deadline, whichever comes first.
	Timeout time.Duration
}

// DefaultClientTimeout bounds a client handshake when [ClientOptions.Timeout] is zero and
// the context has no deadline: long enough for a slow link, a proxy and a TLS handshake
// (which conn.Dial bounds with it too).
const DefaultClientTimeout = 30 * time.Second

// clientOwnHeaders are the request fields the handshake writes itself.
var clientOwnHeaders = []string{
	"Host", "Upgrade", "Connection", "Origin", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
}

// Client performs the client side of the opening handshake (RFC 6455, Section 4.1) on the
// established connection c for the URL u, whose scheme is ws, wss, http or https (TLS, if
// any, is already on c). It writes the request in one Write and reads and validates the
// response: status 101 (else an [*Error] wrapping [ErrBadStatus] with the status, the
// reason and the start of the body), Upgrade and Connection, Sec-WebSocket-Accept, a
// subprotocol the client offered or none, and only extensions the client offered.
//
// ctx and opts.Timeout bound the handshake (see [ClientOptions.Timeout]): the deadline is
// set on c, and ctx ending interrupts the I/O; the error then wraps ctx.Err(). On success
// the deadline on c is cleared; on any error c is closed. If the error came after the response head was read (a refusal, or a
// response that fails validation), Client returns a Result too, holding only the Request
// and the Response, so the caller can see the refusal's status and headers.
func Client(ctx context.Context, c net.Conn, u *url.URL, opts *ClientOptions) (*Result, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	req, key, err := newClientRequest(u, &o)
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		c.Close()
		return nil, wrapIO("client", err)
	}
	if err := c.SetDeadline(deadline.Bound(ctx, o.Timeout, DefaultClientTimeout)); err != nil {
		c.Close()
		return nil, wrapIO("set deadline", err)
	}
	var w deadline.Watch
	w.Init(c, deadline.Both)
	w.Arm(ctx)
	res, err := exchange(c, req, key, &o)
	switch {
	case interrupted(ctx, w.Disarm(), err):
		if err == nil {
			res = nil // nothing to see: the response was fine
		}
		err = ctxErr(ctx, err)
	case err == nil:
		if err = c.SetDeadline(time.Time{}); err != nil {
			err = wrapIO("clear deadline", err)
			res = nil
		}
	}
	if err != nil {
		c.Close()
		if res != nil {
			// A refused response: its status and headers (WWW-Authenticate, Location, ...)
			// are the caller's to see. Nothing was agreed.
			res = &Result{Response: res.Response, req: res.req}
		}
		return res, err
	}
	return res, nil
}

// newClientRequest builds the request for u and returns it with its key.
func newClientRequest(u *url.URL, o *ClientOptions) (*Request, string, error) {
	if u == nil {
		return nil, "", fmt.Errorf("%w: nil URL", ErrInvalidOptions)
	}
	var defaultPort string
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		defaultPort = "80"
	case "wss", "https":
		defaultPort = "443"
	default:
		return nil, "", fmt.Errorf("%w: URL scheme %q", ErrInvalidOptions, u.Scheme)
	}
	// RFC 6455, Section 4.1: the Host field holds "the /host/ component of /uri/, optionally
	// followed by ":" and the /port/ ... if the port is not the default port".
	host := u.Host
	if port := u.Port(); port == defaultPort || port == "" {
		host = strings.TrimSuffix(strings.TrimSuffix(host, ":"+port), ":")
	}
	if host == "" || !httpguts.ValidHostHeader(host) {
		return nil, "", fmt.Errorf("%w: URL host %q", ErrInvalidOptions, u.Host)
	}
	target := u.RequestURI()
	if !validTarget(target) {
		return nil, "", fmt.Errorf("%w: URL path %q", ErrInvalidOptions, target)
	}
	if err := checkExtraHeader(o.Header, clientOwnHeaders); err != nil {
		return nil, "", err
	}
	key, err := NewClientKey()
	if err != nil {
		return nil, "", err
	}
	h := make(http.Header, len(o.Header)+7)
	for k, v := range o.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Key", key)
	h.Set("Sec-WebSocket-Version", "13")
	if o.Origin != "" {
		if !httpguts.ValidHeaderFieldValue(o.Origin) {
			return nil, "", fmt.Errorf("%w: origin %q", ErrInvalidOptions, o.Origin)
		}
		h.Set("Origin", o.Origin)
	}
	if len(o.Subprotocols) > 0 {
		for _, s := range o.Subprotocols {
			if !isToken(s) {
				return nil, "", fmt.Errorf("%w: subprotocol %q is not a token", ErrInvalidOptions, s)
			}
		}
		h.Set("Sec-WebSocket-Protocol", strings.Join(o.Subprotocols, ", "))
	}
	if len(o.Extensions) > 0 {
		if err := checkExtensions(o.Extensions); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
		h.Set("Sec-WebSocket-Extensions", string(AppendExtensions(nil, o.Extensions)))
	}
	return &Request{Method: http.MethodGet, Target: target, ProtoMajor: 1, ProtoMinor: 1, Host: host, Header: h}, key, nil
}

// checkExtensions checks that exts follow the grammar of RFC 6455, Section 9.1, where
// every name and value is a token.
func checkExtensions(exts []Extension) error {
	for _, e := range exts {
		if !isToken(e.Name) {
			return fmt.Errorf("extension name %q is not a token", e.Name)
		}
		for _, p := range e.Params {
			if !isToken(p.Name) || (p.HasValue && !isToken(p.Value)) {
				return fmt.Errorf("extension %q: parameter %q=%q is not made of tokens", e.Name, p.Name, p.Value)
			}
		}
	}
	return nil
}

// requestOrder lists the handshake's own request fields in the order and spelling of
// RFC 6455, Section 1.3, for servers that are fussier about names than HTTP allows.
var requestOrder = []string{
	"Upgrade", "Connection", "Sec-WebSocket-Key", "Origin", "Sec-WebSocket-Protocol",
	"Sec-WebSocket-Extensions", "Sec-WebSocket-Version",
}

func appendRequest(dst []byte, req *Request) []byte {
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.Target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = appendField(dst, "Host", req.Host)
	for _, name := range requestOrder {
		for _, v := range req.Header.Values(name) {
			dst = appendField(dst, name, v)
		}
	}
	dst = appendHeaderLines(dst, req.Header, requestOrder)
	return append(dst, "\r\n"...)
}

// exchange writes the request and reads and checks the response. Once a response was
// read, it returns a Result even with an error.
func exchange(c net.Conn, req *Request, key string, o *ClientOptions) (*Result, error) {
	s := getScratch()
	defer s.release()
	if _, err := c.Write(appendRequest(s.buf[:0], req)); err != nil {
		return nil, wrapIO("write request", err)
	}
	scan := newHeadScan(o.Limits, false)
	head, rest, err := receiveHead(c, s.buf, 0, &scan, "read response", nil)
	if err != nil {
		return nil, err
	}
	resp, err := parseResponse(head)
	if err != nil {
		return nil, err
	}
	res := &Result{Rest: rest, Response: resp, req: req}
	return res, checkResponse(res, key, o)
}

// bodySnippet bounds how much of a refusal's body goes into the error.
const bodySnippet = 256

// checkResponse applies RFC 6455, Section 4.1's rules for the server's response and fills
// in the subprotocol and extensions of res.
func checkResponse(res *Result, key string, o *ClientOptions) error {
	resp := res.Response
	h := resp.Header
	// RFC 6455, Section 4.1: "If the status code received from the server is not 101, the
	// client handles the response per HTTP [RFC2616] procedures."
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail(resp.StatusCode, ErrBadStatus, "%d %s%s", resp.StatusCode, resp.Reason, readSnippet(res.Rest, h))
	}
	// "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains
	// a value that is not an ASCII case-insensitive match for the value "websocket", the
	// client MUST _Fail the WebSocket Connection_."
	if !httpguts.HeaderValuesContainsToken(h.Values("Upgrade"), "websocket") {
		return fail(resp.StatusCode, ErrNotUpgrade, "Upgrade header %q", h.Values("Upgrade"))
	}
	// "If the response lacks a |Connection| header field or the |Connection| header field
	// doesn't contain a token that is an ASCII case-insensitive match for the value
	// "Upgrade", the client MUST _Fail the WebSocket Connection_."
	if !httpguts.HeaderValuesContainsToken(h.Values("Connection"), "upgrade") {
		return fail(resp.StatusCode, ErrNotUpgrade, "Connection header %q", h.Values("Connection"))
	}
	// "If the response lacks a |Sec-WebSocket-Accept| header field or the
	// |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
	// concatenation of the |Sec-WebSocket-Key| ... with the string "258EAFA5-E914-47DA-
	// 95CA-C5AB0DC85B11" but ignoring any leading and trailing whitespace, the client MUST
	// _Fail the WebSocket Connection_." The parser already trimmed the whitespace.
	if acc := h.Values("Sec-WebSocket-Accept"); len(acc) != 1 || acc[0] != AcceptKey(key) {
		return fail(resp.StatusCode, ErrBadAccept, "%q", acc)
	}
	return checkAgreed(res, resp.StatusCode, h, o)
}

// checkAgreed checks the subprotocol and the extensions a server accepted, whose response
// had the given status and header, and records them in res. The HTTP/1.1 response and the
// HTTP/2 one of RFC 8441, Section 5 share it: only the status and the key differ.
func checkAgreed(res *Result, status int, h http.Header, o *ClientOptions) error {
	// "If the response includes a |Sec-WebSocket-Protocol| header field and this header field
	// indicates the use of a subprotocol that was not present in the client's handshake ...,
	// the client MUST _Fail the WebSocket Connection_."
	if p := h.Values("Sec-WebSocket-Protocol"); len(p) > 0 {
		if len(p) != 1 || !contains(o.Subprotocols, p[0]) {
			return fail(status, ErrBadSubprotocol, "%q not offered", p)
		}
		res.Subprotocol = p[0]
	}
	// "If the response includes a |Sec-WebSocket-Extensions| header field and this header
	// field indicates the use of an extension that was not present in the client's
	// handshake ..., the client MUST _Fail the WebSocket Connection_."
	exts, err := ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return &Error{Status: status, Err: err}
	}
	for _, e := range exts {
		if !offered(o.Extensions, e.Name) {
			return fail(status, ErrBadExtension, "%q not offered", e.Name)
		}
	}
	// RFC 7692, Section 7: a permessage-deflate response that is malformed or that the offer
	// does not allow means the client "MUST _Fail the WebSocket Connection_".
	if err := checkDeflateResponses(o.Extensions, exts); err != nil {
		return &Error{Status: status, Err: err}
	}
	res.Extensions = exts
	return nil
}

// readSnippet returns ": " and the start of a refusal's body, as far as it came with the
// head (it usually does), or "" if there is none. It never waits: a server may announce a
// body and never send it.
func readSnippet(rest []byte, h http.Header) string {
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n <= 0 || h.Get("Transfer-Encoding") != "" {
		return ""
	}
	b := rest[:min(n, bodySnippet, int64(len(rest)))]
	if len(b) == 0 {
		return ""
	}
	return ": " + strconv.Quote(strings.TrimSpace(string(b)))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
