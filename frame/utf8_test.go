package frame_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

// validPrefix reports, from unicode/utf8 alone, whether some valid UTF-8
// text starts with q. Only the first continuation byte of a character is
// constrained beyond 80-BF, so trying all 64 values for the next byte and
// padding with 0x80 finds a completion whenever one exists.
func validPrefix(q []byte) bool {
	if utf8.Valid(q) {
		return true
	}
	for extra := 1; extra <= 3; extra++ {
		for c := 0x80; c <= 0xBF; c++ {
			r := append(append([]byte{}, q...), byte(c))
			for range extra - 1 {
				r = append(r, 0x80)
			}
			if utf8.Valid(r) {
				return true
			}
		}
	}
	return false
}

// wantFail is the index of the first byte after which p can no longer be
// valid UTF-8, or -1 if p is a valid prefix.
func wantFail(p []byte) int {
	for i := range p {
		if !validPrefix(p[:i+1]) {
			return i
		}
	}
	return -1
}

// feedSplit feeds p in the given chunks and returns the stream index of the
// failure (-1 if none) and Complete.
func feedSplit(tb testing.TB, p []byte, cuts ...int) (int, bool) {
	tb.Helper()
	var v frame.UTF8Validator
	start := 0
	for _, end := range append(cuts, len(p)) {
		n, ok := v.Feed(p[start:end])
		if !ok {
			assert.False(tb, v.Complete(), "a failed stream is never complete")
			n2, ok2 := v.Feed([]byte("a"))
			assert.False(tb, ok2, "the validator stays failed")
			assert.Zero(tb, n2)
			return start + n, false
		}
		require.Equal(tb, end-start, n, "ok means the whole chunk was taken")
		start = end
	}
	return -1, v.Complete()
}

// checkAllSplits compares the validator with unicode/utf8 for p fed whole,
// byte by byte and split at every point.
func checkAllSplits(tb testing.TB, p []byte) {
	tb.Helper()
	fail, valid := wantFail(p), utf8.Valid(p)
	check := func(how string, cuts ...int) {
		gotFail, complete := feedSplit(tb, p, cuts...)
		if gotFail != fail || complete != valid {
			tb.Fatalf("% x fed %s: fail at %d complete %v, want fail at %d complete %v", p, how, gotFail, complete, fail, valid)
		}
	}
	check("whole")
	bytewise := make([]int, 0, len(p))
	for i := 1; i < len(p); i++ {
		bytewise = append(bytewise, i)
		check("split", i)
	}
	check("bytewise", bytewise...)
}

func TestUTF8FailFast(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fail int // index of the byte that makes it invalid; -1 for none
		done bool
	}{
		{"8.1/kosme-then-surrogate", "CE BA E1 BD B9 CE BC CE B5 ED A0 80 65 64 69 74 65 64", 10, false},
		{"8.1/above-10FFFF", "F4 90", 1, false},
		{"8.1/above-10FFFF-after-text", "61 62 F4 90 80 80", 3, false},
		{"8.1/C0-overlong", "C0", 0, false},
		{"8.1/C1-overlong", "C1", 0, false},
		{"8.1/F5", "F5", 0, false},
		{"8.1/F8", "F8", 0, false},
		{"8.1/FE", "FE", 0, false},
		{"8.1/FF", "FF", 0, false},
		{"8.1/lone-continuation", "80", 0, false},
		{"8.1/overlong-slash-3", "E0 80 AF", 1, false},
		{"8.1/overlong-slash-4", "F0 80 80 AF", 1, false},
		{"8.1/surrogate-DFFF", "ED BF BF", 1, false},
		{"8.1/lead-then-ascii", "E2 82 41", 2, false},
		{"8.1/truncated-3-byte", "E2 82", -1, false},
		{"8.1/truncated-4-byte", "F0 9F 98", -1, false},
		{"8.1/truncated-lead", "61 F4", -1, false},
		{"8.1/euro", "E2 82 AC", -1, true},
		{"8.1/max-10FFFF", "F4 8F BF BF", -1, true},
		{"8.1/D7FF-before-surrogates", "ED 9F BF", -1, true},
		{"8.1/E000-after-surrogates", "EE 80 80", -1, true},
		{"8.1/empty", "", -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := hx(t, tc.in)
			require.Equal(t, tc.fail, wantFail(p), "the oracle agrees with the table")
			fail, complete := feedSplit(t, p)
			assert.Equal(t, tc.fail, fail)
			assert.Equal(t, tc.done, complete)
			checkAllSplits(t, p)
		})
	}
}

func TestUTF8AgreesWithStdlib(t *testing.T) {
	samples := []string{
		"", "a", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "日本語テキスト", "🎉 party 🎉",
		strings.Repeat("ascii only ", 5), strings.Repeat("x", 7) + "é" + strings.Repeat("y", 9),
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", "\xc0\xaf", "\xe0\x9f\xbf", "\xe0\xa0\x80",
		"\xc2\x80", "\xdf\xbf", "\xce\xba\xe1\xbd\xb9\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
		"abcdefgh\x80", "abcdefghijklmnop\xe2\x82", "12345678\xf0\x9f\x98\x80abcdefgh",
	}
	for _, s := range samples {
		checkAllSplits(t, []byte(s))
	}
}

func TestUTF8ExhaustiveShort(t *testing.T) {
	// Every 1- and 2-byte input, against the fail-fast oracle.
	for a := range 256 {
		checkAllSplits(t, []byte{byte(a)})
		for b := range 256 {
			checkAllSplits(t, []byte{byte(a), byte(b)})
		}
	}
}

func TestUTF8ExhaustiveThreeBytes(t *testing.T) {
	// Every 3-byte input with a non-ASCII first byte, fed whole and split
	// after the first byte, against utf8.Valid.
	var v frame.UTF8Validator
	p := make([]byte, 3)
	for a := 0x80; a <= 0xFF; a++ {
		for b := range 256 {
			for c := range 256 {
				p[0], p[1], p[2] = byte(a), byte(b), byte(c)
				want := utf8.Valid(p)
				v.Reset()
				_, ok := v.Feed(p)
				if (ok && v.Complete()) != want {
					t.Fatalf("% x whole: got valid %v, want %v", p, ok && v.Complete(), want)
				}
				v.Reset()
				_, ok1 := v.Feed(p[:1])
				_, ok2 := v.Feed(p[1:])
				if (ok1 && ok2 && v.Complete()) != want {
					t.Fatalf("% x split: got valid %v, want %v", p, !want, want)
				}
			}
		}
	}
}

func TestUTF8Random(t *testing.T) {
	// Valid text with occasional random bytes, fed at every split.
	r := rand.New(rand.NewPCG(7, 7))
	runes := []rune{'a', 'Z', 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF, 'κ', '語', '🎉'}
	for range 400 {
		var b []byte
		for range r.IntN(24) {
			switch r.IntN(10) {
			case 0:
				b = append(b, byte(r.Uint32()))
			case 1, 2, 3:
				b = append(b, "plain ascii"[:r.IntN(11)]...)
			default:
				b = utf8.AppendRune(b, runes[r.IntN(len(runes))])
			}
		}
		checkAllSplits(t, b)
	}
}

func TestUTF8Reset(t *testing.T) {
	var v frame.UTF8Validator
	_, ok := v.Feed([]byte{0xFF})
	require.False(t, ok)
	v.Reset()
	assert.True(t, v.Complete(), "a reset validator starts a new, empty stream")
	n, ok := v.Feed([]byte("ok"))
	assert.True(t, ok)
	assert.Equal(t, 2, n)

	// Reset also drops a character left half-finished.
	_, ok = v.Feed([]byte{0xE2, 0x82})
	require.True(t, ok)
	require.False(t, v.Complete())
	v.Reset()
	_, ok = v.Feed([]byte{0xAC})
	assert.False(t, ok, "a continuation byte cannot start the new stream")
}
