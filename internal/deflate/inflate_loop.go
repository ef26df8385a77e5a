package deflate

// huffman decodes the data of a Huffman block (RFC 1951, Section 3.2.5) with the given
// tables, up to its end-of-block code. A fast loop runs while the input and the output
// have room for a whole iteration, with the bit buffer refilled by word loads and
// matches copied 16 or 8 bytes at a time; near either end, symbols are decoded one at
// a time with every bound checked.
func (z *inflation) huffman(c *codes) error {
	// The fast loop also reads up to fastIn bytes of the input's capacity past its
	// end, where the Decoder leaves room, so that it runs to the end of a message
	// rather than stopping fastIn bytes short: the bits it loads from them are
	// given back at each exit (unread), and a block that consumed any of them ran
	// past the end of its input.
	in, ip := z.in[:min(cap(z.in), len(z.in)+fastIn)], z.ip
	bitbuf, bitsleft := z.bitbuf, z.bitsleft
	out, op := z.out, z.op
	for {
		inEnd := len(in) - fastIn
		outEnd := min(len(out), z.limit) - fastOut
		// The loop's checks come with the bit buffer full; coming in, it may be
		// nearly empty, and its refill then takes up to 7 bytes more.
		if ip <= inEnd-8 && op <= outEnd {
			// After a refill at least 56 bits are buffered: a literal/length with its
			// extra bits takes at most 15+5, a distance 15+13. Each iteration starts
			// with the bit buffer refilled and the next entry looked up, so that the
			// lookup's latency overlaps the copy of the match before it. Shift
			// counts are masked to 6 bits (an entry consumes at most 28, the
			// buffer holds at most 63): a count the compiler knows is under 64
			// shifts in one instruction, without the code Go adds for larger ones.
			bitbuf |= le.Uint64(in[ip:ip+8]) << (bitsleft & 63)
			ip += int(63-bitsleft) >> 3
			bitsleft |= 56
			e := c.lit[bitbuf&(1<<litBits-1)]
			for {
				if e&entLiteral != 0 {
					bitbuf >>= e & 63
					bitsleft -= uint(e & 63)
					out[op] = byte(e >> 16)
					op++
					e = c.lit[bitbuf&(1<<litBits-1)]
					if e&entLiteral != 0 {
						bitbuf >>= e & 63
						bitsleft -= uint(e & 63)
						out[op] = byte(e >> 16)
						op++
						// At least 26 bits are left: enough for a third
						// literal, not for a match.
						e = c.lit[bitbuf&(1<<litBits-1)]
						if e&entLiteral != 0 {
							bitbuf >>= e & 63
							bitsleft -= uint(e & 63)
							out[op] = byte(e >> 16)
							op++
							bitbuf |= le.Uint64(in[ip:ip+8]) << (bitsleft & 63)
							ip += int(63-bitsleft) >> 3
							bitsleft |= 56
							e = c.lit[bitbuf&(1<<litBits-1)]
							if ip <= inEnd && op <= outEnd {
								continue
							}
							break
						}
					}
					bitbuf |= le.Uint64(in[ip:ip+8]) << (bitsleft & 63)
					ip += int(63-bitsleft) >> 3
					bitsleft |= 56
				}
				if e&entSub != 0 {
					bitbuf >>= litBits
					bitsleft -= litBits
					e = c.lit[e>>16+uint32(bitbuf)&(1<<(e>>8&15)-1)]
					if e&entLiteral != 0 {
						bitbuf >>= e & 63
						bitsleft -= uint(e & 63)
						out[op] = byte(e >> 16)
						op++
						bitbuf |= le.Uint64(in[ip:ip+8]) << (bitsleft & 63)
						ip += int(63-bitsleft) >> 3
						bitsleft |= 56
						e = c.lit[bitbuf&(1<<litBits-1)]
						if ip <= inEnd && op <= outEnd {
							continue
						}
						break
					}
				}
				if e&(entEOB|entInvalid) != 0 {
					if e&entInvalid != 0 {
						z.out, z.op = out, op
						return ErrCorrupt
					}
					bitbuf >>= e & 63
					bitsleft -= uint(e & 63)
					z.ip, z.bitbuf, z.bitsleft, z.out, z.op = ip, bitbuf, bitsleft, out, op
					if !z.unread() {
						return ErrCorrupt
					}
					return nil
				}
				saved := bitbuf
				n := e & 63
				bitbuf >>= n
				bitsleft -= uint(n)
				length := int(e>>16) + int((saved&(1<<n-1))>>(e>>8&15))

				d := c.dist[bitbuf&(1<<distBits-1)]
				if d&entSub != 0 {
					bitbuf >>= distBits
					bitsleft -= distBits
					d = c.dist[d>>16+uint32(bitbuf)&(1<<(d>>8&15)-1)]
				}
				if d&entInvalid != 0 {
					z.out, z.op = out, op
					return ErrCorrupt
				}
				saved = bitbuf
				n = d & 63
				bitbuf >>= n
				bitsleft -= uint(n)
				distance := int(d>>16) + int((saved&(1<<n-1))>>(d>>8&15))
				if distance > op {
					// RFC 1951, Section 3.2: a distance may refer to a string in the
					// previous block or the history, never before it.
					z.out, z.op = out, op
					return ErrCorrupt
				}
				bitbuf |= le.Uint64(in[ip:ip+8]) << (bitsleft & 63)
				ip += int(63-bitsleft) >> 3
				bitsleft |= 56
				e = c.lit[bitbuf&(1<<litBits-1)]
				src := op - distance
				end := op + length
				switch {
				case distance >= 16:
					// A 16-byte chunk read is always of bytes already written, and
					// the copy is inlined as one load and one store.
					for op < end {
						copy(out[op:op+16], out[src:src+16])
						op += 16
						src += 16
					}
				case distance >= 8:
					// A word read is always of bytes already written.
					for op < end {
						le.PutUint64(out[op:], le.Uint64(out[src:]))
						op += 8
						src += 8
					}
				case distance == 1:
					v := uint64(out[src]) * 0x0101010101010101
					for op < end {
						le.PutUint64(out[op:], v)
						op += 8
					}
				default:
					for op < end {
						op += copy(out[op:end], out[src:op])
					}
				}
				op = end
				if ip > inEnd || op > outEnd {
					break
				}
			}
		}

		z.ip, z.bitbuf, z.bitsleft, z.out, z.op = ip, bitbuf, bitsleft, out, op
		if !z.unread() {
			return ErrCorrupt
		}
		ip, bitbuf, bitsleft = z.ip, z.bitbuf, z.bitsleft
		if op > outEnd && len(out) < z.limit && ip <= inEnd {
			// Out of room before the input ends: grow rather than decode the
			// rest one symbol at a time.
			z.room(fastOut + len(out))
			out = z.out
			continue
		}
		// One symbol, every bound checked.
		done, err := z.slowSymbol(c)
		if done || err != nil {
			return err
		}
		ip = z.ip
		bitbuf, bitsleft = z.bitbuf, z.bitsleft
		out, op = z.out, z.op
	}
}

// unread gives back to the input the bytes the fast loop loaded past its end, and
// reports false if any of their bits were consumed: the data ran past the end of the
// input. Those bits are the top ones of the valid bits buffered.
func (z *inflation) unread() bool {
	over := z.ip - len(z.in)
	if over <= 0 {
		return true
	}
	if int(z.bitsleft) < 8*over {
		return false
	}
	z.bitsleft -= uint(8 * over)
	z.bitbuf &= 1<<(z.bitsleft&63) - 1
	z.ip = len(z.in)
	return true
}

// slowSymbol decodes one literal/length symbol and, for a length, its distance, with the
// input and the output checked at every step. done reports the end of the block.
func (z *inflation) slowSymbol(c *codes) (done bool, err error) {
	z.refillSlow()
	e, ok := z.lookup(c.lit[:], litBits)
	if !ok {
		return false, ErrCorrupt
	}
	saved := z.bitbuf
	z.consume(uint(e & 0xff))
	switch {
	case e&entLiteral != 0:
		if z.room(1) == 0 {
			return false, ErrTooBig
		}
		z.out[z.op] = byte(e >> 16)
		z.op++
		return false, nil
	case e&entEOB != 0:
		return true, nil
	}
	length := int(e>>16) + int((saved&(1<<(e&0xff)-1))>>(e>>8&15))
	// The distance's 28 bits at most may not have been loaded with the length.
	z.refillSlow()
	d, ok := z.lookup(c.dist[:], distBits)
	if !ok {
		return false, ErrCorrupt
	}
	saved = z.bitbuf
	z.consume(uint(d & 0xff))
	distance := int(d>>16) + int((saved&(1<<(d&0xff)-1))>>(d>>8&15))
	if distance > z.op {
		return false, ErrCorrupt
	}
	k := z.room(length)
	src := z.op - distance
	for end := z.op + k; z.op < end; {
		z.op += copy(z.out[z.op:end], z.out[src:z.op])
	}
	if k < length {
		return false, ErrTooBig
	}
	return false, nil
}

// lookup finds the entry for the next codeword in table (primary bits tableBits),
// following a subtable pointer, and reports false if the entry is invalid or needs
// more bits than the buffer holds: the input ended inside the codeword.
func (z *inflation) lookup(table []uint32, tableBits uint) (uint32, bool) {
	e := table[z.bitbuf&(1<<tableBits-1)]
	if e&entSub != 0 {
		if z.bitsleft < tableBits {
			return 0, false
		}
		e = table[int(e>>16)+int(z.bitbuf>>tableBits)&(1<<(e>>8&15)-1)]
		if e&entInvalid != 0 || uint(e&0xff)+tableBits > z.bitsleft {
			return 0, false
		}
		z.consume(tableBits)
		return e, true
	}
	if e&entInvalid != 0 || uint(e&0xff) > z.bitsleft {
		return 0, false
	}
	return e, true
}
