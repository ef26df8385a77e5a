package deflate

import (
	"sync"
)

// Limits of the format (RFC 1951).
const (
	minMatch   = 3
	maxMatch   = 258
	chunkSize  = 32 << 10 // plaintext compressed per block; under a stored block's 65535
	maxWindow  = 1 << 15
	hashBitsHi = 15
)

// tokenCheck, when set by a test, sees the tokens of every block before they are coded.
var tokenCheck func(window int, tokens []uint32)

// Level bounds. DefaultLevel balances speed and size like zlib's level 6.
const (
	MinLevel     = 1
	MaxLevel     = 9
	DefaultLevel = 6
)

// levelParams: how many chain entries a match search visits, the length at which it
// stops early, and the length under which it defers a match by one byte to look for a
// longer one (0: never), as zlib's levels do; and how much history, at least, is indexed
// before each block (re-indexing a whole 32 KiB window costs more than compressing a
// short message, whose matches are mostly recent).
type levelParams struct {
	chain     int
	nice      int
	lazy      int
	good      int // a deferred match this long quarters the search for a longer one
	histIndex int
}

var levels = [MaxLevel + 1]levelParams{
	1: {4, 8, 0, 0, 1 << 10}, 2: {8, 16, 0, 0, 1 << 10}, 3: {16, 32, 0, 0, 1 << 10},
	4: {16, 32, 4, 4, 4 << 10}, 5: {32, 64, 16, 8, 4 << 10}, 6: {128, 128, 16, 8, 4 << 10},
	7: {256, 258, 32, 8, maxWindow}, 8: {1024, 258, 128, 32, maxWindow}, 9: {4096, 258, 258, 32, maxWindow},
}

// Encoder compresses the messages of one direction of a permessage-deflate connection
// into raw DEFLATE (RFC 1951) whose back-references never reach further than its window.
// Between messages it holds only the history the next message may refer to (none without
// context takeover); its match-finding tables are borrowed from a pool for the duration of
// a message. An Encoder is not safe for concurrent use.
type Encoder struct {
	window   int
	level    levelParams
	takeover bool
	hist     []byte // plaintext the next message may refer to, at most window bytes
	s        *scratch
	bw       bitWriter
}

// NewEncoder returns an encoder whose back-references stay within 2^windowBits bytes
// (8-15; out-of-range values are clamped) at the given level (1-9; 0 means
// DefaultLevel). With contextTakeover it lets a message refer to the ones before it, as
// the peer's decoder keeps their plaintext (RFC 7692, Section 7.1.1).
func NewEncoder(windowBits, level int, contextTakeover bool) *Encoder {
	windowBits = min(max(windowBits, 8), 15)
	if level <= 0 {
		level = DefaultLevel
	}
	level = min(level, MaxLevel)
	return &Encoder{window: 1 << windowBits, level: levels[level], takeover: contextTakeover}
}

// scratch is the per-message state of an encoder: the plaintext window (history followed
// by pending input), the hash chains over it and the tokens of the block being built.
type scratch struct {
	buf     []byte
	head    []int32
	prev    []int32
	tokens  []uint32
	histLen int
	litF    [286]uint32
	distF   [30]uint32
	dyn     dynamicBlock
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		buf:    make([]byte, 0, maxWindow+chunkSize),
		head:   make([]int32, 1<<hashBitsHi),
		prev:   make([]int32, maxWindow),
		tokens: make([]uint32, 0, chunkSize),
	}
}}

// Append compresses p as the next part of the current message and appends the complete
// output bytes to dst; up to a block of input and a few bits stay pending until a later
// Append or Finish. p is not retained.
func (e *Encoder) Append(dst, p []byte) []byte {
	e.begin()
	for len(p) > 0 {
		s := e.s
		if len(s.buf)-s.histLen == chunkSize {
			dst = e.compress(dst)
		}
		n := min(len(p), chunkSize-(len(s.buf)-s.histLen))
		s.buf = append(s.buf, p[:n]...)
		p = p[n:]
	}
	return dst
}

// begin borrows the per-message state, seeded with the history.
func (e *Encoder) begin() {
	if e.s != nil {
		return
	}
	e.s = scratchPool.Get().(*scratch)
	e.s.buf = append(e.s.buf[:0], e.hist...)
	e.s.histLen = len(e.hist)
}

// Finish ends the message: it compresses pending input, ends the last block and flushes
// with an empty stored block whose final 00 00 ff ff is left out (RFC 7692, Section
// 7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end"). It appends
// the output to dst and returns the pooled state; the history is kept only with context
// takeover.
func (e *Encoder) Finish(dst []byte) []byte {
	e.begin()
	dst = e.compress(dst)
	// An empty stored block, BFINAL 0: three header bits, then padding to a byte; its
	// LEN and NLEN are the 00 00 ff ff that is removed.
	e.bw.writeBits(0, 3)
	dst = e.bw.align(dst)
	if e.takeover {
		h := e.s.buf // compress left exactly the history in buf
		if cap(e.hist) < len(h) {
			e.hist = make([]byte, 0, min(e.window, max(len(h), 2*cap(e.hist))))
		}
		e.hist = append(e.hist[:0], h...)
	}
	e.release()
	return dst
}

// Reset drops the history and any message in progress and returns the pooled state.
func (e *Encoder) Reset() {
	e.hist = nil
	e.bw = bitWriter{}
	e.release()
}

func (e *Encoder) release() {
	if e.s != nil {
		e.s.buf = e.s.buf[:0]
		e.s.histLen = 0
		scratchPool.Put(e.s)
		e.s = nil
	}
}

// compress turns the pending input into one block, then slides the window so that the
// buffer holds only the history the next input may refer to.
func (e *Encoder) compress(dst []byte) []byte {
	s := e.s
	if len(s.buf) == s.histLen {
		return dst
	}
	s.tokens = s.tokens[:0]
	e.match()
	if tokenCheck != nil {
		tokenCheck(e.window, s.tokens)
	}
	dst = e.writeBlock(dst, s.buf[s.histLen:])
	keep := min(e.window, len(s.buf))
	n := copy(s.buf, s.buf[len(s.buf)-keep:])
	s.buf = s.buf[:n]
	s.histLen = n
	return dst
}
