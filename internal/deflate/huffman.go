package deflate

import (
	"math/bits"
	"slices"
)

// The encoder's side of RFC 1951, Section 3.2.5: each length code 257-285 and
// distance code 0-29 with its base value and its number of extra bits, taken from the
// inflater's litInfo and distInfo, padded to 32 entries so that an index of five bits
// needs no bounds check.
var (
	lenBase, lenExtra = encoderInfo(litInfo[257:286])
	dstBase, dstExtra = encoderInfo(distInfo[:30])
	// lenSym maps a match length minus 3 to its length code minus 257.
	lenSym = lengthSyms()
)

func encoderInfo(info []uint32) (base [32]uint16, extra [32]uint8) {
	for i, e := range info {
		base[i], extra[i] = uint16(e>>16), uint8(e&0xff)
	}
	return base, extra
}

func lengthSyms() (sym [256]uint8) {
	for i := range 29 {
		for l := int(lenBase[i]); l < int(lenBase[i])+1<<lenExtra[i] && l <= 258; l++ {
			// RFC 1951, Section 3.2.5: 284 with its 5 extra bits could reach 258,
			// but its range stops at 257; 285, which comes after it, is 258.
			sym[l-3] = uint8(i)
		}
	}
	return sym
}

// distSym returns the distance code of a distance of 1-32768.
func distSym(d uint32) uint32 {
	d--
	if d < 4 {
		return d
	}
	nb := uint32(bits.Len32(d)) - 1
	return 2*nb + (d>>(nb-1))&1
}

// huffBuilder computes length-limited Huffman code lengths; it keeps its buffers
// between calls.
type huffBuilder struct {
	keys, tmp []uint32 // frequency<<9 | symbol, sorted by frequency
	used      []uint16 // the symbols given a codeword, in order
	w         []uint32 // the weights in the order of keys, then the code lengths
}

// lengths sets lens[s] to the length of symbol s's codeword in a Huffman code for freq
// (at most 512 symbols) whose longest codeword is at most limit bits, and 0 for a
// symbol of frequency 0; b.used lists the symbols with a codeword. At least two
// symbols always get one, so that the code is complete: RFC 1951 allows a single
// distance codeword, but a single literal/length one trips some decoders.
func (b *huffBuilder) lengths(freq []uint32, limit int, lens []uint8) {
	b.keys, b.used = b.keys[:0], b.used[:0]
	clear(lens)
	for s, f := range freq {
		if f != 0 {
			b.keys = append(b.keys, f<<9|uint32(s))
			b.used = append(b.used, uint16(s))
		}
	}
	for s := 0; len(b.used) < 2; s++ {
		if freq[s] == 0 {
			b.keys = append(b.keys, 1<<9|uint32(s))
			b.used = append(b.used, uint16(s))
			slices.Sort(b.used)
		}
	}
	b.sort()
	b.w = b.w[:0]
	for _, k := range b.keys {
		b.w = append(b.w, k>>9)
	}
	minimumRedundancy(b.w)

	// b.w now holds the lengths, longest first. Limit them (RFC 1951, Section 3.2.7:
	// 15 bits for the literal/length and distance codes, 7 for the code length code)
	// as zlib-derived encoders do: cap every length, then, while the code is
	// over-subscribed, move a codeword of the longest length down by splitting one
	// shorter leaf, which keeps the lengths ordered by frequency.
	var count [16]int
	for _, l := range b.w {
		count[min(int(l), limit)]++
	}
	if int(b.w[0]) > limit {
		total := 0
		for l := limit; l > 0; l-- {
			total += count[l] << (limit - l)
		}
		for total > 1<<limit {
			count[limit]--
			for l := limit - 1; l > 0; l-- {
				if count[l] != 0 {
					count[l]--
					count[l+1] += 2
					break
				}
			}
			total--
		}
	}
	i := 0
	for l := limit; l > 0; l-- {
		for range count[l] {
			lens[b.keys[i]&0x1ff] = uint8(l)
			i++
		}
	}
}

// sort orders b.keys by frequency, symbols of the same frequency in their order: a
// radix sort, a byte of the frequency at a time, as the frequencies of a block are
// small numbers (under 2^17).
func (b *huffBuilder) sort() {
	n := len(b.keys)
	if n <= 12 {
		slices.Sort(b.keys)
		return
	}
	var top uint32
	for _, k := range b.keys {
		top = max(top, k)
	}
	if cap(b.tmp) < n {
		b.tmp = make([]uint32, n, max(n, 320))
	}
	tmp := b.tmp[:n]
	for shift := uint(9); top>>shift != 0; shift += 8 {
		var at [256]uint16
		for _, k := range b.keys {
			at[byte(k>>shift)]++
		}
		sum := uint16(0)
		for i, c := range at {
			at[i] = sum
			sum += c
		}
		for _, k := range b.keys {
			d := byte(k >> shift)
			tmp[at[d]] = k
			at[d]++
		}
		b.keys, tmp = tmp, b.keys
	}
	b.tmp = tmp
}

// codes sets code[s] for the symbols of the last lengths call, as canonical does.
func (b *huffBuilder) codes(lens []uint8, code []uint32) {
	var count [16]uint16
	for _, s := range b.used {
		count[lens[s]]++
	}
	var next [16]uint16
	c := uint16(0)
	for l := 1; l < 16; l++ {
		c = (c + count[l-1]) << 1
		next[l] = c
	}
	for _, s := range b.used {
		l := lens[s]
		code[s] = uint32(bits.Reverse16(next[l])>>(16-l)) | uint32(l)<<16
		next[l]++
	}
}

// minimumRedundancy replaces the weights w, in ascending order, by the lengths of a
// Huffman code for them, in place (the algorithm of Moffat and Katajainen, "In-place
// calculation of minimum-redundancy codes", 1995): the longest first.
func minimumRedundancy(w []uint32) {
	n := len(w)
	if n == 1 {
		w[0] = 1
		return
	}
	// Left to right: pair the two lightest of the leaves and the internal nodes made
	// so far, each internal node taking its children's place and leaving a pointer to
	// its parent in theirs.
	w[0] += w[1]
	root, leaf := 0, 2
	for next := 1; next < n-1; next++ {
		if leaf >= n || w[root] < w[leaf] {
			w[next] = w[root]
			w[root] = uint32(next)
			root++
		} else {
			w[next] = w[leaf]
			leaf++
		}
		if leaf >= n || (root < next && w[root] < w[leaf]) {
			w[next] += w[root]
			w[root] = uint32(next)
			root++
		} else {
			w[next] += w[leaf]
			leaf++
		}
	}
	// Right to left: the depth of every internal node from its parent's.
	w[n-2] = 0
	for next := n - 3; next >= 0; next-- {
		w[next] = w[w[next]] + 1
	}
	// Right to left again: the leaves' depths, from the number of internal nodes at
	// each depth.
	avail, used, depth := 1, 0, uint32(0)
	root, next := n-2, n-1
	for avail > 0 {
		for root >= 0 && w[root] == depth {
			used++
			root--
		}
		for avail > used {
			w[next] = depth
			next--
			avail--
		}
		avail, depth, used = 2*used, depth+1, 0
	}
}

// canonical sets code[s] to symbol s's codeword for the lengths (RFC 1951, Section
// 3.2.2), bit-reversed for a writer that packs bits from the least significant
// (Section 3.1.1), with its length above bit 16.
func canonical(lens []uint8, code []uint32) {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	c := uint16(0)
	for l := 1; l < 16; l++ {
		c = (c + count[l-1]) << 1
		next[l] = c
	}
	for s, l := range lens {
		if l == 0 {
			continue // never written: its code is left as it was
		}
		code[s] = uint32(bits.Reverse16(next[l])>>(16-l)) | uint32(l)<<16
		next[l]++
	}
}
