package fuzz_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"duplex/handshake"
)

type verdict int

const (
	valid verdict = iota
	invalid
	either // the grammar's implied whitespace leaves the reader a choice
)

// extScanner is a reference reader of Sec-WebSocket-Extensions (RFC 6455,
// Section 9.1, with the list rules of RFC 9110, Section 5.6.1).
type extScanner struct {
	s   string
	i   int
	ver verdict
}

func (p *extScanner) ows() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > start
}

func (p *extScanner) token() string {
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string (RFC 9110, Section 5.6.4) after its
// opening quote and returns it unescaped.
func (p *extScanner) quoted() (string, bool) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String(), true
		case c == '\\':
			if p.i == len(p.s) {
				return "", false
			}
			q := p.s[p.i]
			if q < ' ' && q != '\t' || q == 0x7F {
				return "", false
			}
			b.WriteByte(q)
			p.i++
		case c < ' ' && c != '\t' || c == 0x7F:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func (p *extScanner) list() ([]handshake.Extension, bool) {
	var out []handshake.Extension
	for {
		p.ows()
		if p.i == len(p.s) {
			return out, true
		}
		if p.s[p.i] == ',' {
			p.i++ // an empty element
			continue
		}
		e := handshake.Extension{Name: p.token()}
		if e.Name == "" {
			return nil, false
		}
		for {
			p.ows()
			if p.i == len(p.s) || p.s[p.i] != ';' {
				break
			}
			p.i++
			p.ows()
			prm := handshake.ExtensionParam{Name: p.token()}
			if prm.Name == "" {
				return nil, false
			}
			if p.ows() && p.i < len(p.s) && p.s[p.i] == '=' {
				p.ver = either
			}
			if p.i < len(p.s) && p.s[p.i] == '=' {
				p.i++
				if p.ows() {
					p.ver = either
				}
				prm.HasValue = true
				if p.i < len(p.s) && p.s[p.i] == '"' {
					p.i++
					v, ok := p.quoted()
					// "the value after quoted-string unescaping MUST
					// conform to the 'token' ABNF"
					if !ok || !isToken(v) {
						return nil, false
					}
					prm.Value = v
				} else if prm.Value = p.token(); prm.Value == "" {
					return nil, false
				}
			}
			e.Params = append(e.Params, prm)
		}
		out = append(out, e)
		if p.i < len(p.s) && p.s[p.i] != ',' {
			return nil, false
		}
	}
}

// refParseExtensions reads every header value with the reference.
func refParseExtensions(values []string) ([]handshake.Extension, verdict) {
	var all []handshake.Extension
	ver := valid
	for _, v := range values {
		p := &extScanner{s: v}
		exts, ok := p.list()
		if !ok {
			return nil, invalid
		}
		if p.ver == either {
			ver = either
		}
		all = append(all, exts...)
	}
	return all, ver
}

// FuzzParseExtensions compares handshake.ParseExtensions with the
// reference reading of RFC 6455, Section 9.1 on header values split at
// newlines: the same verdict and the same extensions, and a round trip
// through AppendExtensions for whatever it accepts.
func FuzzParseExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; client_max_window_bits=10; server_no_context_takeover, permessage-deflate",
		"x-webkit-deflate-frame",
		`foo; bar="baz"`, `foo; bar="b\az"`, `foo; bar="a b"`, "foo;;", ", ,foo,", "foo\nbar; x=1", "",
		"foo ; bar = 1", "foo; bar=\"\"", "permessage-deflate; client_max_window_bits\npermessage-deflate",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		values := strings.Split(s, "\n")
		exts, err := handshake.ParseExtensions(values)
		want, ver := refParseExtensions(values)
		switch {
		case err != nil && !errors.Is(err, handshake.ErrBadExtension):
			t.Fatalf("ParseExtensions(%q) error %v does not match ErrBadExtension", values, err)
		case err != nil && ver == valid:
			t.Fatalf("ParseExtensions(%q) refused a valid list: %v", values, err)
		case err == nil && ver == invalid:
			t.Fatalf("ParseExtensions(%q) = %+v; the list is invalid", values, exts)
		case err == nil && ver == valid && !sameExtensions(exts, want):
			t.Fatalf("ParseExtensions(%q) = %+v, reference %+v", values, exts, want)
		}
		if err != nil {
			return
		}
		// Round trip: the wire form of what was accepted reads back the same.
		wire := string(handshake.AppendExtensions(nil, exts))
		again, err := handshake.ParseExtensions([]string{wire})
		if err != nil || !sameExtensions(again, exts) {
			t.Fatalf("AppendExtensions(%+v) = %q, which reads back as %+v, %v", exts, wire, again, err)
		}
		var parts []string
		for _, e := range exts {
			parts = append(parts, e.String())
		}
		if strings.Join(parts, ", ") != wire {
			t.Fatalf("String() of each gives %q, AppendExtensions %q", parts, wire)
		}
	})
}

// sameExtensions compares two lists, taking nil and empty as equal.
func sameExtensions(a, b []handshake.Extension) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Params) != len(b[i].Params) {
			return false
		}
		if len(a[i].Params) > 0 && !reflect.DeepEqual(a[i].Params, b[i].Params) {
			return false
		}
	}
	return true
}
