package deflate

import (
	"bufio"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// ErrCorrupt reports compressed data that is not valid DEFLATE, or that goes on after a
// final block.
var ErrCorrupt = errors.New("deflate: corrupt compressed data")

// tail ends a message for the inflater: the 00 00 ff ff the sender removed (RFC 7692,
// Section 7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the
// payload of the message"), then an empty final stored block so that the inflater
// reports the end of the message as io.EOF instead of waiting for more.
var tail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// minHistory is the least history kept for context takeover: zlib cannot produce an
// 8-bit window and silently uses 9 bits, so a peer that agreed to 8 may refer up to 512
// bytes back.
const minHistory = 512

// Decoder inflates the messages of one direction of a permessage-deflate connection.
// Between messages it holds only the plaintext history the next message may refer to
// (none without context takeover); the buffers and tables of a message are borrowed
// from pools for its duration. A message whose compressed payload is at most
// maxWhole bytes is read whole, then inflated at once by the package's own inflater
// into a buffer that Read serves; a longer one, or one whose source fails before its
// end, is inflated as it is read by klauspost/compress's (see the package doc, Inflating).
// A Decoder is not safe for concurrent use.
type Decoder struct {
	takeover bool
	hist     history
	limit    int64 // the most plaintext a message may have; -1: none

	src io.Reader // the message's source, until the first Read
	w   *whole    // the message's buffers: read whole and inflated, or the part read
	m   *inflater // set when the message is inflated as it is read
}

// NewDecoder returns a decoder for a peer whose back-references stay within
// 2^windowBits bytes (8-15, clamped), keeping its history between messages when
// contextTakeover is set.
func NewDecoder(windowBits int, contextTakeover bool) *Decoder {
	windowBits = min(max(windowBits, minBits), maxBits)
	d := &Decoder{takeover: contextTakeover, limit: -1}
	d.hist.window = max(1<<windowBits, minHistory)
	return d
}

// SetLimit bounds the plaintext of a message to n bytes (n < 0: no bound). The bound
// is the memory a small message that inflates to a large one may take while inflated
// at once: such a message gives n+1 bytes, then [ErrTooBig], so that a caller holding
// it to n bytes sees it too long; past maxWholeOut bytes, it is inflated as it is read.
func (d *Decoder) SetLimit(n int64) { d.limit = max(n, -1) }

// inflater is the per-message state: the flate reader, the buffered source it reads the
// compressed bytes from, and room to lay out the history.
type inflater struct {
	fr      io.ReadCloser
	br      *bufio.Reader // the inflater's fast path reads a *bufio.Reader byte by byte
	src     source
	scratch []byte
}

var inflaterPool sync.Pool

// Begin starts inflating a message whose compressed payload (without the removed
// 00 00 ff ff) is read from r until r returns io.EOF. It reads nothing yet: the first
// Read does.
func (d *Decoder) Begin(r io.Reader) {
	d.release()
	d.src = r
}

// stream starts inflating the message as it is read, with klauspost/compress: from pre,
// the payload read so far, then from r, unless r already ended with rErr (io.EOF: the
// message's end).
func (d *Decoder) stream(r io.Reader, pre []byte, rErr error) {
	m, _ := inflaterPool.Get().(*inflater)
	if m == nil {
		m = new(inflater)
		m.br = bufio.NewReaderSize(&m.src, 4096)
	}
	m.src.reset(r, pre, rErr)
	m.br.Reset(&m.src)
	var dict []byte
	if d.takeover {
		dict = d.hist.last(d.hist.window, &m.scratch)
	}
	if m.fr == nil {
		m.fr = flate.NewReaderDict(m.br, dict)
	} else if err := m.fr.(flate.Resetter).Reset(m.br, dict); err != nil {
		m.fr = flate.NewReaderDict(m.br, dict)
	}
	d.m = m
}

// Read reads inflated bytes of the current message; it returns io.EOF at its end, an
// error wrapping [ErrCorrupt] for invalid data, and [ErrTooBig] past the limit (after
// the limit and one byte more). Errors from the source are returned as they are.
func (d *Decoder) Read(p []byte) (int, error) {
	if d.src != nil {
		d.start()
	}
	m := d.m
	if m == nil {
		if d.w == nil {
			return 0, io.EOF
		}
		n, err := d.w.read(p)
		if d.takeover && n > 0 {
			d.hist.write(p[:n])
		}
		return n, err
	}
	n, err := m.fr.Read(p)
	if d.takeover && n > 0 {
		d.hist.write(p[:n])
	}
	switch {
	case err == io.EOF:
		// The data must end where the message does: a final block before the end
		// leaves unread bytes behind.
		if !m.atEnd() {
			// Looking past the final block can meet the end of the stream
			// itself: that is a message cut short, not corrupt data.
			if m.src.err != nil {
				return n, m.src.err
			}
			return n, ErrCorrupt
		}
		return n, io.EOF
	case err == nil:
		return n, nil
	case m.src.err != nil:
		return n, m.src.err
	case errors.As(err, new(flate.CorruptInputError)), errors.Is(err, io.ErrUnexpectedEOF):
		return n, errors.Join(ErrCorrupt, err)
	}
	return n, err
}

// End finishes the message and returns the pooled state; the history, kept with context
// takeover, has grown as the message was read. A message abandoned half-read leaves
// history the peer's next message cannot rely on, so the caller must not inflate further
// messages after such an End.
func (d *Decoder) End() { d.release() }

// Holding reports whether the decoder holds a message's pooled state: from the first
// Read of a message until its End.
func (d *Decoder) Holding() bool { return d.w != nil || d.m != nil }

func (d *Decoder) release() {
	if m := d.m; m != nil {
		m.src.reset(nil, nil, nil)
		m.br.Reset(&m.src)
		if cap(m.scratch) > maxWindow {
			m.scratch = nil
		}
		inflaterPool.Put(m)
		d.m = nil
	}
	if w := d.w; w != nil {
		w.release()
		d.w = nil
	}
	d.src = nil
}

// atEnd reports whether nothing but (part of) the tail is left unread: after the peer's
// own final block, the rest of the tail goes unread, but no data of the message may.
// The buffer is filled only once empty, so what it holds came from one read of the
// source: all message bytes or all tail.
func (m *inflater) atEnd() bool {
	if m.br.Buffered() == 0 {
		if m.src.tailAt >= 0 {
			return true
		}
		// The inflater stopped exactly at the end of a buffer: see whether the
		// message has more bytes.
		if _, err := m.br.Peek(1); err != nil {
			return false
		}
	}
	return m.src.lastTail
}

// source feeds the buffered reader the message's bytes, then the tail: first pre, the
// bytes read before the message fell back to streaming, then the rest from r, unless r
// already ended with rErr.
type source struct {
	r        io.Reader
	pre      []byte
	rErr     error
	tailAt   int  // bytes of tail given; -1 while r has not ended
	lastTail bool // the last read gave tail bytes
	err      error
}

func (s *source) reset(r io.Reader, pre []byte, rErr error) {
	*s = source{r: r, pre: pre, rErr: rErr, tailAt: -1}
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.pre) > 0 {
		n := copy(p, s.pre)
		s.pre = s.pre[n:]
		s.lastTail = false
		return n, nil
	}
	if s.tailAt < 0 {
		var n int
		var err error
		if s.rErr != nil {
			err = s.rErr
		} else {
			n, err = s.r.Read(p)
		}
		switch {
		case err == io.EOF:
			s.tailAt = 0
		case err != nil:
			s.err = err
		}
		if n > 0 || s.err != nil {
			s.lastTail = false
			return n, s.err
		}
		if s.tailAt < 0 {
			return 0, nil
		}
	}
	if s.tailAt == len(tail) {
		return 0, io.EOF
	}
	n := copy(p, tail[s.tailAt:])
	s.tailAt += n
	s.lastTail = true
	return n, nil
}
