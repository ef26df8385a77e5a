package handshake

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// accepted is what a successful check decided: what the 101 response says.
type accepted struct {
	accept      string // Sec-WebSocket-Accept
	subprotocol string
	extensions  []Extension
}

// checkRequest applies the server's rules of RFC 6455, Section 4.2.1 and the options to a
// request head. It is shared by Accept (a head read by hand) and Upgrade (a head read by
// net/http), so both refuse the same requests with the same status.
func checkRequest(req *Request, o *ServerOptions) (*accepted, *Error) {
	h := req.Header
	// RFC 6455, Section 4.2.1, item 1: "An HTTP/1.1 or higher GET request".
	if req.Method != http.MethodGet {
		return nil, fail(http.StatusMethodNotAllowed, ErrBadMethod, "%q", req.Method)
	}
	switch {
	case req.ProtoMajor != 1:
		// Only HTTP/1.x can be upgraded on this path (RFC 9110, Section 15.6.6: 505 refuses a
		// major version).
		return nil, fail(http.StatusHTTPVersionNotSupported, ErrBadHTTPVersion, "HTTP/%d.%d", req.ProtoMajor, req.ProtoMinor)
	case req.ProtoMinor < 1:
		return nil, fail(http.StatusBadRequest, ErrBadHTTPVersion, "HTTP/%d.%d", req.ProtoMajor, req.ProtoMinor)
	}
	// RFC 6455, Section 4.2.1, item 2: "A |Host| header field containing the server's authority."
	if req.Host == "" {
		return nil, fail(http.StatusBadRequest, ErrMissingHost, "")
	}
	// RFC 6455, Section 4.2.1, items 3 and 4: "An |Upgrade| header field containing the value
	// "websocket", treated as an ASCII case-insensitive value." and "A |Connection| header
	// field that includes the token "Upgrade", treated as an ASCII case-insensitive value."
	// A plain GET gets 426, which tells it what to upgrade to.
	if !httpguts.HeaderValuesContainsToken(h.Values("Upgrade"), "websocket") {
		return nil, fail(http.StatusUpgradeRequired, ErrNotUpgrade, "Upgrade header lacks %q", "websocket")
	}
	if !httpguts.HeaderValuesContainsToken(h.Values("Connection"), "upgrade") {
		return nil, fail(http.StatusUpgradeRequired, ErrNotUpgrade, "Connection header lacks %q", "upgrade")
	}
	// RFC 6455, Section 4.2.2: if the version "does not match a version understood by the
	// server, the server MUST abort the WebSocket handshake ... and instead send an appropriate
	// HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field".
	// Section 11.3.5: the field "MUST NOT appear more than once in an HTTP request."
	if v := h.Values("Sec-WebSocket-Version"); len(v) != 1 || v[0] != "13" {
		return nil, fail(http.StatusUpgradeRequired, ErrBadVersion, "%q", v)
	}
	// RFC 6455, Section 11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than
	// once in an HTTP request."
	key := h.Values("Sec-WebSocket-Key")
	if len(key) != 1 || !validKey(key[0]) {
		return nil, fail(http.StatusBadRequest, ErrBadKey, "%q", key)
	}
	if err := checkOrigin(req, o); err != nil {
		return nil, err
	}
	a := &accepted{accept: AcceptKey(key[0])}
	offered, err := parseTokenList(h.Values("Sec-WebSocket-Protocol"))
	if err != nil {
		return nil, fail(http.StatusBadRequest, ErrBadSubprotocol, "%v", err)
	}
	a.subprotocol = selectSubprotocol(o.Subprotocols, offered)
	offers, err := ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Err: err}
	}
	var ferr *Error
	if a.extensions, ferr = negotiate(o, offers); ferr != nil {
		return nil, ferr
	}
	return a, nil
}

// checkOrigin applies the origin policy. RFC 6455, Section 4.2.2 lets a server refuse an
// origin it does not accept with "an appropriate HTTP error code (such as 403 Forbidden)";
// Section 10.2 explains why: the Origin header is what protects a server from scripts on
// other sites that a browser runs with its user's credentials.
func checkOrigin(req *Request, o *ServerOptions) *Error {
	origins := req.Header.Values("Origin")
	if o.InsecureSkipOriginCheck || len(origins) == 0 {
		// No Origin: not a browser, which could not have been made to send the request.
		return nil
	}
	if len(origins) > 1 {
		return fail(http.StatusForbidden, ErrOriginRefused, "%d Origin headers", len(origins))
	}
	u, err := url.Parse(origins[0])
	if err != nil || u.Host == "" {
		// Includes the opaque origin "null" of sandboxed documents and file: pages.
		return fail(http.StatusForbidden, ErrOriginRefused, "%q", origins[0])
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if host == strings.ToLower(req.Host) && sameScheme(scheme, req.TLS) {
		return nil
	}
	for _, p := range o.OriginPatterns {
		if ok, err := originMatch(p, scheme, host); err != nil {
			return fail(http.StatusInternalServerError, ErrInvalidOptions, "origin pattern %q: %v", p, err)
		} else if ok {
			return nil
		}
	}
	return fail(http.StatusForbidden, ErrOriginRefused, "%q does not match host %q", origins[0], req.Host)
}

// sameScheme reports whether a page of the origin's scheme may be the server's own. Over
// TLS only an https page is: a page served over plain http could have been altered on
// the way, so it must not reach a wss:// endpoint with the user's cookies. Over plain
// HTTP an https page is the server's own behind a proxy that ends TLS, and browsers
// refuse ws:// from https pages anyway.
func sameScheme(scheme string, tls bool) bool {
	if tls {
		return scheme == "https"
	}
	return scheme == "http" || scheme == "https"
}

// originMatch matches an origin pattern case-insensitively: a pattern with a scheme
// ("https://*.example.com") matches scheme and host, a pattern without one the host alone.
func originMatch(pattern, scheme, host string) (bool, error) {
	pattern = strings.ToLower(pattern)
	if ps, ph, ok := strings.Cut(pattern, "://"); ok {
		if ps != scheme {
			_, err := path.Match(ph, "") // still report a malformed pattern
			return false, err
		}
		pattern = ph
	}
	return path.Match(pattern, host)
}

// selectSubprotocol returns the first of the server's subprotocols that the client offered,
// so the server's preference order wins; "" if none. Subprotocol names are compared
// exactly: RFC 6455, Section 4.1 leaves them to their registrations, which are case-sensitive.
func selectSubprotocol(server, offered []string) string {
	for _, s := range server {
		for _, c := range offered {
			if s == c {
				return s
			}
		}
	}
	return ""
}

// negotiate runs the extension hook and checks that it accepted only offered extensions.
func negotiate(o *ServerOptions, offers []Extension) ([]Extension, *Error) {
	if o.NegotiateExtensions == nil || len(offers) == 0 {
		return nil, nil
	}
	exts, err := o.NegotiateExtensions(offers)
	if err != nil {
		return nil, fail(http.StatusBadRequest, ErrBadExtension, "%w", err)
	}
	for _, e := range exts {
		if !offered(offers, e.Name) {
			// The client would fail the connection (RFC 6455, Section 4.1, item 5): a server bug.
			return nil, fail(http.StatusInternalServerError, ErrInvalidOptions, "extension %q accepted but not offered", e.Name)
		}
	}
	return exts, nil
}

func offered(offers []Extension, name string) bool {
	for _, e := range offers {
		if strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

// parseTokenList parses comma-separated tokens over all values (RFC 9110, Section 5.6.1),
// skipping empty elements. RFC 6455, Section 4.1, item 10: the elements "MUST be non-empty
// strings with characters in the range U+0021 to U+007E not including separator characters".
func parseTokenList(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			elem = strings.Trim(elem, " \t")
			if elem == "" {
				continue
			}
			if !isToken(elem) {
				return nil, fmt.Errorf("invalid token %q", elem)
			}
			out = append(out, elem)
		}
	}
	return out, nil
}
