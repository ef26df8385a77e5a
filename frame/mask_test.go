package frame_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

// maskRef is the byte-by-byte definition of RFC 6455, Section 5.3:
// "Octet i of the transformed data is the XOR of octet i of the original
// data with octet at index i modulo 4 of the masking key."
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestMaskRFCVector(t *testing.T) {
	// RFC 6455, Section 5.7: a masked "Hello" from the client.
	wire := hx(t, "81 85 37 fa 21 3d 7f 9f 4d 51 58")
	h, n, err := frame.ParseHeader(wire)
	require.NoError(t, err)
	payload := bytes.Clone(wire[n:])
	next := frame.Mask(h.MaskKey, 0, payload)
	assert.Equal(t, "Hello", string(payload))
	assert.Equal(t, 1, next)
}

const (
	guardLen  = 32   // untouchable bytes on each side of the slice
	guardByte = 0xA5 // their value
	maxAlign  = 64   // start offsets 0-63 meet every alignment up to 32 bytes, whatever the buffer's own
)

// checkMask masks src[:n] placed at every start offset of a guarded buffer
// with every key position, and compares it with the reference: the same
// bytes, the same next position and untouched guards.
func checkMask(t *testing.T, key [4]byte, src []byte, n int, aligns []int) {
	t.Helper()
	buf := make([]byte, guardLen+maxAlign+n+guardLen)
	fresh := bytes.Repeat([]byte{guardByte}, len(buf))
	want := make([]byte, n)
	for pos := range 4 {
		copy(want, src[:n])
		wantNext := maskRef(key, pos, want)
		for _, align := range aligns {
			start := guardLen + align
			copy(buf, fresh)
			copy(buf[start:], src[:n])
			next := frame.Mask(key, pos, buf[start:start+n])
			if !bytes.Equal(buf[start:start+n], want) || next != wantNext {
				t.Fatalf("len %d pos %d align %d: differs from the reference (next %d, want %d)", n, pos, align, next, wantNext)
			}
			if !bytes.Equal(buf[:start], fresh[:start]) || !bytes.Equal(buf[start+n:], fresh[start+n:]) {
				t.Fatalf("len %d pos %d align %d: a byte outside the slice changed", n, pos, align)
			}
		}
	}
}

func allAligns() []int {
	a := make([]int, maxAlign)
	for i := range a {
		a[i] = i
	}
	return a
}

func TestMaskMatchesReference(t *testing.T) {
	// Every length 0-1024, every key position and every start alignment of
	// the slice within a bigger buffer, with each kernel of this build, so
	// the edge blocks, the aligned middles, the unrolled loops and the
	// small-slice paths all meet every phase of the key.
	const maxLen = 1024
	key := [4]byte{0x01, 0x80, 0xFE, 0x7F}
	src := randomBytes(1, maxLen)
	for _, k := range frame.MaskKernels() {
		t.Run(k.Name, func(t *testing.T) {
			defer k.Use()()
			for n := 0; n <= maxLen; n++ {
				checkMask(t, key, src, n, allAligns())
			}
		})
	}
}

func TestMaskLongPayloads(t *testing.T) {
	// Lengths past L1 and around page and 64 KiB boundaries, where the
	// unrolled loops run many rounds.
	key := [4]byte{0x5B, 0x17, 0xE2, 0x90}
	lengths := []int{4095, 4096, 4097, 65535, 65536, 65537, 100003}
	src := randomBytes(6, lengths[len(lengths)-1])
	aligns := []int{0, 1, 7, 15, 16, 31, 33, 63}
	for _, k := range frame.MaskKernels() {
		t.Run(k.Name, func(t *testing.T) {
			defer k.Use()()
			for _, n := range lengths {
				checkMask(t, key, src, n, aligns)
			}
		})
	}
}

func TestMaskPositionWraps(t *testing.T) {
	// Only pos&3 matters, including for positions past the first key cycle
	// and one where pos+len(b) overflows.
	key := [4]byte{1, 2, 3, 4}
	for _, pos := range []int{4, 5, 6, 7, 1001, 1<<30 + 2, math.MaxInt} {
		a, b := []byte("abcdefghij"), []byte("abcdefghij")
		assert.Equal(t, frame.Mask(key, pos&3, a), frame.Mask(key, pos, b), "pos %d", pos)
		assert.Equal(t, a, b, "pos %d", pos)
	}
}

func TestMaskInPieces(t *testing.T) {
	// A payload masked as it streams, in chunks of any sizes, equals the
	// payload masked at once.
	key := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	src := randomBytes(2, 3000)
	whole := bytes.Clone(src)
	frame.Mask(key, 0, whole)

	r := rand.New(rand.NewPCG(3, 3))
	for round := range 200 {
		got := bytes.Clone(src)
		pos := 0
		for rest := got; len(rest) > 0; {
			size := min(len(rest), r.IntN(70))
			if round%2 == 0 {
				size = min(len(rest), r.IntN(9)) // small chunks meet every tail length
			}
			pos = frame.Mask(key, pos, rest[:size])
			rest = rest[size:]
		}
		require.Equal(t, whole, got, "round %d", round)
		assert.Equal(t, len(src)&3, pos)
	}
}

func TestMaskTwiceRestores(t *testing.T) {
	key := [4]byte{9, 8, 7, 6}
	src := randomBytes(4, 777)
	b := bytes.Clone(src)
	frame.Mask(key, 3, b)
	assert.NotEqual(t, src, b)
	frame.Mask(key, 3, b)
	assert.Equal(t, src, b)
}

func TestMaskEmpty(t *testing.T) {
	assert.Equal(t, 2, frame.Mask([4]byte{1, 2, 3, 4}, 2, nil))
	assert.Equal(t, 3, frame.Mask([4]byte{1, 2, 3, 4}, 7, []byte{}))
}
