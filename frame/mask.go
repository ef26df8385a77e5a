package frame

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key (RFC 6455, Section 5.3),
// starting at key byte pos&3, and returns the key position for the next
// chunk of the same payload: (pos+len(b))&3. A payload can so be masked in
// pieces as it streams, with the same result as all at once. Masking twice
// restores the data.
//
// Mask works a 64-bit word at a time and does not allocate. It keeps no
// reference to b.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	next := (pos + len(b)) & 3
	if len(b) == 0 {
		return next
	}
	// Rotate the key so that its first byte lines up with b[0]; then every
	// word of b meets the same 64-bit key, whatever pos was.
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
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
	return next
}
