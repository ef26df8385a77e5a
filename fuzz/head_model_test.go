package fuzz_test

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// A reference reading of an HTTP/1.1 head (RFC 9112, Sections 2 to 5, and
// RFC 9110, Section 5), with the choices package handshake documents:
// CRLF only, no obsolete line folding, at most one Host.

// refHead is a head read by the reference.
type refHead struct {
	start  string // the start line
	fields [][2]string
	size   int // bytes through the empty line, leading empty lines included
}

// headVerdict says which outcomes the rules allow for a byte string.
type headVerdict struct {
	ok        bool // the head is complete, well formed and within the limits
	head      refHead
	malformed bool // a line of the head breaks the syntax
	tooLarge  bool // the head, or the part of it read, exceeds the limits
	eof       bool // the stream ends before the head does
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isFieldValue: field-value = *field-content, with VCHAR, obs-text, SP and
// HTAB, no other control (RFC 9110, Section 5.5), surrounding OWS removed.
func isFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7F {
			return false
		}
	}
	return s == strings.Trim(s, " \t")
}

// refReadHead splits b into the lines of a head and judges the lines'
// framing, the limits and the field lines; the start line is judged by
// the caller.
func refReadHead(b []byte, request bool, maxBytes, maxFields int) headVerdict {
	var v headVerdict
	pos := 0
	leading := request
	var lines []string
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			v.eof = true
			if len(b) > maxBytes {
				v.tooLarge = true
			}
			break
		}
		raw := b[pos : pos+i+1]
		pos += i + 1
		if pos > maxBytes {
			v.tooLarge = true
			break
		}
		// RFC 9112, Section 2.2 lets a recipient take a bare LF; the
		// package refuses it, so every line must end in CRLF.
		if len(raw) < 2 || raw[len(raw)-2] != '\r' {
			v.malformed = true
			break
		}
		line := string(raw[:len(raw)-2])
		if line == "" {
			if leading {
				continue // RFC 9112, Section 2.2: empty lines before a request line
			}
			if len(lines) == 0 {
				v.malformed = true // no start line
				break
			}
			v.head.size = pos
			break
		}
		leading = false
		lines = append(lines, line)
		if len(lines) > 1+maxFields {
			v.tooLarge = true
			break
		}
	}
	if len(lines) > 0 {
		v.head.start = lines[0]
	}
	for _, line := range lines[min(1, len(lines)):] {
		// RFC 9112, Section 5.2: obs-fold is refused.
		if line[0] == ' ' || line[0] == '\t' {
			v.malformed = true
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		value = strings.Trim(value, " \t")
		if !ok || !isToken(name) || !isFieldValue(value) {
			v.malformed = true
			continue
		}
		v.head.fields = append(v.head.fields, [2]string{name, value})
	}
	v.ok = !v.malformed && !v.tooLarge && !v.eof
	return v
}

// header returns the head's fields as net/http keys them, without Host.
func (h refHead) header() (http.Header, []string) {
	hdr := http.Header{}
	var hosts []string
	for _, f := range h.fields {
		k := textproto.CanonicalMIMEHeaderKey(f[0])
		if k == "Host" {
			hosts = append(hosts, f[1])
			continue
		}
		hdr[k] = append(hdr[k], f[1])
	}
	return hdr, hosts
}

// parseVersion parses HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112,
// Section 2.3).
func parseVersion(s string) (major, minor int, ok bool) {
	if len(s) != 8 || s[:5] != "HTTP/" || s[6] != '.' || s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9' {
		return 0, 0, false
	}
	return int(s[5] - '0'), int(s[7] - '0'), true
}

// refRequestLine judges request-line = method SP request-target SP
// HTTP-version (RFC 9112, Section 3). The target may be any visible ASCII,
// as the package documents; its finer grammar is the application's.
func refRequestLine(line string) (method, target string, major, minor int, ok bool) {
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" {
		return "", "", 0, 0, false
	}
	for i := 0; i < len(parts[1]); i++ {
		if c := parts[1][i]; c <= ' ' || c >= 0x7F {
			return "", "", 0, 0, false
		}
	}
	major, minor, ok = parseVersion(parts[2])
	return parts[0], parts[1], major, minor, ok
}

// refStatusLine judges status-line = HTTP-version SP status-code SP
// [reason-phrase] (RFC 9112, Section 4). A client may take a line without
// the second SP, and status codes run from 100 to 999 (RFC 9110, Section
// 15: "three-digit integer code"), so a leading 0 is for the reader to
// judge: lenientOK tells which lines may go either way.
func refStatusLine(line string) (major, minor, code int, reason string, ok, lenientOK bool) {
	proto, rest, _ := strings.Cut(line, " ")
	major, minor, ok = parseVersion(proto)
	if !ok {
		return
	}
	c, reason, hasSP := strings.Cut(rest, " ")
	if len(c) != 3 || strings.Trim(c, "0123456789") != "" || hasSP && !isReasonPhrase(reason) {
		return 0, 0, 0, "", false, false
	}
	code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	lenientOK = !hasSP || c[0] == '0'
	ok = hasSP && c[0] != '0'
	return major, minor, code, reason, ok, lenientOK
}

// isReasonPhrase: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
func isReasonPhrase(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7F {
			return false
		}
	}
	return true
}

// validHost judges a Host value: uri-host [ ":" port ] (RFC 9110, Section
// 7.2), using x/net's reading of it.
func validHost(h string) bool { return httpguts.ValidHostHeader(h) }
