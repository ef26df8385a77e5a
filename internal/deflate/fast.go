package deflate

import "math/bits"

// fastEnc is the level-1 compressor: greedy LZ77 with one hash table, in the manner of
// the fastest levels of zlib-derived encoders, and one dynamic Huffman block per 64 KiB
// of input. Its distances stay under the window it is given, any of 1 to 32 KiB: the
// longest is window-1, as zlib's and klauspost's, so that a peer that keeps only the
// window's bytes has every byte referred to.
//
// The table maps a hash of 5 bytes to the last position that had it, as a virtual
// position plus one: win[i] is at virtual position off+i. Moving the window or starting
// afresh only advances off, so no table is cleared until off nears its bound; an entry
// before off is gone, and 0 is empty.
type fastEnc struct {
	table   [1 << fastBits]uint32
	off     uint32
	win     []byte // the history, then the pending input from start
	start   int
	indexed int // the positions of win before it are in the table (or skipped)
	window  int
	shift   uint // 64 minus the hash's bits
	toks    []uint32
	litF    [286]uint32
	distF   [30]uint32
	dyn     dynamicCode
	w       bitSink
}

const (
	fastBits = 14
	// fastBlock is the input one block covers, which bounds the tokens held: 4 bytes
	// per input byte at most.
	fastBlock = 64 << 10
	// fastMargin is how far from the end of its input the matcher stops looking for
	// matches: it loads 8 bytes at a time.
	fastMargin = 8
	// fastSkip: after 2^fastSkip bytes without a match the search steps 2 bytes at a
	// time, then 3, and so on, so that incompressible input costs little.
	fastSkip = 5
	// offLimit bounds off; past it the table is cleared. Positions stay under 2^32
	// as off stays under offLimit plus one block and the window, and a message given
	// whole is at most wholeMax.
	offLimit = 1 << 30
	wholeMax = 1 << 30
)

// fastHash hashes the low 5 bytes of u into 64-shift bits.
func fastHash(u uint64, shift uint) uint32 {
	return uint32((u << 24) * 0x9e3779b97f4a7c15 >> shift)
}

// hashShift sizes the hash for a stream of about n bytes: a table of twice as many
// entries, up to the whole table. A short message then touches a part of the table
// small enough to stay in the cache.
func hashShift(n int) uint {
	return 64 - uint(min(fastBits, max(9, bits.Len(uint(n))+1)))
}

// forget makes every table entry stale and drops the history: nothing before goes on.
func (f *fastEnc) forget() {
	f.off += uint32(len(f.win)) + maxWindow + 1
	if f.off > offLimit {
		clear(f.table[:])
		f.off = 0
	}
	f.win = f.win[:0]
	f.start, f.indexed = 0, 0
}

// reset starts a stream whose distances stay within window, going on from seed, the
// newest plaintext before it (none without context takeover).
func (f *fastEnc) reset(window int, seed []byte) {
	f.forget()
	f.window = window
	f.shift = hashShift(window)
	f.win = append(f.win, seed...)
	f.start = len(seed)
}

// write adds p to the stream, compressing a block each time fastBlock bytes are
// pending, after f.w.out.
func (f *fastEnc) write(p []byte) {
	for len(p) > 0 {
		if len(f.win)-f.start >= fastBlock {
			f.compress()
		}
		if n := f.start - f.window; n > 0 {
			// Keep the window's worth of history only.
			copy(f.win, f.win[n:])
			f.win = f.win[:len(f.win)-n]
			f.off += uint32(n)
			f.start -= n
			f.indexed = max(0, f.indexed-n)
			if f.off > offLimit {
				// A long stream: start the table again, with the history to index.
				clear(f.table[:])
				f.off, f.indexed = 0, 0
			}
		}
		k := min(len(p), fastBlock-(len(f.win)-f.start))
		f.win = append(f.win, p[:k]...)
		p = p[k:]
	}
}

// finish compresses what is pending and ends the message with a sync flush.
func (f *fastEnc) finish() {
	if len(f.win) > f.start {
		f.compress()
	}
	f.w.syncFlush()
}

func (f *fastEnc) compress() {
	f.match(f.win, f.start)
	f.w.block(f.win[f.start:], f.toks, &f.litF, &f.distF, &f.dyn)
	f.start = len(f.win)
}

// whole compresses p, at most wholeMax bytes, as a message of its own, with no
// history, in place.
func (f *fastEnc) whole(p []byte, window int) {
	f.forget()
	f.window = window
	f.shift = hashShift(min(len(p), window))
	for i := 0; i < len(p); i += fastBlock {
		src := p[:min(len(p), i+fastBlock)]
		f.match(src, i)
		f.w.block(src[i:], f.toks, &f.litF, &f.distF, &f.dyn)
	}
	f.w.syncFlush()
	f.off += uint32(len(p)) // forget, at the next reset, goes past p too
}

// match finds the tokens of src[start:] and counts their symbols; src[:start] is the
// history it may refer to, within the window.
func (f *fastEnc) match(src []byte, start int) {
	clear(f.litF[:])
	clear(f.distF[:])
	// A token per byte at most, and 2 for a match split at 258 bytes.
	if cap(f.toks) < len(src)-start+2 {
		f.toks = make([]uint32, len(src)-start+2)
	}
	toks := f.toks[:cap(f.toks)]
	n := 0
	off, window, shift := f.off, f.window, f.shift
	limit := len(src) - fastMargin
	for i := f.indexed; i < start && i <= limit; i++ {
		f.table[fastHash(le.Uint64(src[i:]), shift)] = off + uint32(i) + 1
	}
	s, emit := start, start
	if s < limit {
		cv := le.Uint64(src[s:])
	search:
		for {
			// A match of 4 bytes at least, at c.
			// Two positions per round, both from one load: s and s+1.
			var c int
			for {
				h := fastHash(cv, shift)
				c = int(f.table[h]) - 1 - int(off)
				f.table[h] = off + uint32(s) + 1
				h = fastHash(cv>>8, shift)
				c1 := int(f.table[h]) - 1 - int(off)
				f.table[h] = off + uint32(s) + 2
				if c >= 0 && s-c < window && uint32(cv) == le.Uint32(src[c:]) {
					break
				}
				if c1 >= 0 && s+1-c1 < window && uint32(cv>>8) == le.Uint32(src[c1:]) {
					s, c = s+1, c1
					break
				}
				s += 2 + (s-emit)>>fastSkip
				if s >= limit {
					break search
				}
				cv = le.Uint64(src[s:])
			}
			// Extend it backwards over what is not emitted yet, then forwards.
			for c > 0 && s > emit && src[c-1] == src[s-1] {
				c--
				s--
			}
			l := 4
			for a, b := src[s+4:], src[c+4:]; ; {
				if len(a) < 8 {
					for l-4 < len(a) && a[l-4] == b[l-4] {
						l++
					}
					break
				}
				x := le.Uint64(a) ^ le.Uint64(b)
				if x != 0 {
					l += bits.TrailingZeros64(x) >> 3
					break
				}
				l += 8
				a, b = a[8:], b[8:]
			}
			for _, b := range src[emit:s] {
				toks[n] = uint32(b)
				f.litF[b]++
				n++
			}
			if l <= 258 {
				d := uint32(s - c)
				ds := distSym(d)
				ls := uint32(lenSym[l-3])
				f.litF[257+ls]++
				f.distF[ds&31]++
				toks[n] = 1<<31 | ls<<26 | (uint32(l)-uint32(lenBase[ls]))<<21 | ds<<16 | (d - uint32(dstBase[ds&31]))
				n++
			} else {
				n = f.emitMatch(toks, n, l, s-c)
			}
			s += l
			emit = s
			if s >= limit {
				break
			}
			cv = le.Uint64(src[s:])
		}
	}
	for _, b := range src[emit:] {
		toks[n] = uint32(b)
		f.litF[b]++
		n++
	}
	f.toks = toks[:n]
	f.indexed = max(start, min(s, limit+1))
}

// emitMatch adds the tokens of a match of length l at distance d at toks[n] and returns
// the next n. A token of a match is 1<<31 | its length code minus 257 << 26 | the
// length's extra bits << 21 | its distance code << 16 | the distance's extra bits; a
// literal is its byte.
func (f *fastEnc) emitMatch(toks []uint32, n, l, d int) int {
	ds := distSym(uint32(d))
	dx := uint32(d) - uint32(dstBase[ds])
	for l > 0 {
		k := l
		if k > 258 {
			// RFC 1951, Section 3.2.5: no length over 258, none under 3.
			k = 258
			if l-258 < 3 {
				k = l - 3
			}
		}
		ls := uint32(lenSym[k-3])
		f.litF[257+ls]++
		f.distF[ds]++
		toks[n] = 1<<31 | ls<<26 | (uint32(k)-uint32(lenBase[ls]))<<21 | ds<<16 | dx
		n++
		l -= k
	}
	return n
}
