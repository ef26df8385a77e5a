package handshake

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The in-place parser of Accept must accept exactly what ReadRequest accepts and decide
// what the checks decided over ReadRequest's header map. This file holds that reference,
// written over the map as the checks were before Accept parsed in place, and compares the
// two on the same bytes, fed whole and in small reads.

// verdict is what a server decided about a request: the refusal's status and cause, or
// what the 101 response says.
type verdict struct {
	status      int   // 0 for an I/O error
	cause       error // the first of causes that the error matches
	key         string
	subprotocol string
	offers      []Extension // what the hook saw
	extensions  []Extension
}

var errHookRefuses = errors.New("hook refuses")

// causes are the errors a verdict tells apart.
var causes = []error{
	ErrMalformedHead, ErrHeadTooLarge, ErrBadMethod, ErrBadHTTPVersion, ErrMissingHost,
	ErrNotUpgrade, ErrBadVersion, ErrBadKey, ErrOriginRefused, ErrBadSubprotocol,
	ErrBadExtension, ErrInvalidOptions, errHookRefuses, io.ErrUnexpectedEOF, io.EOF,
}

func refused(err error) verdict {
	v := verdict{}
	var he *Error
	if errors.As(err, &he) {
		v.status = he.Status
	}
	for _, c := range causes {
		if errors.Is(err, c) {
			v.cause = c
			break
		}
	}
	return v
}

// diffOptions are server options that exercise every check; the hook records its offers
// in *seen, accepts the first and refuses an offer named x-refuse.
func diffOptions(seen *[]Extension) *ServerOptions {
	return &ServerOptions{
		Subprotocols:   []string{"chat", "superchat"},
		OriginPatterns: []string{"*.example.com", "https://app.test:*"},
		NegotiateExtensions: func(offers []Extension) ([]Extension, error) {
			*seen = offers
			if offers[0].Name == "x-refuse" {
				return nil, errHookRefuses
			}
			return offers[:1], nil
		},
	}
}

// referenceCheck applies the server's rules to a request ReadRequest read, over its header
// map, with url.Parse for the origin.
func referenceCheck(req *Request, o *ServerOptions) verdict {
	h := req.Header
	no := func(err *Error) verdict { return refused(err) }
	switch {
	case req.Method != http.MethodGet:
		return no(fail(405, ErrBadMethod, ""))
	case req.ProtoMajor != 1:
		return no(fail(505, ErrBadHTTPVersion, ""))
	case req.ProtoMinor < 1:
		return no(fail(400, ErrBadHTTPVersion, ""))
	case req.Host == "":
		return no(fail(400, ErrMissingHost, ""))
	case !httpguts.HeaderValuesContainsToken(h.Values("Upgrade"), "websocket"),
		!httpguts.HeaderValuesContainsToken(h.Values("Connection"), "upgrade"):
		return no(fail(426, ErrNotUpgrade, ""))
	case len(h.Values("Sec-WebSocket-Version")) != 1 || h.Get("Sec-WebSocket-Version") != "13":
		return no(fail(426, ErrBadVersion, ""))
	case len(h.Values("Sec-WebSocket-Key")) != 1 || !decodesTo16(h.Get("Sec-WebSocket-Key")):
		return no(fail(400, ErrBadKey, ""))
	}
	if origins := h.Values("Origin"); !o.InsecureSkipOriginCheck && len(origins) > 0 {
		u, err := url.Parse(origins[0])
		if len(origins) > 1 || err != nil || u.Host == "" {
			return no(fail(403, ErrOriginRefused, ""))
		}
		scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		ok := host == strings.ToLower(req.Host) && sameScheme(scheme, req.TLS)
		for _, p := range o.OriginPatterns {
			m, _ := originMatch(p, scheme, host)
			ok = ok || m
		}
		if !ok {
			return no(fail(403, ErrOriginRefused, ""))
		}
	}
	v := verdict{key: h.Get("Sec-WebSocket-Key")}
	var offered []string
	for _, value := range h.Values("Sec-WebSocket-Protocol") {
		for elem := range strings.SplitSeq(value, ",") {
			if elem = strings.Trim(elem, " \t"); elem == "" {
				continue
			}
			if !isToken(elem) {
				return no(fail(400, ErrBadSubprotocol, ""))
			}
			offered = append(offered, elem)
		}
	}
	for _, s := range o.Subprotocols {
		if v.subprotocol == "" && contains(offered, s) {
			v.subprotocol = s
		}
	}
	offers, err := ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return no(&Error{Status: 400, Err: err})
	}
	if len(offers) > 0 && o.NegotiateExtensions != nil {
		exts, err := o.NegotiateExtensions(offers)
		if err != nil {
			return no(fail(400, ErrBadExtension, "%w", err))
		}
		v.offers, v.extensions = offers, exts
	}
	return v
}

// replayConn is a net.Conn that reads from r and records what is written.
type replayConn struct {
	r       io.Reader
	written bytes.Buffer
}

func (c *replayConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *replayConn) Write(b []byte) (int, error)      { return c.written.Write(b) }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// readers are the ways the comparison feeds the bytes.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

// compareAccept runs Accept and the reference on data and fails t where they differ: in
// the verdict, the offers the hook saw, the 101 response, the bytes after the head and
// the Request.
func compareAccept(t *testing.T, data []byte, lim Limits, wrap func(io.Reader) io.Reader) {
	t.Helper()
	var refSeen, fastSeen, mapSeen []Extension
	br := bufio.NewReaderSize(wrap(bytes.NewReader(data)), 16)
	req, err := ReadRequest(br, lim)
	var want verdict
	if err != nil {
		want = refused(err)
	} else {
		want = referenceCheck(req, diffOptions(&refSeen))
	}

	c := &replayConn{r: wrap(bytes.NewReader(data))}
	o := diffOptions(&fastSeen)
	o.Limits = lim
	res, err := Accept(t.Context(), c, o)
	var got verdict
	if err != nil {
		got = refused(err)
	} else {
		got = verdict{key: want.key, subprotocol: res.Subprotocol, offers: fastSeen, extensions: res.Extensions}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nAccept    %+v (%v)\nreference %+v", data, got, err, want)
	}
	if req == nil {
		return
	}

	// What Upgrade decides over the same header map.
	q := upgradeRequest{o: diffOptions(&mapSeen), method: req.Method, major: req.ProtoMajor, minor: req.ProtoMinor, host: req.Host}
	q.header(req.Header)
	a, ferr := q.check()
	byMap := verdict{key: a.key, subprotocol: a.subprotocol, offers: mapSeen, extensions: a.extensions}
	if ferr != nil {
		byMap = refused(ferr)
	}
	if !reflect.DeepEqual(byMap, want) {
		t.Fatalf("%q:\nheader map %+v\nreference  %+v", data, byMap, want)
	}
	if res == nil {
		return
	}

	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + AcceptKey(want.key) + "\r\n"
	if want.subprotocol != "" {
		resp += "Sec-WebSocket-Protocol: " + want.subprotocol + "\r\n"
	}
	if len(want.extensions) > 0 {
		resp += "Sec-WebSocket-Extensions: " + want.extensions[0].String() + "\r\n"
	}
	if resp += "\r\n"; c.written.String() != resp {
		t.Fatalf("%q: wrote %q, want %q", data, c.written.String(), resp)
	}
	after, _ := io.ReadAll(br)
	unread, _ := io.ReadAll(c.r)
	if got := append(bytes.Clone(res.Rest), unread...); !bytes.Equal(got, after) {
		t.Fatalf("%q: Rest %q then %q, want %q", data, res.Rest, unread, after)
	}
	if res.Rest != nil && len(res.Rest) == 0 {
		t.Fatalf("%q: Rest is empty but not nil", data)
	}
	if r := res.Request(); !reflect.DeepEqual(r, req) {
		t.Fatalf("%q: Request() %+v, ReadRequest %+v", data, r, req)
	}
	checkRequestHeader(t, res, req)
}

// diffHead builds a head from a request line and header lines.
func diffHead(line string, fields ...string) string {
	return line + "\r\n" + strings.Join(append(fields, "", ""), "\r\n")
}

var diffFields = []string{
	"Host: example.com", "Upgrade: websocket", "Connection: Upgrade",
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
}

func with(extra ...string) []string { return append(append([]string(nil), diffFields...), extra...) }

var diffCases = []struct {
	name string
	raw  string
	lim  Limits
}{
	{name: "4.2.1/minimal", raw: diffHead("GET /chat HTTP/1.1", diffFields...)},
	{name: "4.2.1/browser", raw: diffHead("GET /chat?room=1 HTTP/1.1", with(
		"Origin: http://example.com", "User-Agent: Mozilla/5.0", "Accept-Encoding: gzip, deflate, br",
		"Accept-Language: en-US,en;q=0.9", "Cookie: a=b; c=d", "Pragma: no-cache",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")...)},
	{name: "4.2.1/first-frame-after-head", raw: diffHead("GET / HTTP/1.1", diffFields...) + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"},
	{name: "4.2.1/lower-case-names", raw: diffHead("GET / HTTP/1.1", "host: h", "upgrade: WebSocket",
		"connection: keep-alive, UPGRADE", "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version: 13")},
	{name: "4.2.1/post", raw: diffHead("POST / HTTP/1.1", diffFields...)},
	{name: "4.2.1/http-1.0", raw: diffHead("GET / HTTP/1.0", diffFields...)},
	{name: "4.2.1/http-2.0", raw: diffHead("GET / HTTP/2.0", diffFields...)},
	{name: "4.2.1/no-host", raw: diffHead("GET / HTTP/1.1", diffFields[1:]...)},
	{name: "4.2.1/upgrade-over-lines", raw: diffHead("GET / HTTP/1.1", with("Upgrade: h2c", "Connection: x")...)},
	{name: "4.2.1/no-upgrade", raw: diffHead("GET / HTTP/1.1", "Host: h", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13")},
	{name: "4.2.2/version-twice", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Version: 13")...)},
	{name: "11.3.1/key-twice", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")...)},
	{name: "4.2.1/key-ows", raw: diffHead("GET / HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: upgrade", "Sec-WebSocket-Key: \t dGhlIHNhbXBsZSBub25jZQ== ", "Sec-WebSocket-Version: 13")},
	{name: "10.2/same-origin-case", raw: diffHead("GET / HTTP/1.1", with("Origin: HTTPS://EXAMPLE.com")...)},
	{name: "10.2/cross-origin", raw: diffHead("GET / HTTP/1.1", with("Origin: https://evil.test")...)},
	{name: "10.2/pattern", raw: diffHead("GET / HTTP/1.1", with("Origin: http://chat.Example.com")...)},
	{name: "10.2/pattern-with-scheme", raw: diffHead("GET / HTTP/1.1", with("Origin: https://app.test:8443")...)},
	{name: "10.2/null", raw: diffHead("GET / HTTP/1.1", with("Origin: null")...)},
	{name: "10.2/two-origins", raw: diffHead("GET / HTTP/1.1", with("Origin: http://example.com", "Origin: http://example.com")...)},
	{name: "10.2/origin-with-path", raw: diffHead("GET / HTTP/1.1", with("Origin: http://example.com/")...)},
	{name: "10.2/origin-userinfo", raw: diffHead("GET / HTTP/1.1", with("Origin: http://u@example.com")...)},
	{name: "10.2/origin-scheme-digit", raw: diffHead("GET / HTTP/1.1", with("Origin: 1x://a.example.com")...)},
	{name: "10.2/origin-empty-port", raw: diffHead("GET / HTTP/1.1", with("Origin: http://example.com:")...)},
	{name: "10.2/origin-kelvin", raw: diffHead("GET / HTTP/1.1", "Host: keep.example", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Origin: http://\u212aeep.example")},
	{name: "4.1/subprotocols", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Protocol: x, superchat", "Sec-WebSocket-Protocol: ,chat,")...)},
	{name: "4.1/subprotocol-not-token", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Protocol: chat, a/b")...)},
	{name: "9.1/extensions-over-lines", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Extensions: x-a; p=\"1\"", "Sec-WebSocket-Extensions: x-b, x-c")...)},
	{name: "9.1/extensions-malformed", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Extensions: x-a", "Sec-WebSocket-Extensions: foo;;")...)},
	{name: "9.1/hook-refuses", raw: diffHead("GET / HTTP/1.1", with("Sec-WebSocket-Extensions: x-refuse")...)},
	{name: "rfc9112-2.2/leading-empty-lines", raw: "\r\n\r\n" + diffHead("GET / HTTP/1.1", diffFields...)},
	{name: "rfc9112-2.2/bare-lf", raw: "GET / HTTP/1.1\r\nHost: h\n\r\n"},
	{name: "rfc9112-2.2/bare-lf-first", raw: "\n"},
	{name: "rfc9112-2.2/bare-lf-line-at-end", raw: "GET / HTTP/1.1\r\n\n"},
	{name: "rfc9112-2.2/bare-lf-at-end", raw: "GET / HTTP/1.1\r\nA: b\n"},
	{name: "rfc9112-2.2/ctl-at-end", raw: "GET / HTTP/1.1\r\nA: b\x01"},
	{name: "rfc9112-2.2/cr-at-end", raw: "GET / HTTP/1.1\r\nA: b\r"},
	{name: "rfc9112-2.2/cr-then-junk", raw: "GET / HTTP/1.1\r\n\rA: b\r\n\r\n"},
	{name: "rfc9112-2.2/bare-cr", raw: diffHead("GET / HTTP/1.1", with("X: a\rb")...)},
	{name: "rfc9112-3/request-line", raw: diffHead("GET  / HTTP/1.1", diffFields...)},
	{name: "rfc9112-3/empty-target", raw: diffHead("GET  HTTP/1.1", diffFields...)},
	{name: "rfc9112-3/space-in-target", raw: diffHead("GET /a b HTTP/1.1", diffFields...)},
	{name: "rfc9112-3/del-in-target", raw: diffHead("GET /\x7f HTTP/1.1", diffFields...)},
	{name: "rfc9112-3/lower-case-version", raw: diffHead("GET / http/1.1", diffFields...)},
	{name: "rfc9112-3/version-1.10", raw: diffHead("GET / HTTP/1.10", diffFields...)},
	{name: "rfc9112-3/get-lower-case", raw: diffHead("get / HTTP/1.1", diffFields...)},
	{name: "rfc9112-3.2/two-hosts", raw: diffHead("GET / HTTP/1.1", with("Host: example.com")...)},
	{name: "rfc9112-3.2/bad-host", raw: diffHead("GET / HTTP/1.1", "Host: a b", "Upgrade: websocket")},
	{name: "rfc9112-5.1/space-before-colon", raw: diffHead("GET / HTTP/1.1", with("X : b")...)},
	{name: "rfc9112-5.2/obs-fold", raw: diffHead("GET / HTTP/1.1", with("X: a", " b")...)},
	{name: "rfc9110-5.5/del-in-value", raw: diffHead("GET / HTTP/1.1", with("X: a\x7fb")...)},
	{name: "rfc9110-5.5/tab-in-value", raw: diffHead("GET / HTTP/1.1", with("X: a\tb\t\tc d e f g h")...)},
	{name: "rfc9110-5.5/obs-text", raw: diffHead("GET / HTTP/1.1", with("X: caf\xc3\xa9")...)},
	{name: "io/cut", raw: "GET / HTTP/1.1\r\nHost: h\r\n"},
	{name: "io/empty", raw: ""},
	{name: "io/cut-in-line", raw: "GET / HT"},
	{name: "limits/bytes", raw: diffHead("GET / HTTP/1.1", with("X: "+strings.Repeat("v", 100))...), lim: Limits{MaxHeadBytes: 150}},
	{name: "limits/bytes-exact", raw: diffHead("GET / HTTP/1.1", diffFields...), lim: Limits{MaxHeadBytes: len(diffHead("GET / HTTP/1.1", diffFields...))}},
	{name: "limits/bytes-unterminated", raw: "GET /" + strings.Repeat("p", 200), lim: Limits{MaxHeadBytes: 64}},
	{name: "limits/malformed-then-too-large", raw: diffHead("GET / HTTP/1.1", "X : y", "Z: "+strings.Repeat("v", 100)), lim: Limits{MaxHeadBytes: 64}},
	{name: "limits/too-large-then-bare-lf", raw: "GET / HTTP/1.1\r\nX: " + strings.Repeat("v", 100) + "\n\r\n", lim: Limits{MaxHeadBytes: 64}},
	{name: "limits/lines", raw: diffHead("GET / HTTP/1.1", with("A: 1", "B: 2")...), lim: Limits{MaxHeaders: 6}},
	{name: "limits/lines-exact", raw: diffHead("GET / HTTP/1.1", with("A: 1")...), lim: Limits{MaxHeaders: 6}},
	{name: "limits/default-8k", raw: diffHead("GET / HTTP/1.1", with("Cookie: "+strings.Repeat("c", 9000))...)},
	{name: "limits/head-over-buffer", raw: diffHead("GET / HTTP/1.1", with("Cookie: "+strings.Repeat("c", 6000))...)},
}

func TestAcceptMatchesReadRequest(t *testing.T) {
	for _, tt := range diffCases {
		for _, r := range readers {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				compareAccept(t, []byte(tt.raw), tt.lim, r.wrap)
			})
		}
	}
}

// FuzzAcceptMatchesReadRequest compares Accept with ReadRequest and the reference checks
// on any bytes, under small limits and the default ones.
func FuzzAcceptMatchesReadRequest(f *testing.F) {
	for _, tt := range diffCases {
		f.Add([]byte(tt.raw), uint16(tt.lim.MaxHeadBytes), uint8(tt.lim.MaxHeaders))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxBytes uint16, maxHeaders uint8) {
		lim := Limits{MaxHeadBytes: int(maxBytes), MaxHeaders: int(maxHeaders)}
		for _, r := range readers {
			compareAccept(t, data, lim, r.wrap)
		}
	})
}

// decodesTo16 is the rule validKey applies without decoding (RFC 6455, Section 4.2.1, item
// 5), by decoding.
func decodesTo16(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// TestValidKeyDecodes holds validKey to decodesTo16 on the RFC's key with every byte
// replaced by every value, and on keys of other lengths.
func TestValidKeyDecodes(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	keys := []string{"", key[:23], key + "=", key[:20] + "AA==", key[:22] + "A=", "AAAAAAAAAAAAAAAAAAAAAAAA"}
	for i := range len(key) {
		for c := range 256 {
			keys = append(keys, key[:i]+string([]byte{byte(c)})+key[i+1:])
		}
	}
	for _, k := range keys {
		if got, want := validKey(k), decodesTo16(k); got != want {
			t.Errorf("validKey(%q) = %v, want %v", k, got, want)
		}
	}
}

// checkRequestHeader holds res.RequestHeader and res.RequestTarget to req, what ReadRequest
// made of the same head: each field, its name in lower case, Host, a field the head does
// not have, and the target.
func checkRequestHeader(t *testing.T, res *Result, req *Request) {
	t.Helper()
	for k := range req.Header {
		if got := res.RequestHeader(strings.ToLower(k)); got != req.Header.Get(k) {
			t.Fatalf("RequestHeader(%q) = %q, want %q", strings.ToLower(k), got, req.Header.Get(k))
		}
	}
	if got := res.RequestHeader("HOST"); got != req.Host {
		t.Fatalf("RequestHeader(HOST) = %q, want %q", got, req.Host)
	}
	if _, ok := req.Header["X-Not-Sent"]; !ok && res.RequestHeader("X-Not-Sent") != "" {
		t.Fatalf("RequestHeader(X-Not-Sent) = %q", res.RequestHeader("X-Not-Sent"))
	}
	if got := res.RequestTarget(); got != req.Target {
		t.Fatalf("RequestTarget() = %q, want %q", got, req.Target)
	}
}
