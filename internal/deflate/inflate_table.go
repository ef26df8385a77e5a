package deflate

import "math/bits"

// The decoding tables of the inflater. A Huffman code (RFC 1951, Section 3.2.2) is
// looked up by the next bits of the stream: the primary table is indexed by the next
// litBits (distBits, preBits) bits, and a codeword longer than that leads to a subtable
// indexed by the bits after them. An entry says everything the loop needs, so that a
// literal or a length with its extra bits costs one lookup:
//
//	bits 0-7    bits the entry consumes: codeword length plus extra bits (a subtable
//	            pointer: the primary bits)
//	bits 8-11   codeword length alone (a subtable pointer: the subtable's index bits)
//	bits 12-15  flags
//	bits 16-31  literal byte, length or distance base, or the subtable's start
const (
	entInvalid = 1 << 12 // a codeword no symbol has, or a symbol the format forbids
	entEOB     = 1 << 13
	entSub     = 1 << 14
	entLiteral = 1 << 15

	litBits  = 11
	distBits = 8
	preBits  = 7

	// The most entries a primary table and its subtables can need for a complete
	// code of at most 15 bits, from zlib's enough program: 288 symbols with 11
	// primary bits, 32 with 8.
	litTableSize  = 2342
	distTableSize = 402
	preTableSize  = 1 << preBits // code length codes are at most 7 bits: no subtables

	maxCodeLen = 15
	numLit     = 286 // RFC 1951, Section 3.2.5: 286 and 287 "will never actually occur"
	numDist    = 30  // and neither will distance codes 30 and 31
)

// codes are the decoding tables of a Huffman block's two codes, side by side so that
// the loop reaches both from one register.
type codes struct {
	lit  [litTableSize]uint32
	dist [distTableSize]uint32
}

// huffTables are the tables of one block, kept with the decoder state so that a
// message reuses them from block to block.
type huffTables struct {
	codes
	pre  [preTableSize]uint32
	lens [numLit + numDist]uint8
}

// litInfo and distInfo are the entries of each symbol without their codeword length:
// the flags, the base and the extra bits (in the consumed-bits field, to which the
// codeword length is added). RFC 1951, Section 3.2.5 gives the bases and extra bits.
var litInfo, distInfo, preInfo = symbolInfo()

func symbolInfo() (lit [288]uint32, dist [32]uint32, pre [19]uint32) {
	for i := range 256 {
		lit[i] = uint32(i)<<16 | entLiteral
	}
	lit[256] = entEOB
	base := uint32(3)
	for i := range 28 {
		extra := uint32(0)
		if i >= 8 {
			extra = uint32(i/4 - 1)
		}
		lit[257+i] = base<<16 | extra
		base += 1 << extra
	}
	lit[285] = 258 << 16
	lit[286], lit[287] = entInvalid, entInvalid
	base = 1
	for i := range 30 {
		extra := uint32(0)
		if i >= 4 {
			extra = uint32(i/2 - 1)
		}
		dist[i] = base<<16 | extra
		base += 1 << extra
	}
	dist[30], dist[31] = entInvalid, entInvalid
	for i := range pre {
		pre[i] = uint32(i) << 16
	}
	return
}

// The tables of fixed Huffman blocks (RFC 1951, Section 3.2.6), built once.
var fixedCodes = fixedTables()

func fixedTables() *codes {
	lens := fixedLitLens
	c := new(codes)
	var dl [32]uint8
	for i := range dl {
		dl[i] = 5
	}
	if !buildTable(c.lit[:], litBits, lens[:], litInfo[:]) || !buildTable(c.dist[:], distBits, dl[:], distInfo[:]) {
		panic("deflate: fixed Huffman tables")
	}
	return c
}

// buildTable fills table, of at least 1<<tableBits entries, for the canonical Huffman
// code whose codeword lengths (0: unused) are lens, symbol i having info[i]. It reports
// false for an over-subscribed or an incomplete code: RFC 1951, Section 3.2.7 allows
// only "a single code length of one, with one unused code" among the incomplete ones,
// which it names for the distance code and which is accepted here for every code, as
// zlib does for literal/length and distance codes and klauspost/compress and
// compress/flate for all three; a code with no symbols is accepted too, every entry
// invalid, so that the block fails only if it uses it (a distance code of all literal
// blocks). The codewords are filled in canonical order into a table that doubles
// (copying itself) at each length, then subtables hold the codewords longer than
// tableBits.
func buildTable(table []uint32, tableBits uint, lens []uint8, info []uint32) bool {
	var count [maxCodeLen + 1]uint16
	for _, l := range lens {
		count[l&maxCodeLen]++
	}
	return buildCounted(table, tableBits, lens, info, &count)
}

// buildCounted is buildTable given the number of codewords of each length, which the
// reader of a dynamic block counts as it reads the lengths; count is overwritten.
func buildCounted(table []uint32, tableBits uint, lens []uint8, info []uint32, count *[maxCodeLen + 1]uint16) bool {
	count[0] = 0
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	size := 1 << tableBits
	if left != 0 {
		used := 0
		for _, c := range count {
			used += int(c)
		}
		switch {
		case used == 0:
			for i := range table[:size] {
				table[i] = entInvalid
			}
			return true
		case used == 1 && count[1] == 1:
			for sym, l := range lens {
				if l != 0 {
					table[0] = info[sym] + 1<<8 + 1
					break
				}
			}
			table[1] = entInvalid
			for end := 2; end < size; end <<= 1 {
				copy(table[end:2*end], table[:end])
			}
			return true
		}
		return false // incomplete
	}

	// Sort the symbols by codeword length, in symbol order within a length: the
	// canonical order of Section 3.2.2.
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	var sorted [288]uint16
	for sym, l := range lens {
		if l != 0 {
			sorted[offs[l&maxCodeLen]] = uint16(sym)
			offs[l&maxCodeLen]++
		}
	}

	// canon is the next codeword of the current length; its index in the table is
	// the codeword bit-reversed, as the stream delivers it (Huffman codes are packed
	// most significant bit first, Section 3.1.1).
	s := 0
	canon := uint16(0)
	end := 1
	l := uint(1)
	for ; l <= tableBits; l++ {
		copy(table[end:2*end], table[:end])
		end <<= 1
		for n := count[l]; n > 0; n-- {
			table[bits.Reverse16(canon)>>(16-l)] = info[sorted[s]] + uint32(l)<<8 + uint32(l)
			s++
			canon++
		}
		canon <<= 1
	}
	if int(offs[maxCodeLen+1]) == s {
		return true
	}

	// Codewords longer than tableBits: one subtable for each tableBits-bit prefix,
	// as large as the codewords under that prefix need.
	mask := uint32(1)<<tableBits - 1
	next := size // where the next subtable starts
	prefix := ^uint32(0)
	subStart, subEnd := 0, 0
	for ; l <= maxCodeLen; l++ {
		for count[l] > 0 {
			code := uint32(bits.Reverse16(canon) >> (16 - l))
			if code&mask != prefix {
				prefix = code & mask
				sub := l - tableBits
				used := uint(count[l])
				for used < 1<<sub {
					sub++
					if tableBits+sub > maxCodeLen {
						return false // not reached for a complete code
					}
					used = used<<1 + uint(count[tableBits+sub])
				}
				subStart, subEnd = next, next+1<<sub
				if subEnd > len(table) {
					return false // not reached for a complete code: the tables are enough
				}
				next = subEnd
				table[prefix] = uint32(subStart)<<16 | entSub | uint32(sub)<<8 | uint32(tableBits)
			}
			e := info[sorted[s]] + uint32(l-tableBits)<<8 + uint32(l-tableBits)
			for i := subStart + int(code>>tableBits); i < subEnd; i += 1 << (l - tableBits) {
				table[i] = e
			}
			s++
			count[l]--
			canon++
		}
		canon <<= 1
	}
	return true
}
