package deflate

import (
	"encoding/binary"
	"math/bits"
)

// farMatch is the distance beyond which a 3-byte match costs more than its literals.
const farMatch = 4096

func hash3(b []byte, i int, shift uint) uint32 {
	v := uint32(b[i])<<16 | uint32(b[i+1])<<8 | uint32(b[i+2])
	return (v * 0x9E3779B1) >> shift
}

// match runs LZ77 over the pending input s.buf[s.histLen:], finding back-references into
// the whole buffer no further than the window, and fills s.tokens and the frequencies.
//
// Hash chains: head maps a hash to the latest position+1 (0: none) and prev maps a
// position modulo the window to the previous position with the same hash. A slot is
// reused only by a position a whole window later, so while the walk stays within the
// window (candidate >= p-window) every link it follows is intact.
func (e *Encoder) match() {
	s := e.s
	buf := s.buf
	n := len(buf)
	lv := e.level
	// Only the most recent history is indexed, at least lv.histIndex bytes and
	// four times the pending input.
	first := max(0, s.histLen-max(lv.histIndex, 4*(n-s.histLen)))
	hb := min(hashBitsHi, max(8, bits.Len(uint(n-first))+1))
	shift := uint(32 - hb)
	head := s.head[:1<<hb]
	clear(head)
	clear(s.litF[:])
	clear(s.distF[:])
	wmask := e.window - 1

	ins := 0
	insertTo := func(q int) {
		for ; ins < q && ins+minMatch <= n; ins++ {
			h := hash3(buf, ins, shift)
			s.prev[ins&wmask] = head[h]
			head[h] = int32(ins + 1)
		}
		ins = max(ins, q)
	}
	// find returns the longest match at p longer than prev (a match found
	// one byte earlier, which a lazy search must beat), or 0, 0.
	find := func(p, prev int) (length, dist int) {
		if p+minMatch > n {
			return 0, 0
		}
		maxLen := min(maxMatch, n-p)
		if prev >= maxLen {
			return 0, 0
		}
		limit := p - e.window
		best, bestDist := max(minMatch-1, prev), 0
		chain := lv.chain
		if prev > 0 && prev >= lv.good {
			chain >>= 2 // a good match already: search less, as zlib does
		}
		c := int(head[hash3(buf, p, shift)]) - 1
		for ; c >= 0 && c >= limit && chain > 0; chain-- {
			if buf[c+best] == buf[p+best] {
				l := matchLen(buf[c:c+maxLen], buf[p:p+maxLen])
				if l > best {
					best, bestDist = l, p-c
					if l >= lv.nice || l == maxLen {
						break
					}
				}
			}
			next := int(s.prev[c&wmask]) - 1
			if next >= c {
				break
			}
			c = next
		}
		if bestDist == 0 || (best == minMatch && bestDist > farMatch) {
			return 0, 0
		}
		return best, bestDist
	}

	ins = first
	insertTo(s.histLen)
	misses := 0 // searches in a row that found nothing
	for p := s.histLen; p < n; {
		insertTo(p)
		l, d := find(p, 0)
		if l >= minMatch && l < lv.lazy && p+1 < n {
			insertTo(p + 1)
			if l2, d2 := find(p+1, l); l2 > l {
				e.literal(buf[p])
				p++
				l, d = l2, d2
			}
		}
		if l < minMatch {
			e.literal(buf[p])
			p++
			if lv.lazy == 0 {
				// The fast levels search ever more sparsely through data
				// that keeps finding nothing, as snappy and compress/flate
				// do: incompressible input then costs little.
				misses++
				for skip := misses >> 5; skip > 0 && p < n; skip-- {
					e.literal(buf[p])
					p++
				}
				if misses >= 32 {
					ins = max(ins, p)
				}
			}
			continue
		}
		misses = 0
		s.tokens = append(s.tokens, uint32(l)<<16|uint32(d))
		s.litF[257+int(lengthSym[l-minMatch])]++
		s.distF[distSym(d)]++
		p += l
		if lv.lazy == 0 && l > lv.nice {
			// The fast levels do not index the inside of a long match, as
			// zlib's do not: repetitive data then costs little to scan.
			ins = max(ins, p)
		}
	}
}

func (e *Encoder) literal(b byte) {
	e.s.tokens = append(e.s.tokens, uint32(b))
	e.s.litF[b]++
}

// matchLen returns the length of the common prefix of a and b, len(a) <= len(b),
// comparing eight bytes at a time.
func matchLen(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for ; n < len(a); n++ {
		if a[n] != b[n] {
			return n
		}
	}
	return n
}
