package handshake

import (
	"fmt"
	"strings"
)

// Extension is one element of a Sec-WebSocket-Extensions list (RFC 6455, Section 9.1):
// an extension name with its parameters, in order.
type Extension struct {
	Name   string
	Params []ExtensionParam
}

// ExtensionParam is one parameter of an [Extension]. Value is unquoted; HasValue tells
// "p" from "p=" followed by a value.
type ExtensionParam struct {
	Name     string
	Value    string
	HasValue bool
}

// String returns e in its wire form, e.g. "permessage-deflate; client_max_window_bits".
func (e Extension) String() string {
	return string(AppendExtensions(nil, []Extension{e}))
}

// Param returns the value of the first parameter called name (ASCII case-insensitive) and
// whether it is present.
func (e Extension) Param(name string) (ExtensionParam, bool) {
	for _, p := range e.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return ExtensionParam{}, false
}

// AppendExtensions appends the wire form of exts to dst, elements separated by ", " and
// parameters by "; ". A value that is not a token is written as a quoted-string. It does
// not validate names; [Client] checks its offers before sending them.
func AppendExtensions(dst []byte, exts []Extension) []byte {
	for i, e := range exts {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, e.Name...)
		for _, p := range e.Params {
			dst = append(dst, "; "...)
			dst = append(dst, p.Name...)
			if !p.HasValue {
				continue
			}
			dst = append(dst, '=')
			if isToken(p.Value) {
				dst = append(dst, p.Value...)
				continue
			}
			dst = append(dst, '"')
			for j := 0; j < len(p.Value); j++ {
				if c := p.Value[j]; c == '"' || c == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, p.Value[j])
			}
			dst = append(dst, '"')
		}
	}
	return dst
}

// ParseExtensions parses the values of every Sec-WebSocket-Extensions header line, in
// order, by the grammar of RFC 6455, Section 9.1:
//
//	extension-list = 1#extension
//	extension      = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// Empty list elements are skipped (RFC 9110, Section 5.6.1). Any other deviation, including a
// quoted value that is not a token once unescaped ("the value after quoted-string unescaping
// MUST conform to the 'token' ABNF"), returns an error wrapping [ErrBadExtension].
// The result is nil when values hold no extension.
func ParseExtensions(values []string) ([]Extension, error) {
	var exts []Extension
	for _, v := range values {
		var err error
		if exts, err = parseExtensionValue(exts, v, true); err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// parseExtensionValue parses one header value of Sec-WebSocket-Extensions. With collect,
// it appends the extensions to exts; without, it only checks the syntax and allocates
// nothing unless it fails.
func parseExtensionValue(exts []Extension, v string, collect bool) ([]Extension, error) {
	p := extParser{s: v, collect: collect}
	for {
		p.skipOWS()
		if p.eof() {
			return exts, nil
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		e, err := p.extension()
		if err != nil {
			return nil, badExtension(err, v)
		}
		if collect {
			exts = append(exts, e)
		}
	}
}

// extParser scans one header value; without collect it keeps no parameter.
type extParser struct {
	s       string
	i       int
	collect bool
}

func (p *extParser) eof() bool  { return p.i >= len(p.s) }
func (p *extParser) peek() byte { return p.s[p.i] }

// skipOWS and token scan in locals: a loop that moved p.i itself would store it at every
// byte.
func (p *extParser) skipOWS() {
	s, i := p.s, p.i
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	p.i = i
}

func (p *extParser) token() string {
	s, start := p.s, p.i
	i := start
	for i < len(s) && tokenChars[s[i]] {
		i++
	}
	p.i = i
	return s[start:i]
}

// extension parses one element, through the comma after it or the end of the value.
func (p *extParser) extension() (Extension, error) {
	e := Extension{Name: p.token()}
	if e.Name == "" {
		return e, p.syntaxError("missing extension name at %d")
	}
	for {
		p.skipOWS()
		if p.eof() {
			return e, nil
		}
		switch p.peek() {
		case ',':
			p.i++
			return e, nil
		case ';':
			p.i++
		default:
			return e, p.unexpected()
		}
		p.skipOWS()
		param, err := p.param()
		if err != nil {
			return e, err
		}
		if p.collect {
			e.Params = append(e.Params, param)
		}
	}
}

func (p *extParser) param() (ExtensionParam, error) {
	param := ExtensionParam{Name: p.token()}
	if param.Name == "" {
		return param, p.syntaxError("missing parameter name at %d")
	}
	p.skipOWS()
	if p.eof() || p.peek() != '=' {
		return param, nil
	}
	p.i++
	p.skipOWS()
	param.HasValue = true
	if !p.eof() && p.peek() == '"' {
		start := p.i
		v, token, err := p.quoted()
		if err != nil {
			return param, err
		}
		// RFC 6455, Section 9.1: "When using the quoted-string syntax variant, the value after
		// quoted-string unescaping MUST conform to the 'token' ABNF."
		if !token {
			return param, notToken(p.s[start:p.i])
		}
		param.Value = v
		return param, nil
	}
	if param.Value = p.token(); param.Value == "" {
		return param, missingValue(param.Name)
	}
	return param, nil
}

// The errors of the parser are built out of line: the parser runs under Upgrade, on
// net/http's handler goroutine, whose stack is small, and their arguments would take
// room in every frame of the parser.

//go:noinline
func badExtension(err error, v string) error {
	return fmt.Errorf("%w: %s in %q", ErrBadExtension, err, v)
}

// syntaxError reports a syntax error at the parser's position, format taking it as its one
// argument.
//
//go:noinline
func (p *extParser) syntaxError(format string) error {
	return fmt.Errorf(format, p.i)
}

//go:noinline
func (p *extParser) unexpected() error {
	return fmt.Errorf("unexpected %q at %d", p.peek(), p.i)
}

//go:noinline
func notToken(quoted string) error {
	return fmt.Errorf("quoted value %s is not a token", quoted)
}

//go:noinline
func missingValue(name string) error {
	return fmt.Errorf("missing value for parameter %q", name)
}

// quoted parses a quoted-string (RFC 9110, Section 5.6.4) and reports whether its
// unescaped value is a token. It returns the value when collecting.
func (p *extParser) quoted() (v string, token bool, err error) {
	p.i++ // opening quote
	var b strings.Builder
	token = true
	n := 0
	for !p.eof() {
		c := p.peek()
		p.i++
		switch c {
		case '"':
			return b.String(), token && n > 0, nil
		case '\\':
			if p.eof() {
				return "", false, fmt.Errorf("unterminated escape")
			}
			c = p.peek()
			p.i++
		}
		n++
		token = token && tokenChars[c]
		if p.collect {
			b.WriteByte(c)
		}
	}
	return "", false, fmt.Errorf("unterminated quoted-string")
}

// isToken reports whether s is a non-empty token (RFC 9110, Section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}
