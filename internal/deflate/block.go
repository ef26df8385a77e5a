package deflate

// bitWriter packs bits LSB first (RFC 1951, Section 3.1.1) into out.
type bitWriter struct {
	bits uint64
	n    uint
	out  []byte
}

func (w *bitWriter) writeBits(v uint32, nb uint) {
	w.bits |= uint64(v) << w.n
	w.n += nb
	if w.n >= 32 {
		w.out = append(w.out, byte(w.bits), byte(w.bits>>8), byte(w.bits>>16), byte(w.bits>>24))
		w.bits >>= 32
		w.n -= 32
	}
}

// flushBytes moves the complete bytes to out, keeping fewer than 8 bits.
func (w *bitWriter) flushBytes() {
	for w.n >= 8 {
		w.out = append(w.out, byte(w.bits))
		w.bits >>= 8
		w.n -= 8
	}
}

// align pads the last partial byte with zeros and flushes everything to dst.
func (w *bitWriter) align(dst []byte) []byte {
	w.out = dst
	w.flushBytes()
	if w.n > 0 {
		w.out = append(w.out, byte(w.bits))
	}
	dst = w.out
	*w = bitWriter{}
	return dst
}

// Block types in the BTYPE field, after the BFINAL bit (always 0 here).
const (
	headerStored  = 0 << 1
	headerFixed   = 1 << 1
	headerDynamic = 2 << 1
)

// writeBlock writes the tokens of raw as the smallest of a stored, a fixed-Huffman and a
// dynamic-Huffman block (RFC 1951, Section 3.2.3).
func (e *Encoder) writeBlock(dst, raw []byte) []byte {
	s := e.s
	w := &e.bw
	w.out = dst
	s.litF[256] = 1 // end of block
	extra := 0
	for i, f := range s.litF[257:] {
		extra += int(f) * int(lengthExtra[i])
	}
	for i, f := range s.distF {
		extra += int(f) * int(distExtra[i])
	}
	fixed := 3 + fixedLit.bitCost(s.litF[:]) + fixedDist.bitCost(s.distF[:]) + extra
	dynamic := 3 + s.dyn.build(s.litF[:], s.distF[:]) + extra
	pad := (8 - (w.n+3)%8) % 8
	stored := 3 + int(pad) + 32 + 8*len(raw)

	switch {
	case stored <= fixed && stored <= dynamic:
		w.writeBits(headerStored, 3)
		w.out = w.align(w.out)
		n := len(raw)
		w.out = append(w.out, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		w.out = append(w.out, raw...)
	case fixed <= dynamic:
		w.writeBits(headerFixed, 3)
		e.writeTokens(&fixedLit, &fixedDist)
	default:
		w.writeBits(headerDynamic, 3)
		s.dyn.writeHeader(w)
		e.writeTokens(&s.dyn.lit, &s.dyn.dist)
	}
	w.flushBytes()
	dst = w.out
	w.out = nil
	return dst
}

func (e *Encoder) writeTokens(lit, dist *huffCode) {
	w := &e.bw
	for _, t := range e.s.tokens {
		if t < 1<<16 {
			w.writeBits(uint32(lit.code[t]), uint(lit.length[t]))
			continue
		}
		l, d := int(t>>16), int(t&0xffff)
		ls := int(lengthSym[l-minMatch])
		w.writeBits(uint32(lit.code[257+ls]), uint(lit.length[257+ls]))
		if x := lengthExtra[ls]; x > 0 {
			w.writeBits(uint32(l-int(lengthBase[ls])), uint(x))
		}
		ds := distSym(d)
		w.writeBits(uint32(dist.code[ds]), uint(dist.length[ds]))
		if x := distExtra[ds]; x > 0 {
			w.writeBits(uint32(d-int(distBase[ds])), uint(x))
		}
	}
	w.writeBits(uint32(lit.code[256]), uint(lit.length[256]))
}

// dynamicBlock builds the codes and the header of a dynamic-Huffman block
// (RFC 1951, Section 3.2.7).
type dynamicBlock struct {
	lit, dist, cl huffCode
	litLen        [286]uint8
	distLen       [30]uint8
	clLen         [19]uint8
	clF           [19]uint32
	all           []uint8
	rle           []uint16 // code-length symbol | repeat value << 5
	hlit, hdist   int
	hclen         int
	builder       huffBuilder
}

// build computes the codes for the frequencies and returns the size in bits of the
// header after BTYPE plus the coded tokens, extra bits excluded.
func (d *dynamicBlock) build(litF, distF []uint32) int {
	d.builder.lengths(litF, 15, d.litLen[:])
	d.builder.lengths(distF, 15, d.distLen[:])
	d.lit.setLengths(d.litLen[:])
	d.dist.setLengths(d.distLen[:])
	d.hlit = 286
	for d.hlit > 257 && d.litLen[d.hlit-1] == 0 {
		d.hlit--
	}
	d.hdist = 30
	for d.hdist > 1 && d.distLen[d.hdist-1] == 0 {
		d.hdist--
	}
	d.all = append(append(d.all[:0], d.litLen[:d.hlit]...), d.distLen[:d.hdist]...)
	d.runLengths()
	clear(d.clF[:])
	extra := 0
	for _, r := range d.rle {
		sym := r & 31
		d.clF[sym]++
		extra += [19]int{16: 2, 17: 3, 18: 7}[sym]
	}
	d.builder.lengths(d.clF[:], 7, d.clLen[:])
	d.cl.setLengths(d.clLen[:])
	d.hclen = 19
	for d.hclen > 4 && d.clLen[codeLengthOrder[d.hclen-1]] == 0 {
		d.hclen--
	}
	return 14 + 3*d.hclen + d.cl.bitCost(d.clF[:]) + extra +
		d.lit.bitCost(litF) + d.dist.bitCost(distF)
}

// runLengths encodes d.all with the repeat codes 16, 17 and 18.
func (d *dynamicBlock) runLengths() {
	d.rle = d.rle[:0]
	L := d.all
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

func (d *dynamicBlock) writeHeader(w *bitWriter) {
	w.writeBits(uint32(d.hlit-257), 5)
	w.writeBits(uint32(d.hdist-1), 5)
	w.writeBits(uint32(d.hclen-4), 4)
	for _, s := range codeLengthOrder[:d.hclen] {
		w.writeBits(uint32(d.clLen[s]), 3)
	}
	for _, r := range d.rle {
		sym, rep := r&31, uint32(r>>5)
		w.writeBits(uint32(d.cl.code[sym]), uint(d.cl.length[sym]))
		switch sym {
		case 16:
			w.writeBits(rep, 2)
		case 17:
			w.writeBits(rep, 3)
		case 18:
			w.writeBits(rep, 7)
		}
	}
}
