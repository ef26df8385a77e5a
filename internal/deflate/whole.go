package deflate

import (
	"io"
	"slices"
	"sync"
)

// The bounds of inflating a message at once. A compressed payload of up to maxWhole
// bytes is read whole (chat-like JSON of 64 KiB compresses to about 13 KiB at level 1,
// so messages of several hundred KiB fit); a longer one is inflated as it is read. Its
// plaintext is bounded by the decoder's limit plus one, and by maxWholeOut, past which
// it is inflated again as it is read rather than held: that costs a second pass over
// the first maxWholeOut bytes, for a message that compresses more than 16 to 1 past 1
// MiB, and bounds what one message holds to maxWhole plus maxWholeOut (at most
// 1 MiB + 32 KiB of history + 64 KiB). Buffers larger than keepIn and keepOut do not
// go back to the pool.
const (
	maxWholeOut = 1 << 20
	keepIn      = 80 << 10
	keepOut     = 256 << 10
)

// maxWhole is a variable for the tests, which set it to 0 to inflate every message as
// it is read.
var maxWhole = 64 << 10

// whole is a message read whole: its compressed bytes, the tables, and its plaintext
// after the history, served from pos.
type whole struct {
	t   huffTables
	in  []byte
	out []byte
	pos int
	err error // what follows the plaintext: io.EOF, or why it stopped
}

var wholePool sync.Pool

// start reads the message's payload whole and inflates it, or, if it is longer than
// maxWhole or its source fails first, starts inflating it as it is read.
func (d *Decoder) start() {
	r := d.src
	d.src = nil
	w, _ := wholePool.Get().(*whole)
	if w == nil {
		w = new(whole)
	}
	d.w = w
	in := w.in[:0]
	var err error
	for err == nil && len(in) <= maxWhole {
		if len(in) == cap(in) {
			in = slices.Grow(in, min(max(1024, len(in)), maxWhole+1-len(in))+len(tail)+fastIn)
		}
		var n int
		n, err = r.Read(in[len(in):min(cap(in), maxWhole+1)])
		in = in[:len(in)+n]
	}
	w.in = in
	if err != io.EOF {
		// Cut short, failed, or too long: the streaming reader gets what was
		// read, then the same error or the rest, and fails or goes on exactly as
		// if it had read it all itself.
		d.stream(r, in, err)
		return
	}
	payload := len(in)
	// Room after the tail lets the inflater's fast loop run to the end (see
	// huffman).
	in = append(slices.Grow(in, len(tail)+fastIn), tail...)

	maxOut, fromLimit := maxWholeOut, false
	if d.limit >= 0 && d.limit < maxWholeOut {
		maxOut, fromLimit = int(d.limit)+1, true
	}
	hl := 0
	if d.takeover {
		hl = min(d.hist.len(), d.hist.window)
	}
	if need := bufSize(hl+min(maxOut, 4*payload+1024), hl+maxOut); cap(w.out) < need {
		w.out = make([]byte, 0, need)
	}
	out := w.out[:0]
	if d.takeover {
		out = d.hist.appendLast(out, hl)
	}
	out, end, ierr := inflate(&w.t, out, hl, in, maxOut)
	w.out = out
	switch {
	case ierr == ErrTooBig && !fromLimit:
		// The streaming reader keeps its own window: the MiB inflated so far
		// would only be held until End, and is too large for the pool.
		w.out = nil
		d.stream(r, in[:payload], io.EOF)
		return
	case ierr == nil && end < payload:
		// RFC 7692, Section 7.2.3.4 lets a message end with a final block; what
		// follows it cannot be DEFLATE data.
		ierr = ErrCorrupt
	case ierr == nil:
		ierr = io.EOF
	}
	w.pos, w.err = hl, ierr
}

// read serves the plaintext, then its error: io.EOF with the last bytes, any other
// error on the call after them, so that the caller sees every byte decoded first.
func (w *whole) read(p []byte) (int, error) {
	n := copy(p, w.out[w.pos:])
	w.pos += n
	if w.pos < len(w.out) {
		return n, nil
	}
	if n > 0 && w.err != io.EOF {
		return n, nil
	}
	return n, w.err
}

func (w *whole) release() {
	if cap(w.in) > keepIn {
		w.in = nil
	}
	if cap(w.out) > keepOut {
		w.out = nil
	}
	w.in, w.out, w.pos, w.err = w.in[:0], w.out[:0], 0, nil
	wholePool.Put(w)
}
