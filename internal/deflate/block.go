package deflate

import "slices"

// bitSink packs bits from the least significant (RFC 1951, Section 3.1.1) after out.
// Between calls fewer than 8 bits are pending in acc. Writes store 8 bytes at a time
// and advance by the complete ones, so out keeps 8 bytes of room past what a call
// writes.
type bitSink struct {
	out []byte
	acc uint64
	nb  uint
}

// room makes sure n more bytes, and the 8 the word stores need, fit in out.
func (w *bitSink) room(n int) {
	if cap(w.out)-len(w.out) < n+8 {
		w.out = slices.Grow(w.out, n+8)
	}
}

// bits writes the low n bits of v, n at most 56; room must have been made.
func (w *bitSink) bits(v uint64, n uint) {
	w.acc |= v << w.nb
	w.nb += n
	o := len(w.out)
	le.PutUint64(w.out[o:o+8], w.acc)
	k := w.nb >> 3
	w.out = w.out[:o+int(k)]
	w.acc >>= k << 3
	w.nb &= 7
}

// align pads the pending bits to a byte with zeros.
func (w *bitSink) align() {
	if w.nb > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	w.acc, w.nb = 0, 0
}

// Block types in the BTYPE field (RFC 1951, Section 3.2.3), after a BFINAL of 0:
// permessage-deflate never ends the stream, so that a sync flush can end a message
// (RFC 7692, Section 7.2.1).
const (
	typeStored  = 0 << 1
	typeFixed   = 1 << 1
	typeDynamic = 2 << 1
)

// Codes are tables of codewords as canonical makes them: the bit-reversed codeword,
// its length above bit 16. They are longer than the alphabets, so that an index taken
// from five bits of a token needs no bounds check.
type (
	litCodes  [320]uint32
	distCodes [32]uint32
)

// fixedLitLens are the lengths of the literal/length codewords of the fixed code (RFC
// 1951, Section 3.2.6).
var fixedLitLens = func() (lens [288]uint8) {
	for i := range lens {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	return lens
}()

// The fixed Huffman codes (RFC 1951, Section 3.2.6).
var fixedLitCodes, fixedDistCodes = func() (lit litCodes, dist distCodes) {
	canonical(fixedLitLens[:], lit[:288])
	var dl [30]uint8
	for i := range dl {
		dl[i] = 5
	}
	canonical(dl[:], dist[:30])
	return lit, dist
}()

// tokens writes the block's tokens (see fastEnc) and its end-of-block code.
func (w *bitSink) tokens(toks []uint32, lit *litCodes, dist *distCodes) {
	// A token takes at most 15+5+15+13 bits, two literals 30.
	w.room(6*len(toks) + 2)
	buf := w.out[:cap(w.out)]
	o := len(w.out)
	acc, nb := w.acc, w.nb
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t < 256 {
			c := lit[t]
			acc |= uint64(c&0xffff) << nb
			nb += uint(c >> 16)
			if i+1 < len(toks) && toks[i+1] < 256 {
				// Two literals between stores: the bits fit.
				i++
				c = lit[toks[i]&0xff]
				acc |= uint64(c&0xffff) << nb
				nb += uint(c >> 16)
			}
		} else {
			// The token's bits are put together apart from the buffer, then
			// added to it at once.
			ls := t >> 26 & 31
			c := lit[257+ls]
			n := uint(c >> 16)
			v := uint64(c&0xffff) | uint64(t>>21&31)<<n
			n += uint(lenExtra[ls])
			ds := t >> 16 & 31
			d := dist[ds]
			dn := uint(d >> 16)
			v |= (uint64(d&0xffff) | uint64(t&0x1fff)<<dn) << n
			acc |= v << nb
			nb += n + dn + uint(dstExtra[ds])
		}
		le.PutUint64(buf[o:o+8], acc)
		k := nb >> 3
		o += int(k)
		acc >>= k << 3
		nb &= 7
	}
	w.out, w.acc, w.nb = buf[:o], acc, nb
	c := lit[256]
	w.bits(uint64(c&0xffff), uint(c>>16))
}

// dynamicCode builds the codes and the header of a dynamic Huffman block (RFC 1951,
// Section 3.2.7); it keeps its buffers between blocks.
type dynamicCode struct {
	lit      litCodes
	dist     distCodes
	litLen   [286]uint8
	distLen  [30]uint8
	clLen    [19]uint8
	clCode   [19]uint32
	clF      [19]uint32
	rle      []uint16 // code length symbol | repeat count << 5
	hlit     int
	hdist    int
	hclen    int
	lengths  []uint8 // litLen[:hlit] then distLen[:hdist]
	builder  huffBuilder
	clExtras int
}

// build computes the codes for the frequencies and returns the size in bits of the
// header after BTYPE and of the coded symbols, extra bits not included.
func (d *dynamicCode) build(litF *[286]uint32, distF *[30]uint32) int {
	d.builder.lengths(litF[:], 15, d.litLen[:])
	d.builder.codes(d.litLen[:], d.lit[:286])
	d.builder.lengths(distF[:], 15, d.distLen[:])
	d.builder.codes(d.distLen[:], d.dist[:30])
	d.hlit = 286
	for d.hlit > 257 && d.litLen[d.hlit-1] == 0 {
		d.hlit--
	}
	d.hdist = 30
	for d.hdist > 1 && d.distLen[d.hdist-1] == 0 {
		d.hdist--
	}
	d.lengths = append(append(d.lengths[:0], d.litLen[:d.hlit]...), d.distLen[:d.hdist]...)
	d.runLengths()
	clear(d.clF[:])
	d.clExtras = 0
	for _, r := range d.rle {
		sym := r & 31
		d.clF[sym]++
		switch sym {
		case 16:
			d.clExtras += 2
		case 17:
			d.clExtras += 3
		case 18:
			d.clExtras += 7
		}
	}
	d.builder.lengths(d.clF[:], 7, d.clLen[:])
	d.builder.codes(d.clLen[:], d.clCode[:])
	d.hclen = 19
	for d.hclen > 4 && d.clLen[codeOrder[d.hclen-1]] == 0 {
		d.hclen--
	}
	n := 5 + 5 + 4 + 3*d.hclen + d.clExtras
	for s, f := range d.clF {
		n += int(f) * int(d.clLen[s])
	}
	for s, f := range litF {
		n += int(f) * int(d.litLen[s])
	}
	for s, f := range distF {
		n += int(f) * int(d.distLen[s])
	}
	return n
}

// runLengths encodes d.lengths with the repeat codes 16, 17 and 18 (RFC 1951, Section
// 3.2.7).
func (d *dynamicCode) runLengths() {
	d.rle = d.rle[:0]
	L := d.lengths
	for i := 0; i < len(L); {
		v := L[i]
		run := 1
		for i+run < len(L) && L[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				d.rle = append(d.rle, 18|uint16(r-11)<<5)
				run -= r
			}
			if run >= 3 {
				d.rle = append(d.rle, 17|uint16(run-3)<<5)
				run = 0
			}
		} else {
			d.rle = append(d.rle, uint16(v))
			run--
			for run >= 3 {
				r := min(run, 6)
				d.rle = append(d.rle, 16|uint16(r-3)<<5)
				run -= r
			}
		}
		for ; run > 0; run-- {
			d.rle = append(d.rle, uint16(v))
		}
	}
}

// header writes BTYPE and the code description.
func (d *dynamicCode) header(w *bitSink) {
	w.room(8 + 3*19 + 3*len(d.rle))
	w.bits(typeDynamic|uint64(d.hlit-257)<<3|uint64(d.hdist-1)<<8|uint64(d.hclen-4)<<13, 17)
	for _, s := range codeOrder[:d.hclen] {
		w.bits(uint64(d.clLen[s]), 3)
	}
	for _, r := range d.rle {
		sym, rep := r&31, uint64(r>>5)
		c := d.clCode[sym]
		w.bits(uint64(c&0xffff), uint(c>>16))
		switch sym {
		case 16:
			w.bits(rep, 2)
		case 17:
			w.bits(rep, 3)
		case 18:
			w.bits(rep, 7)
		}
	}
}

// maxStored is the most a stored block holds (RFC 1951, Section 3.2.4: LEN is 16 bits).
const maxStored = 65535

// block writes the tokens of raw, with the frequencies counted, as the smallest of a
// stored, a fixed and a dynamic Huffman block (RFC 1951, Section 3.2.3), as zlib
// chooses.
func (w *bitSink) block(raw []byte, toks []uint32, litF *[286]uint32, distF *[30]uint32, dyn *dynamicCode) {
	litF[256]++ // the end of the block
	extra := 0
	for i, f := range litF[257:] {
		extra += int(f) * int(lenExtra[i])
	}
	fixed := 3 + extra
	for s, f := range litF {
		fixed += int(f) * int(fixedLitLens[s])
	}
	for i, f := range distF {
		extra += int(f) * int(dstExtra[i])
		fixed += int(f) * (5 + int(dstExtra[i]))
	}
	dynamic := 3 + dyn.build(litF, distF) + extra
	// Stored: each block's header, padding, LEN and NLEN, then the bytes.
	blocks := max(1, (len(raw)+maxStored-1)/maxStored)
	stored := blocks*(3+7+32) + 8*len(raw)

	switch {
	case stored <= fixed && stored <= dynamic:
		w.stored(raw)
	case fixed <= dynamic:
		w.room(1)
		w.bits(typeFixed, 3)
		w.tokens(toks, &fixedLitCodes, &fixedDistCodes)
	default:
		dyn.header(w)
		w.tokens(toks, &dyn.lit, &dyn.dist)
	}
}

// stored writes raw as stored blocks.
func (w *bitSink) stored(raw []byte) {
	for first := true; first || len(raw) > 0; first = false {
		n := min(len(raw), maxStored)
		w.room(5 + n)
		w.bits(typeStored, 3)
		w.align()
		w.out = append(w.out, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		w.out = append(w.out, raw[:n]...)
		raw = raw[n:]
	}
}

// syncFlush ends the output with an empty stored block, without its LEN and NLEN (00
// 00 ff ff), which RFC 7692, Section 7.2.1 has the sender remove.
func (w *bitSink) syncFlush() {
	w.room(2)
	w.bits(typeStored, 3)
	w.align()
}
