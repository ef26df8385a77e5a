package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// headBufferSize is the size of the read buffers Accept and Client borrow: a browser's
// handshake is well under 1 KiB, 4 KiB leaves room for cookies. A longer head grows a
// buffer of its own, up to Limits.MaxHeadBytes.
const headBufferSize = 4096

// scratch is what one handshake borrows for its duration, from scratches: the read buffer,
// from which Accept and Upgrade also write their response, and on the server side the
// line index and the fields gathered from the request. Those two take about 600 bytes,
// which would otherwise be on the stack of the goroutine that runs the handshake: a fresh
// one for each connection in most servers, and net/http's handler goroutine, whose stack
// starts small and would have to grow (a copy of the whole stack) to hold them. Nothing
// that leaves the handshake points into a scratch.
type scratch struct {
	buf   []byte
	index lineIndex
	q     upgradeRequest
	acc   accepted // what the server's checks of q decided
	vet   vetted   // the server options last validated, kept across handshakes
}

var scratches = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, headBufferSize)}
}}

func getScratch() *scratch { return scratches.Get().(*scratch) }

// release returns s to the pool, first dropping its references to the head and the
// options, which the pool would otherwise keep alive; only what vet copied of the options
// stays.
func (s *scratch) release() {
	s.index.off, s.index.n = 0, 0
	s.q = upgradeRequest{}
	s.acc = accepted{}
	scratches.Put(s)
}

// headScan finds where a head ends in a buffer that fills up, applying the rules of the
// line reader behind [ReadRequest] and [ReadResponse] line by line in the same order: the
// limit on bytes, then CRLF, then the limit on lines. So a head is refused with the same
// status and cause whether it came through a bufio.Reader or a read buffer.
type headScan struct {
	max, maxHeaders int
	skipEmpty       bool // requests: empty lines before the start line are skipped
	// statuses for the errors: the server answers with them, the client sends nothing.
	badStatus, largeStatus int

	off   int // where the next line starts
	lines int // non-empty lines so far, the start line included

	// index, when set, is tried first; it is dropped when it gives up on the head.
	index *lineIndex
}

func newHeadScan(lim Limits, request bool) headScan {
	lim = lim.withDefaults()
	s := headScan{max: lim.MaxHeadBytes, maxHeaders: lim.MaxHeaders}
	if request {
		s.skipEmpty, s.badStatus, s.largeStatus = true, 400, 431
	}
	return s
}

// scan looks at the lines of b, which holds the first bytes of the stream, not yet
// looked at. It returns the length of the head once b holds all of it, 0 when it needs
// more bytes, or the error that refuses the head.
func (s *headScan) scan(b []byte) (int, error) {
	if s.index != nil {
		if end := s.index.scan(b, s.max, s.maxHeaders); end >= 0 {
			return end, nil
		}
		s.index = nil
	}
	for {
		i := bytes.IndexByte(b[s.off:], '\n')
		if i < 0 {
			if len(b) > s.max { // the line being read ends past the limit, if ever
				return 0, s.tooLarge()
			}
			return 0, nil
		}
		end := s.off + i + 1
		if end > s.max {
			return 0, s.tooLarge()
		}
		// RFC 9112, Section 2.2 lets a recipient accept a bare LF; as ReadRequest, this does
		// not.
		if i == 0 || b[end-2] != '\r' {
			return 0, malformed(s.badStatus, "%s", errLineEnd)
		}
		s.off = end
		if i == 1 { // an empty line
			if s.lines > 0 {
				return end, nil
			}
			if !s.skipEmpty {
				return 0, malformed(s.badStatus, "%s", errNoStartLine)
			}
			continue
		}
		if s.lines > s.maxHeaders { // the start line is not a header line
			return 0, fail(s.largeStatus, ErrHeadTooLarge, "more than %d header lines", s.maxHeaders)
		}
		s.lines++
	}
}

func (s *headScan) tooLarge() error {
	return fail(s.largeStatus, ErrHeadTooLarge, "more than %d bytes", s.max)
}

// maxEmptyReads is how many reads returning nothing receiveHead tolerates in a row, as
// bufio.Reader does.
const maxEmptyReads = 100

// receiveHead reads from c into buf, which holds the first n bytes read already, growing it
// as far as the limit needs, until it holds a whole head, and returns the head as a string
// and a copy of the bytes read after it (nil when there are none). what names the head in
// I/O errors. Before each read from c it arms g, when there is one: a read may wait.
func receiveHead(c net.Conn, buf []byte, n int, s *headScan, what string, g *guard) (head string, rest []byte, err error) {
	empty := 0
	var rerr error // from the last read, seen once the bytes that came with it are
	for {
		end, err := s.scan(buf[:n])
		if err != nil {
			return "", nil, err
		}
		if end > 0 {
			if n > end {
				rest = bytes.Clone(buf[end:n])
			}
			return string(buf[:end]), rest, nil
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && n > 0 {
				rerr = io.ErrUnexpectedEOF
			}
			return "", nil, fmt.Errorf("handshake: %s: %w", what, rerr)
		}
		if n == len(buf) { // then n <= s.max, or scan would have refused the head
			b := make([]byte, min(2*len(buf), s.max+1))
			copy(b, buf)
			buf = b
		}
		if err := g.arm(); err != nil {
			return "", nil, wrapIO("set deadline", err)
		}
		var m int
		m, rerr = c.Read(buf[n:])
		n += m
		if m > 0 || rerr != nil {
			empty = 0
		} else if empty++; empty == maxEmptyReads {
			rerr = io.ErrNoProgress
		}
	}
}
