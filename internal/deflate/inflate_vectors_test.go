package deflate_test

// This file writes DEFLATE streams bit by bit (RFC 1951, Section 3.1.1), so that the
// inflater's tests can build blocks no compressor makes: every distance, every code
// the format forbids, and Huffman codes that are over-subscribed or incomplete.

// bitWriter packs bits least significant first.
type bitWriter struct {
	b   []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) *bitWriter {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
	return w
}

// code writes a Huffman codeword, which the format packs most significant bit first.
func (w *bitWriter) code(c uint32, l uint) *bitWriter {
	var r uint64
	for i := range l {
		r |= uint64(c>>i&1) << (l - 1 - i)
	}
	return w.bits(r, l)
}

// align pads to a byte boundary with zeros.
func (w *bitWriter) align() *bitWriter {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
	return w
}

func (w *bitWriter) bytes() []byte {
	b := append([]byte{}, w.b...)
	if w.n > 0 {
		b = append(b, byte(w.acc))
	}
	return b
}

// header writes a block header: BFINAL, then BTYPE (Section 3.2.3).
func (w *bitWriter) header(final bool, btype uint64) *bitWriter {
	f := uint64(0)
	if final {
		f = 1
	}
	return w.bits(f, 1).bits(btype, 2)
}

// stored writes a stored block (Section 3.2.4).
func (w *bitWriter) stored(final bool, data []byte) *bitWriter {
	w.header(final, 0).align()
	n := uint64(len(data))
	w.bits(n, 16).bits(^n&0xffff, 16)
	for _, c := range data {
		w.bits(uint64(c), 8)
	}
	return w
}

// fixedSym writes a literal/length symbol with the fixed code (Section 3.2.6).
func (w *bitWriter) fixedSym(sym int) *bitWriter {
	switch {
	case sym < 144:
		return w.code(uint32(0x30+sym), 8)
	case sym < 256:
		return w.code(uint32(0x190+sym-144), 9)
	case sym < 280:
		return w.code(uint32(sym-256), 7)
	}
	return w.code(uint32(0xc0+sym-280), 8)
}

// lengthSym returns the symbol and extra bits of a match length (Section 3.2.5).
func lengthSym(length int) (sym int, extra uint64, n uint) {
	if length == 258 {
		return 285, 0, 0
	}
	base := 3
	for i := range 28 {
		e := 0
		if i >= 8 {
			e = i/4 - 1
		}
		if length < base+1<<e {
			return 257 + i, uint64(length - base), uint(e)
		}
		base += 1 << e
	}
	panic("length out of range")
}

// distSym returns the code and extra bits of a distance.
func distSym(d int) (code int, extra uint64, n uint) {
	base := 1
	for i := range 30 {
		e := 0
		if i >= 4 {
			e = i/2 - 1
		}
		if d < base+1<<e {
			return i, uint64(d - base), uint(e)
		}
		base += 1 << e
	}
	panic("distance out of range")
}

// fixedMatch writes a match with the fixed codes.
func (w *bitWriter) fixedMatch(length, dist int) *bitWriter {
	sym, extra, n := lengthSym(length)
	w.fixedSym(sym).bits(extra, n)
	code, extra, n := distSym(dist)
	return w.code(uint32(code), 5).bits(extra, n)
}

// canonical returns the codewords of the canonical Huffman code with the given lengths
// (Section 3.2.2), whether or not the lengths make a valid code.
func canonical(lens []uint8) []uint32 {
	var count [16]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint32
	code := uint32(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lens))
	for i, l := range lens {
		if l != 0 {
			codes[i] = next[l]
			next[l]++
		}
	}
	return codes
}

// preLens is a complete code length code: symbols 0-12 of 4 bits, 13-18 of 5.
var preLens = func() []uint8 {
	l := make([]uint8, 19)
	for i := range l {
		l[i] = 4
		if i >= 13 {
			l[i] = 5
		}
	}
	return l
}()

var preOrder = []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamicHeader writes the header of a dynamic block (Section 3.2.7) defining lit and
// dist (their lengths as given, valid or not) with the code length code pre, then the
// code length symbols syms (each a symbol and, for 16-18, its extra bits) instead of
// the plain lengths when syms is not nil.
func (w *bitWriter) dynamicHeader(final bool, nlit, ndist int, pre []uint8, syms [][2]int) *bitWriter {
	w.header(final, 2)
	w.bits(uint64(nlit-257), 5).bits(uint64(ndist-1), 5).bits(19-4, 4)
	for _, s := range preOrder {
		w.bits(uint64(pre[s]), 3)
	}
	codes := canonical(pre)
	for _, s := range syms {
		w.code(codes[s[0]], uint(pre[s[0]]))
		switch s[0] {
		case 16:
			w.bits(uint64(s[1]), 2)
		case 17:
			w.bits(uint64(s[1]), 3)
		case 18:
			w.bits(uint64(s[1]), 7)
		}
	}
	return w
}

// dynamic writes the header of a dynamic block with the given code lengths, each
// written as itself.
func (w *bitWriter) dynamic(final bool, lit, dist []uint8) *bitWriter {
	var syms [][2]int
	for _, l := range append(append([]uint8{}, lit...), dist...) {
		syms = append(syms, [2]int{int(l), 0})
	}
	return w.dynamicHeader(final, len(lit), len(dist), preLens, syms)
}
