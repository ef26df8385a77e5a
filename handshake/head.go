package handshake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Limits bound what a peer may make the parser read. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	// MaxHeadBytes bounds the whole head: start line, header lines and the final empty line,
	// line terminators included.
	MaxHeadBytes int
	// MaxHeaders bounds the number of header lines.
	MaxHeaders int
}

// DefaultLimits are the limits used for zero fields of a [Limits]. 8 KiB of head is what
// common HTTP servers allow by default and leaves room for cookies; 64 header lines are
// more than any browser sends with a handshake.
var DefaultLimits = Limits{MaxHeadBytes: 8192, MaxHeaders: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxHeadBytes <= 0 {
		l.MaxHeadBytes = DefaultLimits.MaxHeadBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultLimits.MaxHeaders
	}
	return l
}

// Request is the head of an HTTP/1.x request.
type Request struct {
	Method     string
	Target     string // request-target as sent, e.g. "/chat?room=1"
	ProtoMajor int
	ProtoMinor int
	// Host is the Host header's value. As in net/http, it is removed from Header.
	Host string
	// Header holds the other header fields under canonical keys, values trimmed of
	// surrounding whitespace, in the order received.
	Header http.Header
	// TLS reports whether the request arrived over TLS, which the origin policy compares
	// with the Origin's scheme. ReadRequest leaves it false; Accept and Upgrade set it.
	TLS bool
}

// Response is the head of an HTTP/1.x response.
type Response struct {
	ProtoMajor int
	ProtoMinor int
	StatusCode int
	Reason     string
	Header     http.Header // canonical keys, values trimmed of surrounding whitespace
}

// ReadRequest reads a request head from r: the request line and the header lines through
// the empty line that ends them. It consumes exactly the head, so bytes the client sent
// after it stay in r. Empty lines before the request line are skipped (RFC 9112, Section 2.2).
//
// Lines must end in CRLF; a bare LF, an obsolete line folding, an invalid header name or
// value, or more than one Host header is an [*Error] with status 400 wrapping
// [ErrMalformedHead]. A head over lim is an [*Error] with status 431 wrapping
// [ErrHeadTooLarge]. I/O errors are returned wrapped: [io.EOF] if the stream ended before
// the first byte, [io.ErrUnexpectedEOF] if it ended inside the head.
func ReadRequest(r *bufio.Reader, lim Limits) (*Request, error) {
	h := newHeadReader(r, lim, http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge)
	first, fields, n, err := h.readHead(true)
	if err != nil {
		return nil, h.wrap("read request", err)
	}
	req, err := parseRequestLine(first)
	if err != nil {
		return nil, h.malformed("%s", err.Error())
	}
	if req.Header, err = h.parseFields(fields, n); err != nil {
		return nil, err
	}
	// RFC 9112, Section 3.2: "A server MUST respond with a 400 (Bad Request) status code to
	// any HTTP/1.1 request message that lacks a Host header field and to any that contains
	// more than one Host header field line or a Host header field with an invalid field value."
	// A missing Host is left to the handshake checks, which apply to every HTTP version.
	if hosts := req.Header["Host"]; len(hosts) > 0 {
		if len(hosts) > 1 {
			return nil, h.malformed("%d Host headers", len(hosts))
		}
		if !httpguts.ValidHostHeader(hosts[0]) {
			return nil, h.malformed("invalid Host %q", hosts[0])
		}
		req.Host = hosts[0]
		delete(req.Header, "Host")
	}
	return req, nil
}

// ReadResponse reads a response head from r: the status line and the header lines through
// the empty line that ends them. It consumes exactly the head, so bytes the server sent
// after it stay in r. Its rules and errors are those of [ReadRequest], except that the
// [*Error] values carry status 0: nothing is sent back to a server.
func ReadResponse(r *bufio.Reader, lim Limits) (*Response, error) {
	h := newHeadReader(r, lim, 0, 0)
	first, fields, n, err := h.readHead(false)
	if err != nil {
		return nil, h.wrap("read response", err)
	}
	resp, err := parseStatusLine(first)
	if err != nil {
		return nil, h.malformed("%s", err.Error())
	}
	if resp.Header, err = h.parseFields(fields, n); err != nil {
		return nil, err
	}
	return resp, nil
}

// headReader reads the lines of one head within the limits.
type headReader struct {
	r          *bufio.Reader
	left       int // bytes the head may still take
	max        int // MaxHeadBytes
	maxHeaders int
	read       bool   // whether any byte of the head was consumed
	long       []byte // a line longer than r's buffer, assembled
	// statuses for the errors: the server answers with them, the client sends nothing.
	badStatus, largeStatus int
}

func newHeadReader(r *bufio.Reader, lim Limits, badStatus, largeStatus int) *headReader {
	lim = lim.withDefaults()
	return &headReader{r: r, left: lim.MaxHeadBytes, max: lim.MaxHeadBytes, maxHeaders: lim.MaxHeaders, badStatus: badStatus, largeStatus: largeStatus}
}

// Line errors that wrap turns into malformed-head errors.
var (
	errLineEnd     = errors.New("line not terminated by CRLF")
	errNoStartLine = errors.New("empty start line")
)

// line returns the next line without its CRLF, valid until the next call.
func (h *headReader) line() ([]byte, error) {
	h.long = h.long[:0]
	for {
		// ReadSlice consumes through the LF and nothing more, which keeps the bytes after
		// the head in r.
		frag, err := h.r.ReadSlice('\n')
		if len(frag) > 0 {
			h.read = true
		}
		h.left -= len(frag)
		if h.left < 0 {
			return nil, fail(h.largeStatus, ErrHeadTooLarge, "more than %d bytes", h.max)
		}
		switch {
		case err == nil:
			if len(h.long) > 0 {
				frag = append(h.long, frag...)
				h.long = frag
			}
			// RFC 9112, Section 2.2 lets a recipient accept a bare LF; this parser does not, so
			// that it never disagrees with a stricter intermediary about where the head ends.
			if len(frag) < 2 || frag[len(frag)-2] != '\r' {
				return nil, errLineEnd
			}
			return frag[:len(frag)-2], nil
		case errors.Is(err, bufio.ErrBufferFull):
			h.long = append(h.long, frag...)
		case errors.Is(err, io.EOF) && h.read:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// readHead reads the lines of a head through the empty line that ends it, within the
// limits, and returns the start line, the n header lines joined by "\n" and n. The whole head
// becomes one string, so that the strings parsed from it cost no further allocation.
func (h *headReader) readHead(skipEmpty bool) (first, fields string, n int, err error) {
	buf := make([]byte, 0, 1024)
	lines := 0
	for {
		b, err := h.line()
		if err != nil {
			return "", "", 0, err
		}
		if len(b) == 0 {
			if lines == 0 && skipEmpty {
				continue
			}
			break
		}
		if lines > h.maxHeaders { // the start line is not a header line
			return "", "", 0, fail(h.largeStatus, ErrHeadTooLarge, "more than %d header lines", h.maxHeaders)
		}
		if lines > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, b...)
		lines++
	}
	if lines == 0 {
		return "", "", 0, errNoStartLine
	}
	first, fields, _ = strings.Cut(string(buf), "\n")
	return first, fields, lines - 1, nil
}

// parseFields parses n header lines joined by "\n".
func (h *headReader) parseFields(fields string, n int) (http.Header, error) {
	hdr := make(http.Header, n)
	// One backing array for all values; each key's slice gets capacity 1 at first, so an
	// append for a repeated key copies instead of overwriting the next value.
	values := make([]string, n)
	for i := 0; i < n; i++ {
		var line string
		line, fields, _ = strings.Cut(fields, "\n")
		// RFC 9112, Section 5.2: "A server that receives an obs-fold in a request message ...
		// MUST either reject the message by sending a 400 (Bad Request) ... or replace each
		// received obs-fold with one or more SP octets". This parser rejects.
		if line[0] == ' ' || line[0] == '\t' {
			return nil, h.malformed("obsolete line folding")
		}
		name, value, ok := strings.Cut(line, ":")
		// RFC 9112, Section 5.1: "No whitespace is allowed between the field name and colon."
		// ValidHeaderFieldName refuses it along with every other non-token byte.
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return nil, h.malformed("invalid header line %q", line)
		}
		value = strings.Trim(value, " \t") // OWS around the field value is not part of it
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, h.malformed("invalid value for header %q", name)
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

func (h *headReader) malformed(format string, args ...any) *Error {
	return fail(h.badStatus, ErrMalformedHead, format, args...)
}

// wrap turns a line error into what ReadRequest and ReadResponse return.
func (h *headReader) wrap(what string, err error) error {
	var he *Error
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, errLineEnd), errors.Is(err, errNoStartLine):
		return h.malformed("%s", err.Error())
	default:
		return fmt.Errorf("handshake: %s: %w", what, err)
	}
}

// parseRequestLine parses "method SP request-target SP HTTP-version" (RFC 9112, Section 3).
func parseRequestLine(line string) (*Request, error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("request line %q", line)
	}
	if !httpguts.ValidHeaderFieldName(method) { // a method is a token, as a field name is
		return nil, fmt.Errorf("method %q", method)
	}
	if !validTarget(target) {
		return nil, fmt.Errorf("request target %q", target)
	}
	major, minor, ok := parseProto(proto)
	if !ok {
		return nil, fmt.Errorf("HTTP version %q", proto)
	}
	return &Request{Method: method, Target: target, ProtoMajor: major, ProtoMinor: minor}, nil
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
