package handshake

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// accepted is what a successful check decided: what the 101 response says.
type accepted struct {
	key         string // Sec-WebSocket-Key, whose accept value the response carries
	subprotocol string
	extensions  []Extension
}

// upgradeRequest is what the server's checks look at in a request head, gathered field by
// field without a header map: from the lines of a head string by [Accept], from net/http's
// header by [Upgrade]. Strings point into the head; nothing is copied.
type upgradeRequest struct {
	o            *ServerOptions
	method, host string
	hosts        int // Host lines seen; Upgrade sets host from net/http instead
	major, minor int
	tls          bool

	upgrade, connection bool // the tokens "websocket" and "upgrade" were seen
	versions, keys      int  // Sec-WebSocket-Version and Sec-WebSocket-Key lines
	version, key        string
	origins             int
	origin              string
	subprotocol         int    // 1 + index in o.Subprotocols of the best one offered; 0 for none
	badProtocol         string // the first element of Sec-WebSocket-Protocol that is no token
	badExtensions       string // the first Sec-WebSocket-Extensions value that does not parse
	offers              []Extension
}

// fieldKind names the header fields the server's checks look at.
type fieldKind uint8

const (
	otherField fieldKind = iota
	hostField
	upgradeField
	connectionField
	originField
	keyField
	versionField
	protocolField
	extensionsField
)

// kindOf returns the kind of the field called name, a token, compared ASCII
// case-insensitively. The names the checks look at all differ in length: the length picks
// the one candidate, compared once, and most other fields stop at the switch.
func kindOf(name string) fieldKind {
	switch len(name) {
	case len("host"):
		if tokenIs(name, "host") {
			return hostField
		}
	case len("origin"):
		if tokenIs(name, "origin") {
			return originField
		}
	case len("upgrade"):
		if tokenIs(name, "upgrade") {
			return upgradeField
		}
	case len("connection"):
		if tokenIs(name, "connection") {
			return connectionField
		}
	case len("sec-websocket-key"):
		if tokenIs(name, "sec-websocket-key") {
			return keyField
		}
	case len("sec-websocket-version"):
		if tokenIs(name, "sec-websocket-version") {
			return versionField
		}
	case len("sec-websocket-protocol"):
		if tokenIs(name, "sec-websocket-protocol") {
			return protocolField
		}
	case len("sec-websocket-extensions"):
		if tokenIs(name, "sec-websocket-extensions") {
			return extensionsField
		}
	}
	return otherField
}

// field takes in one header field of the request, whose name is a token compared ASCII
// case-insensitively.
func (q *upgradeRequest) field(name, value string) {
	q.take(kindOf(name), value)
}

// take takes in the value of one header field of kind k.
func (q *upgradeRequest) take(k fieldKind, value string) {
	switch k {
	case hostField:
		if q.hosts == 0 {
			q.host = value
		}
		q.hosts++
	case upgradeField:
		q.upgrade = q.upgrade || hasToken(value, "websocket")
	case connectionField:
		q.connection = q.connection || hasToken(value, "upgrade")
	case originField:
		q.origins++
		q.origin = value
	case keyField:
		q.keys++
		q.key = value
	case versionField:
		q.versions++
		q.version = value
	case protocolField:
		q.protocols(value)
	case extensionsField:
		if q.badExtensions != "" {
			return
		}
		// The offers are kept only for a hook to see; without one, the syntax is still checked,
		// but for the offers browsers send, which are known to be valid.
		collect := q.o.NegotiateExtensions != nil
		if !collect && (value == browserOffer || value == "permessage-deflate") {
			return
		}
		offers, err := parseExtensionValue(q.offers, value, collect)
		if err != nil {
			q.badExtensions = value
		}
		q.offers = offers
	}
}

// browserOffer is the Sec-WebSocket-Extensions value of Chromium's handshakes, and of most
// WebSocket clients': permessage-deflate, letting the server choose the client's window
// (RFC 7692, Section 7.1.2.2).
const browserOffer = "permessage-deflate; client_max_window_bits"

// hasToken reports whether the comma-separated list value (RFC 9110, Section 5.6.1) has
// an element equal to token, made of lower-case letters, ASCII case-insensitively;
// as httpguts.HeaderValuesContainsToken, without building the slice it takes.
func hasToken(value, token string) bool {
	// The usual value is the token alone. tokenIs compares it exactly (ASCII
	// case-insensitively) though value need not be a token: a byte that bit 5 turns into a
	// lower-case letter is that letter in either case.
	if tokenIs(value, token) {
		return true
	}
	for value != "" {
		elem, rest, _ := strings.Cut(value, ",")
		if equalFoldASCII(trimOWS(elem), token) {
			return true
		}
		value = rest
	}
	return false
}

// protocols takes in a Sec-WebSocket-Protocol value: comma-separated tokens (RFC 9110,
// Section 5.6.1), empty elements skipped. RFC 6455, Section 4.1, item 10: the elements "MUST
// be non-empty strings with characters in the range U+0021 to U+007E not including separator
// characters". The first of the server's subprotocols that the client offered is selected,
// so the server's preference order wins. Subprotocol names are compared exactly: RFC 6455,
// Section 4.1 leaves them to their registrations, which are case-sensitive.
func (q *upgradeRequest) protocols(value string) {
	for elem := range strings.SplitSeq(value, ",") {
		elem = strings.Trim(elem, " \t")
		if elem == "" || q.badProtocol != "" {
			continue
		}
		if !isToken(elem) {
			q.badProtocol = elem
			continue
		}
		for i, s := range q.o.Subprotocols {
			if s == elem && (q.subprotocol == 0 || i < q.subprotocol-1) {
				q.subprotocol = i + 1
			}
		}
	}
}

// header takes in the fields of h that the checks look at, as net/http read them.
func (q *upgradeRequest) header(h http.Header) {
	for _, name := range checkedFields {
		for _, v := range h[name] {
			q.field(name, v)
		}
	}
}

// checkedFields are the canonical keys of the fields the checks look at, but Host.
var checkedFields = []string{
	"Upgrade", "Connection", "Sec-Websocket-Version", "Sec-Websocket-Key", "Origin",
	"Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
}

// check applies the server's rules of RFC 6455, Section 4.2.1 and the options to the
// request. Accept (a head read by hand) and Upgrade (a head read by net/http) share it, so
// both refuse the same requests with the same status.
func (q *upgradeRequest) check() (accepted, *Error) {
	// RFC 6455, Section 4.2.1, item 1: "An HTTP/1.1 or higher GET request".
	if q.method != http.MethodGet {
		return accepted{}, fail(http.StatusMethodNotAllowed, ErrBadMethod, "%q", q.method)
	}
	switch {
	case q.major != 1:
		// Only HTTP/1.x can be upgraded on this path (RFC 9110, Section 15.6.6: 505 refuses a
		// major version).
		return accepted{}, fail(http.StatusHTTPVersionNotSupported, ErrBadHTTPVersion, "HTTP/%d.%d", q.major, q.minor)
	case q.minor < 1:
		return accepted{}, fail(http.StatusBadRequest, ErrBadHTTPVersion, "HTTP/%d.%d", q.major, q.minor)
	}
	// RFC 6455, Section 4.2.1, item 2: "A |Host| header field containing the server's authority."
	if q.host == "" {
		return accepted{}, fail(http.StatusBadRequest, ErrMissingHost, "")
	}
	// RFC 6455, Section 4.2.1, items 3 and 4: "An |Upgrade| header field containing the value
	// "websocket", treated as an ASCII case-insensitive value." and "A |Connection| header
	// field that includes the token "Upgrade", treated as an ASCII case-insensitive value."
	// A plain GET gets 426, which tells it what to upgrade to.
	if !q.upgrade {
		return accepted{}, fail(http.StatusUpgradeRequired, ErrNotUpgrade, "Upgrade header lacks %q", "websocket")
	}
	if !q.connection {
		return accepted{}, fail(http.StatusUpgradeRequired, ErrNotUpgrade, "Connection header lacks %q", "upgrade")
	}
	// RFC 6455, Section 4.2.2: if the version "does not match a version understood by the
	// server, the server MUST abort the WebSocket handshake ... and instead send an appropriate
	// HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field".
	// Section 11.3.5: the field "MUST NOT appear more than once in an HTTP request."
	if q.versions != 1 || q.version != "13" {
		return accepted{}, fail(http.StatusUpgradeRequired, ErrBadVersion, "%s", count(q.versions, q.version))
	}
	// RFC 6455, Section 11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than
	// once in an HTTP request."
	if q.keys != 1 || !validKey(q.key) {
		return accepted{}, fail(http.StatusBadRequest, ErrBadKey, "%s", count(q.keys, q.key))
	}
	if err := q.checkOrigin(); err != nil {
		return accepted{}, err
	}
	return q.agree(q.key)
}

// agree selects the subprotocol and the extensions, once the request is known to be an
// opening handshake from an accepted origin; key is the Sec-WebSocket-Key to answer, "" over
// HTTP/2, which has none. The HTTP/1.1 upgrade and the extended CONNECT of HTTP/2 share it:
// RFC 8441, Section 5 keeps the subprotocol and extension negotiation of RFC 6455.
func (q *upgradeRequest) agree(key string) (accepted, *Error) {
	if q.badProtocol != "" {
		return accepted{}, fail(http.StatusBadRequest, ErrBadSubprotocol, "invalid token %q", q.badProtocol)
	}
	a := accepted{key: key}
	if q.subprotocol > 0 {
		a.subprotocol = q.o.Subprotocols[q.subprotocol-1]
	}
	if q.badExtensions != "" {
		_, err := parseExtensionValue(nil, q.badExtensions, false)
		return accepted{}, &Error{Status: http.StatusBadRequest, Err: err}
	}
	var ferr *Error
	if a.extensions, ferr = negotiate(q.o, q.offers); ferr != nil {
		return accepted{}, ferr
	}
	return a, nil
}

// count describes the n values of a field that must appear once, the last being v.
func count(n int, v string) string {
	if n == 1 {
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%d values", n)
}

// checkOrigin applies the origin policy. RFC 6455, Section 4.2.2 lets a server refuse an
// origin it does not accept with "an appropriate HTTP error code (such as 403 Forbidden)";
// Section 10.2 explains why: the Origin header is what protects a server from scripts on
// other sites that a browser runs with its user's credentials.
func (q *upgradeRequest) checkOrigin() *Error {
	if q.o.InsecureSkipOriginCheck || q.origins == 0 {
		// No Origin: not a browser, which could not have been made to send the request.
		return nil
	}
	if q.origins > 1 {
		return fail(http.StatusForbidden, ErrOriginRefused, "%d Origin headers", q.origins)
	}
	scheme, host, ok := parseOrigin(q.origin)
	if !ok {
		// Includes the opaque origin "null" of sandboxed documents and file: pages.
		return fail(http.StatusForbidden, ErrOriginRefused, "%q", q.origin)
	}
	if sameHost(host, q.host) && sameScheme(scheme, q.tls) {
		return nil
	}
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	for _, p := range q.o.OriginPatterns {
		if ok, err := originMatch(p, scheme, host); err != nil {
			return fail(http.StatusInternalServerError, ErrInvalidOptions, "origin pattern %q: %v", p, err)
		} else if ok {
			return nil
		}
	}
	return fail(http.StatusForbidden, ErrOriginRefused, "%q does not match host %q", q.origin, q.host)
}

// parseOrigin returns the scheme and the host[:port] of an origin, as url.Parse reads them,
// and false for an origin without a host. The usual form, scheme://host[:port] with a
// plain host name or address, is read without url.Parse and its allocations.
func parseOrigin(origin string) (scheme, host string, ok bool) {
	if scheme, host, ok = simpleOrigin(origin); ok {
		return scheme, host, true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", "", false
	}
	return u.Scheme, u.Host, true
}

// simpleOrigin splits an origin of the form scheme "://" name [":" port], where the scheme
// follows RFC 3986, Section 3.1, name is made of letters, digits, '-' and '.', and port of
// one or more digits: a form that url.Parse reads as that scheme and that host, whatever
// the Go version. It reports false for any other form.
func simpleOrigin(origin string) (scheme, host string, ok bool) {
	// The scheme's bytes, then "://": what precedes the first "://" is a scheme if and only
	// if the scan stops there.
	i := 0
	for i < len(origin) && (isAlpha(origin[i]) || i > 0 && (isDigit(origin[i]) || origin[i] == '+' || origin[i] == '-' || origin[i] == '.')) {
		i++
	}
	if i == 0 || !strings.HasPrefix(origin[i:], "://") || len(origin) == i+3 {
		return "", "", false
	}
	scheme, host = origin[:i], origin[i+3:]
	name, port, hasPort := strings.Cut(host, ":")
	if name == "" || (hasPort && port == "") {
		return "", "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return "", "", false
		}
	}
	for i := 0; i < len(port); i++ {
		if !isDigit(port[i]) {
			return "", "", false
		}
	}
	return scheme, host, true
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// sameScheme reports whether a page of the origin's scheme may be the server's own. Over
// TLS only an https page is: a page served over plain http could have been altered on
// the way, so it must not reach a wss:// endpoint with the user's cookies. Over plain
// HTTP an https page is the server's own behind a proxy that ends TLS, and browsers
// refuse ws:// from https pages anyway.
func sameScheme(scheme string, tls bool) bool {
	if tls {
		return tokenIs(scheme, "https")
	}
	return tokenIs(scheme, "http") || tokenIs(scheme, "https")
}

// sameHost reports whether the host of an origin is the request's Host, compared in lower
// case; Host holds only ASCII (httpguts.ValidHostHeader).
func sameHost(origin, host string) bool {
	for i := 0; i < len(origin); i++ {
		if origin[i] >= 0x80 {
			return strings.ToLower(origin) == strings.ToLower(host)
		}
	}
	return equalFoldASCII(origin, host)
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
