package handshake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	head, err := h.readHead(true)
	if err != nil {
		return nil, h.wrap("read request", err)
	}
	return parseRequest(head)
}

// ReadResponse reads a response head from r: the status line and the header lines through
// the empty line that ends them. It consumes exactly the head, so bytes the server sent
// after it stay in r. Its rules and errors are those of [ReadRequest], except that the
// [*Error] values carry status 0: nothing is sent back to a server.
func ReadResponse(r *bufio.Reader, lim Limits) (*Response, error) {
	h := newHeadReader(r, lim, 0, 0)
	head, err := h.readHead(false)
	if err != nil {
		return nil, h.wrap("read response", err)
	}
	return parseResponse(head)
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
// limits, and returns them as one string, each line terminated by CRLF, less the empty lines
// skipped before the start line. The whole head becomes one string, so that the strings
// parsed from it cost no further allocation.
func (h *headReader) readHead(skipEmpty bool) (string, error) {
	buf := make([]byte, 0, 1024)
	lines := 0
	for {
		b, err := h.line()
		if err != nil {
			return "", err
		}
		if len(b) == 0 {
			if lines == 0 && skipEmpty {
				continue
			}
			break
		}
		if lines > h.maxHeaders { // the start line is not a header line
			return "", fail(h.largeStatus, ErrHeadTooLarge, "more than %d header lines", h.maxHeaders)
		}
		buf = append(buf, b...)
		buf = append(buf, "\r\n"...)
		lines++
	}
	if lines == 0 {
		return "", errNoStartLine
	}
	return string(append(buf, "\r\n"...)), nil
}

func (h *headReader) malformed(format string, args ...any) *Error {
	return malformed(h.badStatus, format, args...)
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
