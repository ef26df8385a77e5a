package deflate

import (
	"compress/flate"
	"errors"
	"io"
	"sync"
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
// (none without context takeover); the inflater itself is borrowed from a pool for the
// duration of a message. A Decoder is not safe for concurrent use.
type Decoder struct {
	window   int
	takeover bool
	hist     []byte
	m        *inflater
}

// NewDecoder returns a decoder for a peer whose back-references stay within
// 2^windowBits bytes (8-15, clamped), keeping its history between messages when
// contextTakeover is set.
func NewDecoder(windowBits int, contextTakeover bool) *Decoder {
	windowBits = min(max(windowBits, 8), 15)
	return &Decoder{window: max(1<<windowBits, minHistory), takeover: contextTakeover}
}

// inflater is the per-message state: the flate reader, the source it reads the compressed
// bytes from, and the plaintext produced so far (for the history).
type inflater struct {
	fr  io.ReadCloser
	src source
	out []byte
}

var inflaterPool sync.Pool

// Begin starts inflating a message whose compressed payload (without the removed
// 00 00 ff ff) is read from r until r returns io.EOF.
func (d *Decoder) Begin(r io.Reader) {
	d.release()
	m, _ := inflaterPool.Get().(*inflater)
	if m == nil {
		m = &inflater{src: source{buf: make([]byte, 4096)}}
	}
	m.src.reset(r)
	m.out = append(m.out[:0], d.hist...)
	if m.fr == nil {
		m.fr = flate.NewReaderDict(&m.src, d.hist)
	} else if err := m.fr.(flate.Resetter).Reset(&m.src, d.hist); err != nil {
		m.fr = flate.NewReaderDict(&m.src, d.hist)
	}
	d.m = m
}

// Read reads inflated bytes of the current message; it returns io.EOF at its end, and an
// error wrapping [ErrCorrupt] for invalid data. Errors from the source are returned as
// they are.
func (d *Decoder) Read(p []byte) (int, error) {
	m := d.m
	if m == nil {
		return 0, io.EOF
	}
	n, err := m.fr.Read(p)
	if d.takeover && n > 0 {
		m.out = append(m.out, p[:n]...)
		if len(m.out) >= 4*d.window {
			k := copy(m.out, m.out[len(m.out)-d.window:])
			m.out = m.out[:k]
		}
	}
	switch {
	case err == io.EOF:
		// The data must end where the message does: a final block before the end
		// leaves unread bytes behind.
		if !m.src.atEnd() {
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

// End finishes the message: it keeps the history with context takeover and returns the
// pooled state. A message abandoned half-read leaves history the peer's next message
// cannot rely on, so the caller must not inflate further messages after such an End.
func (d *Decoder) End() {
	if d.m == nil {
		return
	}
	if d.takeover {
		h := d.m.out[max(0, len(d.m.out)-d.window):]
		if cap(d.hist) < len(h) {
			d.hist = make([]byte, 0, min(d.window, max(len(h), 2*cap(d.hist))))
		}
		d.hist = append(d.hist[:0], h...)
	}
	d.release()
}

func (d *Decoder) release() {
	if d.m != nil {
		d.m.src.reset(nil)
		if cap(d.m.out) > 8*maxWindow {
			d.m.out = nil
		}
		inflaterPool.Put(d.m)
		d.m = nil
	}
}

// source feeds the inflater the message's bytes then the tail. It implements
// io.ByteReader, so the inflater reads it directly instead of wrapping it in a
// bufio.Reader of its own.
type source struct {
	r      io.Reader
	buf    []byte
	i, n   int
	tailAt int // bytes of tail consumed; -1 while r has not ended
	err    error
}

func (s *source) reset(r io.Reader) {
	s.r, s.i, s.n, s.tailAt, s.err = r, 0, 0, -1, nil
}

func (s *source) fill() error {
	if s.tailAt >= 0 {
		if s.tailAt == len(tail) {
			return io.EOF
		}
		s.n = copy(s.buf, tail[s.tailAt:])
		s.i = 0
		s.tailAt += s.n
		return nil
	}
	for {
		n, err := s.r.Read(s.buf)
		if n > 0 {
			s.i, s.n = 0, n
			return nil
		}
		if err == io.EOF {
			s.tailAt = 0
			return s.fill()
		}
		if err != nil {
			s.err = err
			return err
		}
	}
}

func (s *source) ReadByte() (byte, error) {
	if s.i == s.n {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	s.i++
	return s.buf[s.i-1], nil
}

func (s *source) Read(p []byte) (int, error) {
	if s.i == s.n {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.i:s.n])
	s.i += n
	return n, nil
}

// atEnd reports whether nothing but (part of) the tail is left unread: after the peer's
// own final block, the rest of the tail goes unread, but no data of the message may.
func (s *source) atEnd() bool {
	if s.tailAt >= 0 {
		return true
	}
	if s.i < s.n {
		return false
	}
	// The inflater stopped exactly at the end of a buffer: see whether the message has
	// more bytes.
	if err := s.fill(); err != nil {
		return false
	}
	return s.tailAt >= 0
}
