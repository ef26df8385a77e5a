package deflate

import (
	"bytes"
	"sync/atomic"
	"weak"

	"github.com/klauspost/compress/flate"
)

// Level bounds, as zlib's. DefaultLevel is zlib's default.
const (
	MinLevel     = 1
	MaxLevel     = 9
	DefaultLevel = 6
)

// Window bounds (RFC 7692, Section 7.1.2.1: "a value in the range of 8 to 15").
const (
	minBits   = 8
	maxBits   = 15
	maxWindow = 1 << maxBits
)

// syncMarker is what a sync flush ends with: the LEN and NLEN of an empty stored block.
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// Encoder compresses the messages of one direction of a permessage-deflate connection
// into raw DEFLATE (RFC 1951) whose back-references never reach further than its window.
// Between messages it holds only the history the next message may refer to (none without
// context takeover); the compressor itself is borrowed from a pool for the duration of a
// message. An Encoder is not safe for concurrent use.
type Encoder struct {
	bits     int
	level    int
	takeover bool
	// fast: level 1, at every window, compressed by the package's own fastEnc (see
	// the package doc, Level 1).
	fast bool
	// alone: level 1 without context takeover, whose whole messages of up to
	// statelessMax bytes go through flate.StatelessDeflate (see Message).
	alone bool
	out   sink // Message's output, kept here so that it does not escape per call
	hist  history
	d     *deflater              // the compressor of the message in progress
	last  weak.Pointer[deflater] // the compressor of the last message, if still idle
	id    uint64                 // names this encoder's stream in deflater.owner
}

// NewEncoder returns an encoder whose back-references stay within 2^windowBits bytes
// (8-15; out-of-range values are clamped) at the given level (1-9; 0 means
// DefaultLevel). The level applies to 15-bit windows; a smaller window has a single
// level of its own (see the package doc). With contextTakeover it lets a message refer
// to the ones before it, as the peer's decoder keeps their plaintext (RFC 7692, Section
// 7.1.1).
func NewEncoder(windowBits, level int, contextTakeover bool) *Encoder {
	windowBits = min(max(windowBits, minBits), maxBits)
	if level <= 0 {
		level = DefaultLevel
	}
	level = min(level, MaxLevel)
	alone := level == 1 && !contextTakeover
	fast := level == 1
	if windowBits < maxBits {
		level = 0 // one compressor of the library's serves levels 2-9 of a small window
	}
	e := &Encoder{bits: windowBits, level: level, takeover: contextTakeover, alone: alone, fast: fast}
	e.hist.window = 1 << windowBits
	return e
}

// seedLimit and seedMin bound the history a compressor is seeded with: as much as the
// message's first part, within them. Seeding one of klauspost's costs about as much as
// compressing the seed, the level-1 compressor's about 1 ns a byte (it indexes every
// position), and the bytes furthest back matter least. For chat-like JSON at level 1, seeding 8 KiB
// rather than 32 KiB costs under 1% in size and saves about 60% of the time; a message
// of 256 B or 1 KiB seeded with 2 KiB rather than 8 KiB takes half the time (9 rather
// than 18 µs, 11 rather than 22 µs of CPU) and comes out 5% and 3% larger, one of 4 KiB
// seeded with 4 KiB 23% less time for 0.2% in size (BenchmarkEncode, takeover=seeded).
// A compressor taken back from its own last message keeps its whole window.
const (
	seedLimit = 8 << 10
	seedMin   = 2 << 10
)

// nextID numbers the encoders that keep a stream across messages.
var nextID atomic.Uint64

// Append compresses p as the next part of the current message and appends the complete
// output bytes to dst; up to 64 KiB of input and a few bits stay pending until a later
// Append or Finish. p is not retained.
func (e *Encoder) Append(dst, p []byte) []byte {
	e.begin(len(p))
	d := e.d
	if d.fe != nil {
		d.fe.w.out = dst
		d.fe.write(p)
		dst, d.fe.w.out = d.fe.w.out, nil
	} else {
		d.out.b = dst
		_, _ = d.fw.Write(p) // a sink never fails
		dst, d.out.b = d.out.b, nil
	}
	if e.takeover {
		e.hist.write(p)
	}
	return dst
}

// Finish ends the message: it compresses pending input and flushes with an empty stored
// block whose final 00 00 ff ff is left out (RFC 7692, Section 7.2.1: "Remove 4 octets
// (that are 0x00 0x00 0xff 0xff) from the tail end"). It appends the output to dst and
// returns the compressor to its pool; the history is kept only with context takeover.
func (e *Encoder) Finish(dst []byte) []byte {
	e.begin(0)
	d := e.d
	if d.fe != nil {
		d.fe.w.out = dst
		d.fe.finish() // it leaves the 00 00 ff ff out itself
		dst, d.fe.w.out = d.fe.w.out, nil
	} else {
		d.out.b = dst
		_ = d.fw.Flush()
		dst, d.out.b = d.out.b, nil
		if !bytes.HasSuffix(dst, syncMarker) {
			panic("deflate: a sync flush that does not end in 00 00 ff ff")
		}
		dst = dst[:len(dst)-len(syncMarker)]
	}
	if e.takeover {
		// The compressor's own history is now exactly e.hist: the next message may go
		// on from it if no other encoder takes it meanwhile.
		e.last = d.self
	}
	e.release()
	return dst
}

// statelessMax bounds the messages Message compresses with flate.StatelessDeflate: up to
// 16 KiB it comes out the same size within 1% as the level-1 compressor's, for about the
// same CPU time alone and less beside other work; beyond, it takes more time and comes
// out larger (see the package doc).
const statelessMax = 16 << 10

// Message compresses p as a whole message and appends it to dst; the result is what
// Finish(Append(dst, p)) gives, within the same window. p is not retained.
//
// At level 1 without context takeover a message of up to statelessMax bytes is
// compressed by flate.StatelessDeflate, which needs no compressor at all: no tables to
// borrow or reset, only a 16 KiB hash table on the stack. Its back-references stay
// within the input it is given (one message, here), so they reach at most len(p)-1
// bytes back: within a 15-bit window always (the longest is 32767), and within a
// smaller one when p is no longer than the window (RFC 7692, Section 7.1.2.1); a
// longer message for a small window takes the windowed compressor.
func (e *Encoder) Message(dst, p []byte) []byte {
	if e.alone && e.d == nil && len(p) <= statelessMax && (e.bits == maxBits || len(p) <= 1<<e.bits) {
		n := len(dst)
		e.out.b = dst
		_ = flate.StatelessDeflate(&e.out, p, false, nil) // a sink never fails
		dst, e.out.b = e.out.b, nil
		// Not being at the end of the stream, it ends with an empty stored block,
		// as a sync flush does. Should a version of the library end otherwise, the
		// compressor does the message (TestMessageStateless then fails).
		if bytes.HasSuffix(dst, syncMarker) {
			return dst[:len(dst)-len(syncMarker)]
		}
		dst = dst[:n]
	}
	if e.fast && !e.takeover && e.d == nil && len(p) <= wholeMax {
		// Without history the message is compressed where it lies.
		d := e.pool().get(e.bits, e.level, 0)
		d.owner = 0 // no stream goes on from it
		d.fe.w.out = dst
		d.fe.whole(p, 1<<e.bits)
		dst, d.fe.w.out = d.fe.w.out, nil
		d.release(e.pool())
		return dst
	}
	return e.Finish(e.Append(dst, p))
}

// Reset drops the history and any message in progress and returns the compressor to its
// pool.
func (e *Encoder) Reset() {
	e.hist.reset()
	e.last = weak.Pointer[deflater]{}
	e.id = 0 // no compressor goes on from the stream dropped
	e.release()
}

// begin borrows a compressor for a message whose first part is n bytes long: with context
// takeover, the one of the last message if it is still idle and nobody used it since, so
// that it goes on from its history; else any, seeded with the newest history (RFC 7692,
// Section 7.2.1: with context takeover the sender "may use" the plaintext of previous
// messages, so it may use as little of it as it likes).
func (e *Encoder) begin(n int) {
	if e.d != nil {
		return
	}
	if e.takeover && e.id == 0 {
		e.id = nextID.Add(1)
	}
	d := e.last.Value()
	e.last = weak.Pointer[deflater]{}
	if d == nil || !d.claim() {
		d = e.pool().get(e.bits, e.level, e.id)
	}
	if e.d = d; e.takeover && d.owner == e.id {
		return
	}
	var dict []byte
	if e.takeover {
		dict = e.hist.last(min(seedLimit, max(seedMin, n)), &d.scratch)
	}
	// With no history this also drops what the compressor's last user left.
	if d.fe != nil {
		d.fe.reset(1<<e.bits, dict)
	} else {
		d.fw.ResetDict(&d.out, dict)
	}
	d.owner = e.id
}

func (e *Encoder) release() {
	if e.d != nil {
		e.d.release(e.pool())
		e.d = nil
	}
}
