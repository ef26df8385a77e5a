package deflate_test

import (
	"errors"
	"fmt"
)

// This file is an inflater written from RFC 1951 for the tests alone: it walks a
// message block by block, so that a test sees every back-reference the encoder made and
// checks it against the window, which the library's own inflaters do not report.

// blockStats is what walk saw of a message.
type blockStats struct {
	stored, fixed, dynamic int // blocks of each type (RFC 1951, Section 3.2.3)
	matches                int
	maxDist                int
}

// walk inflates payload, one permessage-deflate message whose sender removed the final
// 00 00 ff ff of its sync flush (RFC 7692, Section 7.2.1), with hist as the plaintext of
// the messages before it. Every match must stay within window bytes (RFC 7692, Section
// 7.1.2.1: the "LZ77 sliding window" is at most 2^bits) and within the history the
// decoder has (hist, then the message so far). The data must end exactly at the sync
// flush and hold no final block.
func walk(payload, hist []byte, window int) ([]byte, blockStats, error) {
	in := append(append([]byte{}, payload...), 0x00, 0x00, 0xff, 0xff)
	br := bitReader{b: in}
	out := append([]byte{}, hist...)
	base := len(hist)
	var st blockStats
	for {
		if br.pos == 8*len(in) {
			// Only a sync flush ends here: an empty stored block, after which the
			// reader is at a byte boundary with nothing left.
			return out[base:], st, errors.New("no sync flush at the end")
		}
		final, err := br.bits(1)
		if err != nil {
			return nil, st, err
		}
		if final == 1 {
			return nil, st, errors.New("final block")
		}
		typ, err := br.bits(2)
		if err != nil {
			return nil, st, err
		}
		switch typ {
		case 0:
			st.stored++
			n, err := br.stored(&out)
			if err != nil {
				return nil, st, err
			}
			if n == 0 && br.pos == 8*len(in) {
				return out[base:], st, nil
			}
			continue
		case 1:
			st.fixed++
			err = br.codes(&out, &fixedLit, &fixedDist, base, window, &st)
		case 2:
			st.dynamic++
			var lit, dist huffman
			if err = br.tables(&lit, &dist); err == nil {
				err = br.codes(&out, &lit, &dist, base, window, &st)
			}
		default:
			err = errors.New("reserved block type")
		}
		if err != nil {
			return nil, st, err
		}
	}
}

// bitReader reads bits least significant first (RFC 1951, Section 3.1.1).
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) bits(n int) (int, error) {
	if r.pos+n > 8*len(r.b) {
		return 0, errors.New("data ends early")
	}
	v := 0
	for i := range n {
		v |= int(r.b[r.pos>>3]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v, nil
}

// stored copies a stored block (RFC 1951, Section 3.2.4) and returns its length.
func (r *bitReader) stored(out *[]byte) (int, error) {
	r.pos = (r.pos + 7) &^ 7
	i := r.pos >> 3
	if i+4 > len(r.b) {
		return 0, errors.New("stored block header cut")
	}
	n, nn := int(r.b[i])|int(r.b[i+1])<<8, int(r.b[i+2])|int(r.b[i+3])<<8
	if n != ^nn&0xffff {
		return 0, errors.New("stored block NLEN is not the complement of LEN")
	}
	if i+4+n > len(r.b) {
		return 0, errors.New("stored block cut")
	}
	*out = append(*out, r.b[i+4:i+4+n]...)
	r.pos += 8 * (4 + n)
	return n, nil
}

// huffman is a canonical code (RFC 1951, Section 3.2.2): how many codes have each
// length, and the symbols in code order.
type huffman struct {
	count   [16]int
	symbols []int
}

func newHuffman(lengths []int) huffman {
	var h huffman
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	for l := 1; l < 16; l++ {
		for s, sl := range lengths {
			if sl == l {
				h.symbols = append(h.symbols, s)
			}
		}
	}
	return h
}

// decode reads one symbol: the codes of each length are consecutive integers, the first
// of them following the last code of the length before, doubled.
func (r *bitReader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := r.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		if code-first < h.count[l] {
			return h.symbols[index+code-first], nil
		}
		index += h.count[l]
		first = (first + h.count[l]) << 1
		code <<= 1
	}
	return 0, errors.New("no such code")
}

var fixedLit, fixedDist = fixedCodes()

// fixedCodes are the codes of RFC 1951, Section 3.2.6.
func fixedCodes() (huffman, huffman) {
	lit := make([]int, 288)
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
	dist := make([]int, 32) // 30 and 31 are codes that never occur
	for i := range dist {
		dist[i] = 5
	}
	return newHuffman(lit), newHuffman(dist)
}

// codeOrder is the order of the code length code lengths (RFC 1951, Section 3.2.7).
var codeOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// tables reads the code lengths of a dynamic block (RFC 1951, Section 3.2.7).
func (r *bitReader) tables(lit, dist *huffman) error {
	hlit, err1 := r.bits(5)
	hdist, err2 := r.bits(5)
	hclen, err3 := r.bits(4)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	nlit, ndist := hlit+257, hdist+1
	if nlit > 286 || ndist > 30 {
		return fmt.Errorf("%d literal/length or %d distance codes", nlit, ndist)
	}
	var clen [19]int
	for i := range hclen + 4 {
		v, err := r.bits(3)
		if err != nil {
			return err
		}
		clen[codeOrder[i]] = v
	}
	ch := newHuffman(clen[:])
	lengths := make([]int, 0, nlit+ndist)
	for len(lengths) < nlit+ndist {
		sym, err := r.decode(&ch)
		if err != nil {
			return err
		}
		rep, val := 1, sym
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return errors.New("repeat with no length before")
			}
			val = lengths[len(lengths)-1]
			rep, err = r.bits(2)
			rep += 3
		case 17:
			val = 0
			rep, err = r.bits(3)
			rep += 3
		case 18:
			val = 0
			rep, err = r.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if len(lengths)+rep > nlit+ndist {
			return errors.New("code lengths overflow")
		}
		for range rep {
			lengths = append(lengths, val)
		}
	}
	if lengths[256] == 0 {
		return errors.New("no end-of-block code")
	}
	*lit, *dist = newHuffman(lengths[:nlit]), newHuffman(lengths[nlit:])
	return nil
}

// Base values and extra bits of the length and distance codes (RFC 1951, Section 3.2.5).
var (
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// codes inflates the symbols of a Huffman block up to its end-of-block code, checking
// each match's distance: out[:base] is the history.
func (r *bitReader) codes(out *[]byte, lit, dist *huffman, base, window int, st *blockStats) error {
	for {
		sym, err := r.decode(lit)
		switch {
		case err != nil:
			return err
		case sym < 256:
			*out = append(*out, byte(sym))
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("literal/length code %d", sym)
		}
		e, err := r.bits(lenExtra[sym-257])
		if err != nil {
			return err
		}
		length := lenBase[sym-257] + e
		dsym, err := r.decode(dist)
		if err != nil {
			return err
		}
		if dsym >= 30 {
			return fmt.Errorf("distance code %d", dsym)
		}
		e, err = r.bits(distExtra[dsym])
		if err != nil {
			return err
		}
		d := distBase[dsym] + e
		if d > window {
			return fmt.Errorf("distance %d beyond the window of %d bytes", d, window)
		}
		if d > len(*out) {
			return fmt.Errorf("distance %d beyond the %d bytes of history (%d before the message)", d, len(*out), base)
		}
		st.matches++
		st.maxDist = max(st.maxDist, d)
		for range length {
			*out = append(*out, (*out)[len(*out)-d])
		}
	}
}

func (s *blockStats) add(o blockStats) {
	s.stored += o.stored
	s.fixed += o.fixed
	s.dynamic += o.dynamic
	s.matches += o.matches
	s.maxDist = max(s.maxDist, o.maxDist)
}
