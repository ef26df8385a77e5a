//go:build !amd64 || purego

package frame

import (
	"encoding/binary"
	"math/bits"
)

// maskAny XORs b with the little-endian key word k32, key byte pos (0-3)
// meeting b[0]. This is the portable version; mask_amd64.s has the other.
func maskAny(b []byte, k32 uint32, pos int) {
	// Rotate the key so that its first byte lines up with b[0]; then every
	// word of b meets the same 64-bit key, whatever pos was.
	k32 = bits.RotateLeft32(k32, -8*pos)
	k64 := uint64(k32) | uint64(k32)<<32
	// Four words per round keep the loads and stores in flight; > rather
	// than >= keeps the reslice off the end of b, which would cost a
	// pointer fix-up per round.
	for len(b) > 32 {
		v0 := binary.LittleEndian.Uint64(b[0:8])
		v1 := binary.LittleEndian.Uint64(b[8:16])
		v2 := binary.LittleEndian.Uint64(b[16:24])
		v3 := binary.LittleEndian.Uint64(b[24:32])
		binary.LittleEndian.PutUint64(b[0:8], v0^k64)
		binary.LittleEndian.PutUint64(b[8:16], v1^k64)
		binary.LittleEndian.PutUint64(b[16:24], v2^k64)
		binary.LittleEndian.PutUint64(b[24:32], v3^k64)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	// The tail is under 8 bytes; the rotated key serves it byte by byte.
	for i := range b {
		b[i] ^= byte(k64 >> (8 * uint(i)))
	}
}
