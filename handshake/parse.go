package handshake

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The parsers below read a head string: a head as it was sent, from the start line
// through the empty line that ends it, every line terminated by CRLF, possibly after
// empty lines that precede a request line. Both head readers produce one, [ReadRequest]
// over a bufio.Reader and [Accept] and [Client] over their own read buffer, so that what
// they accept is parsed by one set of rules.

// cutLine returns the first line of a head string without its CRLF, and the rest.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 1 {
		return "", "" // not a head string: never the case for the readers' output
	}
	return s[:i-1], s[i+1:]
}

// skipEmptyLines drops the empty lines before a request line (RFC 9112, Section 2.2).
func skipEmptyLines(s string) string {
	for strings.HasPrefix(s, "\r\n") {
		s = s[2:]
	}
	return s
}

// parseRequest parses a request head string into a Request. Its errors are those of
// [ReadRequest] for a head within the limits.
func parseRequest(head string) (*Request, error) {
	first, fields := cutLine(skipEmptyLines(head))
	method, target, major, minor, err := parseRequestLine(first)
	if err != nil {
		return nil, malformed(http.StatusBadRequest, "%s", err)
	}
	req := &Request{Method: method, Target: target, ProtoMajor: major, ProtoMinor: minor}
	if req.Header, err = parseFields(fields, http.StatusBadRequest); err != nil {
		return nil, err
	}
	// RFC 9112, Section 3.2: "A server MUST respond with a 400 (Bad Request) status code to
	// any HTTP/1.1 request message that lacks a Host header field and to any that contains
	// more than one Host header field line or a Host header field with an invalid field value."
	// A missing Host is left to the handshake checks, which apply to every HTTP version.
	if hosts := req.Header["Host"]; len(hosts) > 0 {
		if err := checkHost(len(hosts), hosts[0]); err != nil {
			return nil, err
		}
		req.Host = hosts[0]
		delete(req.Header, "Host")
	}
	return req, nil
}

// checkHost applies RFC 9112, Section 3.2 to the n Host lines of a request, the first of
// which has the value host.
func checkHost(n int, host string) *Error {
	if n > 1 {
		return malformed(http.StatusBadRequest, "%d Host headers", n)
	}
	if !httpguts.ValidHostHeader(host) {
		return malformed(http.StatusBadRequest, "invalid Host %q", host)
	}
	return nil
}

// parseResponse parses a response head string into a Response. Its errors are those of
// [ReadResponse] for a head within the limits.
func parseResponse(head string) (*Response, error) {
	first, fields := cutLine(head)
	resp, err := parseStatusLine(first)
	if err != nil {
		return nil, malformed(0, "%s", err)
	}
	if resp.Header, err = parseFields(fields, 0); err != nil {
		return nil, err
	}
	return resp, nil
}

// malformed is the error for a head that breaks the message syntax; status is what the
// server answers with (0 on the client side).
func malformed(status int, format string, args ...any) *Error {
	return fail(status, ErrMalformedHead, format, args...)
}

// fieldLine splits a header line into its name and its value, trimmed of surrounding
// whitespace, by the syntax of RFC 9112, Section 5.
func fieldLine(line string) (name, value string, err error) {
	// RFC 9112, Section 5.2: "A server that receives an obs-fold in a request message ...
	// MUST either reject the message by sending a 400 (Bad Request) ... or replace each
	// received obs-fold with one or more SP octets". This parser rejects.
	if line[0] == ' ' || line[0] == '\t' {
		return "", "", fmt.Errorf("obsolete line folding")
	}
	// field-name is a token (RFC 9110, Section 5.1). RFC 9112, Section 5.1: "No whitespace is
	// allowed between the field name and colon."
	i := 0
	for i < len(line) && tokenChars[line[i]] {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ':' {
		return "", "", fmt.Errorf("invalid header line %q", line)
	}
	name, value = line[:i], trimOWS(line[i+1:]) // OWS around the field value is not part of it
	if !validFieldValue(value) {
		return "", "", fmt.Errorf("invalid value for header %q", name)
	}
	return name, value, nil
}

// tokenChars marks the bytes of a token (RFC 9110, Section 5.6.2), as httpguts.IsTokenRune.
var tokenChars = func() (t [256]bool) {
	for c := range t {
		t[c] = httpguts.IsTokenRune(rune(c))
	}
	return t
}()

// equalFoldASCII reports whether s and t are equal under ASCII case folding.
func equalFoldASCII(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	if s == t { // the usual case, compared by words
		return true
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lowerASCII(t[i]) {
			return false
		}
	}
	return true
}

// tokenIs reports whether the token s equals lower, made of lower-case letters and '-',
// ASCII case-insensitively. Setting bit 5 of a token byte gives a lower-case letter or '-'
// only for that letter, in either case, or for '-'. It compares eight bytes at a time, the
// last word overlapping the one before when the length is not a multiple of eight, and
// four at a time below eight: the field names the server looks for are 4 to 24 bytes long.
func tokenIs(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	const fold8, fold4 = 0x2020202020202020, 0x20202020
	n := len(s)
	switch {
	case n >= 8:
		for i := 0; i+8 < n; i += 8 {
			if word8(s[i:])|fold8 != word8(lower[i:]) {
				return false
			}
		}
		return word8(s[n-8:])|fold8 == word8(lower[n-8:])
	case n >= 4:
		return word4(s)|fold4 == word4(lower) && word4(s[n-4:])|fold4 == word4(lower[n-4:])
	}
	for i := 0; i < n; i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// word8 and word4 read the first eight and four bytes of s as a little-endian word.
func word8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func word4(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// trimOWS trims spaces and horizontal tabs from both ends of s (RFC 9110, Section 5.6.3).
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// validFieldValue is httpguts.ValidHeaderFieldValue, which refuses the control bytes but
// HTAB (RFC 9110, Section 5.5), eight bytes at a time: handshake heads are mostly values.
func validFieldValue(v string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		del := w ^ (0x7f * ones)
		// Nonzero if a byte is below 0x20 or is 0x7f (the tests of "Bit Twiddling Hacks" for
		// a byte less than n and for a zero byte); a word with HTAB is looked at byte by byte.
		if ((w-0x20*ones)&^w|(del-ones)&^del)&highs != 0 && !httpguts.ValidHeaderFieldValue(v[i:i+8]) {
			return false
		}
	}
	return httpguts.ValidHeaderFieldValue(v[i:])
}

// parseFields parses the header lines of a head string, through the empty line that ends
// them.
func parseFields(fields string, status int) (http.Header, error) {
	n := strings.Count(fields, "\n") - 1
	hdr := make(http.Header, n)
	// One backing array for all values; each key's slice gets capacity 1 at first, so an
	// append for a repeated key copies instead of overwriting the next value.
	values := make([]string, n)
	for i := range n {
		var line string
		line, fields = cutLine(fields)
		name, value, err := fieldLine(line)
		if err != nil {
			return nil, malformed(status, "%s", err)
		}
		key := canonicalKey(name)
		values[i] = value
		if prev, ok := hdr[key]; ok {
			hdr[key] = append(prev, value)
		} else {
			hdr[key] = values[i : i+1 : i+1]
		}
	}
	return hdr, nil
}

// commonKeys are canonical header keys that canonicalKey returns without allocating.
var commonKeys = []string{
	"Host", "Upgrade", "Connection", "Origin", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Accept", "User-Agent",
	"Accept", "Accept-Encoding", "Accept-Language", "Cache-Control", "Pragma", "Cookie",
	"Authorization", "Content-Length", "Content-Type", "Date", "Server",
}

// canonicalKey returns textproto.CanonicalMIMEHeaderKey(name) for a valid field name,
// from commonKeys when it is one of them.
func canonicalKey(name string) string {
	for _, k := range commonKeys {
		if len(k) == len(name) && strings.EqualFold(k, name) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// parseRequestLine parses "method SP request-target SP HTTP-version" (RFC 9112, Section 3).
func parseRequestLine(line string) (method, target string, major, minor int, err error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return "", "", 0, 0, fmt.Errorf("request line %q", line)
	}
	if !httpguts.ValidHeaderFieldName(method) { // a method is a token, as a field name is
		return "", "", 0, 0, fmt.Errorf("method %q", method)
	}
	if !validTarget(target) {
		return "", "", 0, 0, fmt.Errorf("request target %q", target)
	}
	major, minor, ok := parseProto(proto)
	if !ok {
		return "", "", 0, 0, fmt.Errorf("HTTP version %q", proto)
	}
	return method, target, major, minor, nil
}

// validTarget accepts the visible ASCII characters a request-target is made of; it
// leaves the URI grammar to whoever routes on it.
func validTarget(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return false
		}
	}
	return true
}

// parseStatusLine parses "HTTP-version SP status-code SP [reason-phrase]" (RFC 9112,
// Section 4); like most clients it also takes a status line without the second SP.
func parseStatusLine(line string) (*Response, error) {
	proto, rest, _ := strings.Cut(line, " ")
	major, minor, ok := parseProto(proto)
	if !ok {
		return nil, fmt.Errorf("status line %q", line)
	}
	code, reason, hasReason := strings.Cut(rest, " ")
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return nil, fmt.Errorf("status code in %q", line)
	}
	if hasReason && !httpguts.ValidHeaderFieldValue(reason) {
		return nil, fmt.Errorf("reason phrase in %q", line)
	}
	status := int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	return &Response{ProtoMajor: major, ProtoMinor: minor, StatusCode: status, Reason: reason}, nil
}

// parseProto parses "HTTP/" DIGIT "." DIGIT (RFC 9112, Section 2.3).
func parseProto(p string) (major, minor int, ok bool) {
	if len(p) != len("HTTP/1.1") || !strings.HasPrefix(p, "HTTP/") || p[6] != '.' || !isDigit(p[5]) || !isDigit(p[7]) {
		return 0, 0, false
	}
	return int(p[5] - '0'), int(p[7] - '0'), true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
