package micro_test

import (
	"strconv"
	"testing"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"

	"duplex/frame"
)

var (
	maskSizes = []int{16, 1 << 10, 64 << 10}
	maskKey   = [4]byte{0x37, 0xfa, 0x21, 0x3d} // RFC 6455, Section 5.7
)

// maskers are the contenders of BenchmarkMask: each XORs b in place with
// the key from key byte pos on.
var maskers = []struct {
	name string
	mask func(key [4]byte, pos int, b []byte)
}{
	{"duplex", func(key [4]byte, pos int, b []byte) { frame.Mask(key, pos, b) }},
	{"gobwas", func(key [4]byte, pos int, b []byte) { ws.Cipher(b, key, pos) }},
}

func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// TestMaskersAgree checks that the contenders compute the same thing, so
// that the benchmark compares like with like: each equals the byte-by-byte
// masking of RFC 6455, Section 5.3, at every key offset.
func TestMaskersAgree(t *testing.T) {
	for _, m := range maskers {
		for _, n := range []int{0, 1, 7, 16, 33, 1 << 10, 64<<10 + 3} {
			for pos := range 4 {
				b := pattern(n)
				m.mask(maskKey, pos, b)
				want := pattern(n)
				for i := range want {
					want[i] ^= maskKey[(pos+i)%4]
				}
				assert.Equal(t, want, b, "%s, %d bytes, key offset %d", m.name, n, pos)
			}
		}
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func BenchmarkMask(b *testing.B) {
	for _, n := range maskSizes {
		buf := pattern(n)
		for _, m := range maskers {
			b.Run(sizeName(n)+"/"+m.name, func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					m.mask(maskKey, 0, buf)
				}
			})
		}
		b.Run(sizeName(n)+"/copy", func(b *testing.B) {
			dst := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				copy(dst, buf)
			}
		})
	}
}
