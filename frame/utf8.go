package frame

import "encoding/binary"

// UTF8Validator checks a byte stream for valid UTF-8 incrementally, across
// arbitrary chunk boundaries, and fails fast: it reports the stream invalid
// at the first byte after which no valid continuation exists. So 0xF4 0x90
// fails at 0x90 (above U+10FFFF), 0xED 0xA0 fails at 0xA0 (a surrogate) and
// 0xC0 fails at once (always overlong). On complete inputs it agrees with
// [unicode/utf8.Valid].
//
// The zero value is ready to use. A UTF8Validator must not be used from
// several goroutines at once.
type UTF8Validator struct {
	need   uint8 // continuation bytes still expected in the current character
	lo, hi uint8 // the range the next continuation byte must fall in
	failed bool
}

// Byte ranges for the first continuation byte after a lead byte. They
// exclude overlong forms, surrogates and code points above U+10FFFF, as the
// table in RFC 3629, Section 4 does.
const (
	rangeAny = iota // 80-BF
	rangeE0         // A0-BF: no overlong three-byte forms
	rangeED         // 80-9F: no surrogates D800-DFFF
	rangeF0         // 90-BF: no overlong four-byte forms
	rangeF4         // 80-8F: nothing above U+10FFFF
)

var firstRanges = [...][2]uint8{
	rangeAny: {0x80, 0xBF},
	rangeE0:  {0xA0, 0xBF},
	rangeED:  {0x80, 0x9F},
	rangeF0:  {0x90, 0xBF},
	rangeF4:  {0x80, 0x8F},
}

// leads maps a lead byte to the number of continuation bytes it announces
// (low nibble) and the range of the first one (high nibble). Zero marks a
// byte that can never start a character: ASCII is handled before the table
// is consulted.
var leads = func() (t [256]uint8) {
	for c := 0xC2; c <= 0xDF; c++ {
		t[c] = 1 | rangeAny<<4
	}
	for c := 0xE0; c <= 0xEF; c++ {
		t[c] = 2 | rangeAny<<4
	}
	t[0xE0] = 2 | rangeE0<<4
	t[0xED] = 2 | rangeED<<4
	for c := 0xF0; c <= 0xF4; c++ {
		t[c] = 3 | rangeAny<<4
	}
	t[0xF0] = 3 | rangeF0<<4
	t[0xF4] = 3 | rangeF4<<4
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
	need, lo, hi := v.need, v.lo, v.hi
	i := 0
	for i < len(p) {
		if need == 0 {
			// Between characters, skip ASCII a word at a time.
			for len(p)-i >= 8 && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			c := p[i]
			if c < 0x80 {
				i++
				continue
			}
			t := leads[c]
			if t == 0 {
				v.failed = true
				return i, false
			}
			need = t & 0x0F
			r := firstRanges[t>>4]
			lo, hi = r[0], r[1]
			i++
			continue
		}
		c := p[i]
		if c < lo || c > hi {
			v.failed = true
			return i, false
		}
		need--
		lo, hi = 0x80, 0xBF
		i++
	}
	v.need, v.lo, v.hi = need, lo, hi
	return len(p), true
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
