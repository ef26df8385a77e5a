package deflate

import (
	"encoding/binary"
	"errors"
)

// ErrTooBig reports a message that inflates to more than the decoder was allowed to
// produce.
var ErrTooBig = errors.New("deflate: inflated message too big")

// The fast loop runs while one iteration cannot run out of input or output: two word
// refills of the bit buffer (which load at most 12 bytes past the input position of
// the check before them, as the buffer is full there), and three literals, or two
// then a longest match, whose copy may write up to 16 bytes past its end. It enters
// with 8 bytes more, for the refill that fills the buffer first.
const (
	fastIn  = 16
	fastOut = 2 + 258 + 16
)

// inflation is the state of one call to inflate: the input with the bit buffer over it,
// and the output.
type inflation struct {
	in       []byte
	ip       int    // next byte of in to load into bitbuf
	bitbuf   uint64 // bits not yet consumed, the next one lowest
	bitsleft uint   // how many of bitbuf's bits are valid; above them lie 0s or the next input bits
	out      []byte // the whole buffer; out[:op] is history then output
	op       int
	limit    int // op never exceeds it
}

var le = binary.LittleEndian

// inflate decodes the raw DEFLATE stream in (RFC 1951) up to the end of its final block,
// after the first hist bytes of buf, the history back-references may reach (a
// preset dictionary). It returns buf, or a larger buffer holding the same history if buf
// was too small, with the decoded bytes after the history; end is the number of bytes
// of in read, up to the end of the final block. It decodes at most max bytes: when the
// stream has more, it returns those max bytes and [ErrTooBig]. An invalid stream, or
// one that ends before its final block, gives [ErrCorrupt] and the bytes decoded
// before the error. t holds the tables; it is overwritten.
func inflate(t *huffTables, buf []byte, hist int, in []byte, max int) (out []byte, end int, err error) {
	z := inflation{in: in, out: buf[:cap(buf)], op: hist, limit: hist + max}
	for {
		z.refillSlow()
		if z.bitsleft < 3 {
			return z.out[:z.op], 0, ErrCorrupt
		}
		final := z.bitbuf&1 != 0
		btype := (z.bitbuf >> 1) & 3
		z.consume(3)
		switch btype {
		case 0:
			err = z.stored()
		case 1:
			err = z.huffman(fixedCodes)
		case 2:
			if err = z.dynamic(t); err == nil {
				err = z.huffman(&t.codes)
			}
		default:
			err = ErrCorrupt // RFC 1951, Section 3.2.3: BTYPE 11 is "reserved (error)"
		}
		if err != nil {
			return z.out[:z.op], 0, err
		}
		if final {
			consumed := z.ip*8 - int(z.bitsleft)
			return z.out[:z.op], (consumed + 7) / 8, nil
		}
	}
}

func (z *inflation) consume(n uint) {
	z.bitbuf >>= n
	z.bitsleft -= n
}

// refillSlow tops up the bit buffer to at least 56 bits, or as many as the input has.
func (z *inflation) refillSlow() {
	if z.ip+8 <= len(z.in) {
		z.bitbuf |= le.Uint64(z.in[z.ip:]) << z.bitsleft
		z.ip += int(63-z.bitsleft) >> 3
		z.bitsleft |= 56
		return
	}
	for z.bitsleft <= 56 && z.ip < len(z.in) {
		z.bitbuf |= uint64(z.in[z.ip]) << z.bitsleft
		z.ip++
		z.bitsleft += 8
	}
}

// bufSize is the size to give an output buffer that needs size bytes under a bound of
// limit: size, or the whole bound once size passes half of it. A message that inflates
// that far is likely to reach the bound (a decompression bomb does), and then costs
// the bound and less than half as much again, not two or three steps to it.
func bufSize(size, limit int) int {
	if size > limit/2 {
		return limit
	}
	return size
}

// room makes room in the output for n more bytes, growing the buffer up to the limit
// (doubling, see bufSize), and reports how many of them fit.
func (z *inflation) room(n int) int {
	if z.op+n > len(z.out) && len(z.out) < z.limit {
		grown := make([]byte, bufSize(max(2*len(z.out), z.op+n+4096), z.limit))
		copy(grown, z.out[:z.op])
		z.out = grown
	}
	return min(n, min(len(z.out), z.limit)-z.op)
}

// stored copies a stored block (RFC 1951, Section 3.2.4).
func (z *inflation) stored() error {
	// "Any bits of input up to the next byte boundary are ignored": drop them, and
	// give the whole bytes the bit buffer holds back to the input.
	z.ip -= int(z.bitsleft >> 3)
	z.bitbuf, z.bitsleft = 0, 0
	if len(z.in)-z.ip < 4 {
		return ErrCorrupt
	}
	n := int(le.Uint16(z.in[z.ip:]))
	if le.Uint16(z.in[z.ip+2:]) != ^uint16(n) {
		return ErrCorrupt // NLEN is "the one's complement of LEN"
	}
	z.ip += 4
	// A block cut short still gives what it has, as a streaming reader would.
	have := min(n, len(z.in)-z.ip)
	k := z.room(have)
	z.op += copy(z.out[z.op:], z.in[z.ip:z.ip+k])
	z.ip += k
	switch {
	case k < have:
		return ErrTooBig
	case have < n:
		return ErrCorrupt
	}
	return nil
}

// codeOrder is the order of the code length code lengths (RFC 1951, Section 3.2.7).
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads the code definitions of a dynamic Huffman block (RFC 1951, Section
// 3.2.7) and builds its tables.
func (z *inflation) dynamic(t *huffTables) error {
	z.refillSlow()
	if z.bitsleft < 14 {
		return ErrCorrupt
	}
	nlit := int(z.bitbuf&31) + 257
	ndist := int(z.bitbuf>>5&31) + 1
	nclen := int(z.bitbuf>>10&15) + 4
	z.consume(14)
	if nlit > numLit || ndist > numDist {
		return ErrCorrupt // as zlib: codes that "will never actually occur" cannot be defined
	}
	var clens [19]uint8
	for _, sym := range codeOrder[:nclen] {
		if z.bitsleft < 3 {
			z.refillSlow()
			if z.bitsleft < 3 {
				return ErrCorrupt
			}
		}
		clens[sym] = uint8(z.bitbuf & 7)
		z.consume(3)
	}
	if !buildTable(t.pre[:], preBits, clens[:], preInfo[:]) {
		return ErrCorrupt
	}

	// The literal/length and distance code lengths form one sequence: a repeat may
	// run from one into the other.
	bitbuf, bitsleft := z.bitbuf, z.bitsleft
	lens := t.lens[:nlit+ndist]
	// The codewords of each length, counted as they are read: [0] for literal/length
	// codes, [1] for distance codes.
	var counts [2][maxCodeLen + 1]uint16
	for i := 0; i < len(lens); {
		if bitsleft < preBits+7 {
			z.bitbuf, z.bitsleft = bitbuf, bitsleft
			z.refillSlow()
			bitbuf, bitsleft = z.bitbuf, z.bitsleft
		}
		e := t.pre[bitbuf&(preTableSize-1)]
		n := uint(e & 0xff)
		if e&entInvalid != 0 || n > bitsleft {
			return ErrCorrupt
		}
		bitbuf >>= n
		bitsleft -= n
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			if i < nlit {
				counts[0][sym]++
			} else {
				counts[1][sym]++
			}
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			// "Copy the previous code length 3 - 6 times"; there must be one.
			if i == 0 || bitsleft < 2 {
				return ErrCorrupt
			}
			rep, v = 3+int(bitbuf&3), lens[i-1]
			bitbuf >>= 2
			bitsleft -= 2
		case 17:
			if bitsleft < 3 {
				return ErrCorrupt
			}
			rep = 3 + int(bitbuf&7)
			bitbuf >>= 3
			bitsleft -= 3
		default:
			if bitsleft < 7 {
				return ErrCorrupt
			}
			rep = 11 + int(bitbuf&127)
			bitbuf >>= 7
			bitsleft -= 7
		}
		if rep > len(lens)-i {
			return ErrCorrupt
		}
		for j := range lens[i : i+rep] {
			lens[i+j] = v
		}
		k := min(rep, max(nlit-i, 0)) // those of the literal/length code
		counts[0][v&maxCodeLen] += uint16(k)
		counts[1][v&maxCodeLen] += uint16(rep - k)
		i += rep
	}
	z.bitbuf, z.bitsleft = bitbuf, bitsleft
	if !buildCounted(t.lit[:], litBits, lens[:nlit], litInfo[:], &counts[0]) ||
		!buildCounted(t.dist[:], distBits, lens[nlit:], distInfo[:], &counts[1]) {
		return ErrCorrupt
	}
	return nil
}
