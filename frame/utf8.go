package frame

import "encoding/binary"

// UTF8Validator checks a byte stream for valid UTF-8 incrementally, across
// arbitrary chunk boundaries, and fails fast: it reports the stream invalid
// at the first byte after which no valid continuation exists. So 0xF4 0x90
// fails at 0x90 (above U+10FFFF), 0xED 0xA0 fails at 0xA0 (a surrogate) and
// 0xC0 fails at once (always overlong). On complete inputs it agrees with
// [unicode/utf8.Valid].
//
// RFC 6455, Section 8.1: "When an endpoint is to interpret a byte stream as
// UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8
// stream, that endpoint MUST _Fail the WebSocket Connection_." Failing fast
// lets a connection do so at the bad fragment, not at the message's end.
//
// The zero value is ready to use. A UTF8Validator must not be used from
// several goroutines at once.
type UTF8Validator struct {
	need   uint8 // continuation bytes still expected in the current character
	lo, hi uint8 // the range the next continuation byte must fall in
	failed bool
}

// lead describes a byte that starts a multi-byte character: how many
// continuation bytes follow, and the range the first of them must fall in.
// The ranges exclude overlong forms, surrogates and code points above
// U+10FFFF, as the table in RFC 3629, Section 4 does. need == 0 marks a byte
// that can never start a character (ASCII is handled before the table is
// consulted).
type lead struct{ need, lo, hi uint8 }

var leads = func() (t [256]lead) {
	for c := 0xC2; c <= 0xDF; c++ {
		t[c] = lead{1, 0x80, 0xBF}
	}
	for c := 0xE0; c <= 0xEF; c++ {
		t[c] = lead{2, 0x80, 0xBF}
	}
	t[0xE0] = lead{2, 0xA0, 0xBF} // no overlong three-byte forms
	t[0xED] = lead{2, 0x80, 0x9F} // no surrogates D800-DFFF
	for c := 0xF0; c <= 0xF4; c++ {
		t[c] = lead{3, 0x80, 0xBF}
	}
	t[0xF0] = lead{3, 0x90, 0xBF} // no overlong four-byte forms
	t[0xF4] = lead{3, 0x80, 0x8F} // nothing above U+10FFFF
	return t
}()

const asciiMask = 0x8080808080808080

// Feed validates the next chunk p of the stream. It returns ok = true and
// n = len(p) while the stream so far can still be the start of valid UTF-8,
// and otherwise ok = false with n the index in p of the byte that made it
// invalid. After a failure the validator stays failed, and Feed returns
// (0, false), until [UTF8Validator.Reset]. Feed does not allocate and keeps
// no reference to p.
func (v *UTF8Validator) Feed(p []byte) (n int, ok bool) {
	if v.failed {
		return 0, false
	}
	// A character split by the previous chunk is finished first.
	if v.need > 0 {
		if n, ok = v.continueChar(p); !ok || v.need > 0 {
			return n, ok
		}
	}
	rest := p[n:]
	for len(rest) > 0 {
		c := rest[0]
		if c < 0x80 {
			if r := skipASCII(rest); len(r) < len(rest) {
				rest = r
			} else {
				rest = rest[1:]
			}
			continue
		}
		l := leads[c]
		need := int(l.need)
		if need == 0 {
			return v.fail(p, rest)
		}
		if len(rest) <= need {
			// The chunk ends inside this character: check what is here
			// and carry the rest of the rule to the next chunk.
			v.need, v.lo, v.hi = l.need, l.lo, l.hi
			m, ok := v.continueChar(rest[1:])
			return len(p) - len(rest) + 1 + m, ok
		}
		if c1 := rest[1]; c1 < l.lo || c1 > l.hi {
			return v.fail(p, rest[1:])
		}
		// Constant steps per length let the branch predictor run ahead,
		// where rest[need+1:] would chain each character's table load to
		// the next one's.
		switch need {
		case 1:
			rest = rest[2:]
		case 2:
			if rest[2]&0xC0 != 0x80 {
				return v.fail(p, rest[2:])
			}
			rest = rest[3:]
		default:
			if rest[2]&0xC0 != 0x80 {
				return v.fail(p, rest[2:])
			}
			if rest[3]&0xC0 != 0x80 {
				return v.fail(p, rest[3:])
			}
			rest = rest[4:]
		}
	}
	return len(p), true
}

// skipASCII returns b past its leading ASCII bytes, a word at a time; it
// stops at the first word holding a non-ASCII byte, or with fewer than 8
// bytes left.
func skipASCII(b []byte) []byte {
	// > rather than >= keeps the reslice off the end of b, which would
	// cost a pointer fix-up per round.
	for len(b) > 32 {
		w := binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		if w&asciiMask != 0 {
			break
		}
		b = b[32:]
	}
	for len(b) >= 8 && binary.LittleEndian.Uint64(b)&asciiMask == 0 {
		b = b[8:]
	}
	return b
}

// continueChar checks the continuation bytes of the current character at
// the start of p, as far as p goes. It returns how many bytes it took.
func (v *UTF8Validator) continueChar(p []byte) (int, bool) {
	i := 0
	for ; v.need > 0 && i < len(p); i++ {
		if c := p[i]; c < v.lo || c > v.hi {
			v.failed = true
			return i, false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xBF
	}
	return i, true
}

// fail marks v failed at the first byte of bad, a suffix of p.
func (v *UTF8Validator) fail(p, bad []byte) (int, bool) {
	v.failed = true
	return len(p) - len(bad), false
}

// Complete reports whether the stream so far is valid and ends on a
// character boundary, as it must at the end of a text message.
func (v *UTF8Validator) Complete() bool {
	return !v.failed && v.need == 0
}

// Reset makes v ready for a new stream.
func (v *UTF8Validator) Reset() {
	*v = UTF8Validator{}
}
