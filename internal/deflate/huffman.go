package deflate

import (
	"cmp"
	"math/bits"
	"slices"
)

// RFC 1951, Section 3.2.5: the length codes 257-285 and distance codes 0-29, each with a
// base value and a number of extra bits.
var (
	lengthBase  [29]uint16
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    [30]uint16
	distExtra   [30]uint8
	// lengthSym maps a match length minus 3 to its length code minus 257.
	lengthSym [256]uint8
)

// Fixed Huffman codes of RFC 1951, Section 3.2.6, bit-reversed for an LSB-first writer.
var (
	fixedLit  huffCode
	fixedDist huffCode
)

// codeLengthOrder is the order in which the code length code lengths are sent
// (RFC 1951, Section 3.2.7).
var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func init() {
	base := uint16(3)
	for i := range 28 {
		lengthBase[i] = base
		for range 1 << lengthExtra[i] {
			if base-3 < 256 {
				lengthSym[base-3] = uint8(i)
			}
			base++
		}
	}
	// RFC 1951, Section 3.2.5: code 285 is length 258 with no extra bits, although 284
	// with 5 extra bits could also reach 258 (its range stops at 257).
	lengthBase[28] = 258
	lengthSym[255] = 28

	d := uint16(1)
	for i := range 30 {
		if i >= 4 {
			distExtra[i] = uint8(i/2 - 1)
		}
		distBase[i] = d
		d += 1 << distExtra[i]
	}

	var lit [288]uint8
	for i := range lit {
		switch {
		case i < 144:
			lit[i] = 8
		case i < 256:
			lit[i] = 9
		case i < 280:
			lit[i] = 7
		default:
			lit[i] = 8
		}
	}
	fixedLit.setLengths(lit[:])
	var dist [30]uint8
	for i := range dist {
		dist[i] = 5
	}
	fixedDist.setLengths(dist[:])
}

// distSym returns the distance code for a distance of 1-32768.
func distSym(d int) int {
	d--
	if d < 4 {
		return d
	}
	nb := bits.Len(uint(d)) - 1
	return 2*nb + (d>>(nb-1))&1
}

// huffCode is a canonical Huffman code: per symbol, its length and its bit-reversed code.
type huffCode struct {
	length []uint8
	code   []uint16
}

// setLengths assigns canonical codes to the lengths (RFC 1951, Section 3.2.2).
func (h *huffCode) setLengths(lengths []uint8) {
	h.length = append(h.length[:0], lengths...)
	if cap(h.code) < len(lengths) {
		h.code = make([]uint16, len(lengths))
	}
	h.code = h.code[:len(lengths)]
	var count [16]uint16
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lengths {
		if l == 0 {
			h.code[s] = 0
			continue
		}
		h.code[s] = bits.Reverse16(next[l]) >> (16 - l)
		next[l]++
	}
}

// bitCost returns the number of bits freq costs under h, extra bits not included.
func (h *huffCode) bitCost(freq []uint32) int {
	n := 0
	for s, f := range freq {
		n += int(f) * int(h.length[s])
	}
	return n
}

// huffBuilder computes length-limited Huffman code lengths; it keeps its buffers between
// calls.
type huffBuilder struct {
	leaves []leaf
	freq   []uint32
	parent []int32
	weight []uint64
	depth  []uint8
}

type leaf struct {
	sym  uint16
	freq uint32
}

// lengths writes into out the code lengths of a Huffman code for freq whose longest code
// is at most limit bits. Symbols of frequency 0 get no code, except that at least two
// symbols always get one, so that the code is complete (a one-code tree trips some
// decoders).
func (b *huffBuilder) lengths(freq []uint32, limit int, out []uint8) {
	b.freq = append(b.freq[:0], freq...)
	nz := 0
	for _, f := range b.freq {
		if f != 0 {
			nz++
		}
	}
	for s := 0; nz < 2 && s < len(b.freq); s++ {
		if b.freq[s] == 0 {
			b.freq[s] = 1
			nz++
		}
	}
	for {
		if b.build(out) <= limit {
			return
		}
		// Flatten the distribution and retry: halving keeps the order of the
		// frequencies roughly and converges in a few rounds.
		for s, f := range b.freq {
			if f != 0 {
				b.freq[s] = (f + 1) / 2
			}
		}
	}
}

// build computes unlimited Huffman code lengths for b.freq into out and returns the
// longest, by the two-queue method over the leaves sorted by frequency.
func (b *huffBuilder) build(out []uint8) int {
	b.leaves = b.leaves[:0]
	for s, f := range b.freq {
		out[s] = 0
		if f != 0 {
			b.leaves = append(b.leaves, leaf{uint16(s), f})
		}
	}
	slices.SortFunc(b.leaves, func(x, y leaf) int {
		if x.freq != y.freq {
			return cmp.Compare(x.freq, y.freq)
		}
		return cmp.Compare(x.sym, y.sym)
	})
	n := len(b.leaves)
	// Nodes 0..n-1 are the leaves, n..2n-2 the internal nodes in creation order.
	b.parent = append(b.parent[:0], make([]int32, 2*n-1)...)
	b.weight = append(b.weight[:0], make([]uint64, 2*n-1)...)
	for i, l := range b.leaves {
		b.weight[i] = uint64(l.freq)
	}
	li, ii, next := 0, n, n
	pick := func() int {
		if li < n && (ii >= next || b.weight[li] <= b.weight[ii]) {
			li++
			return li - 1
		}
		ii++
		return ii - 1
	}
	for next < 2*n-1 {
		x, y := pick(), pick()
		b.weight[next] = b.weight[x] + b.weight[y]
		b.parent[x], b.parent[y] = int32(next), int32(next)
		next++
	}
	// Depths from the root down: internal nodes are created after their children.
	b.depth = append(b.depth[:0], make([]uint8, 2*n-1)...)
	depth := b.depth
	longest := 0
	for i := 2*n - 3; i >= 0; i-- {
		depth[i] = depth[b.parent[i]] + 1
	}
	for i, l := range b.leaves {
		out[l.sym] = depth[i]
		longest = max(longest, int(depth[i]))
	}
	return longest
}
