package frame

import "encoding/binary"

// Mask XORs b in place with the masking key (RFC 6455, Section 5.3),
// starting at key byte pos&3, and returns the key position for the next
// chunk of the same payload: (pos+len(b))&3. A payload can so be masked in
// pieces as it streams, with the same result as all at once. Masking twice
// restores the data.
//
// Mask does not allocate, touches no byte outside b and keeps no reference
// to it. On amd64 it runs assembly that masks 16 bytes (SSE2) or 32 bytes
// (AVX2, where the CPU has it) per instruction; on other architectures and
// under the purego build tag, portable Go that works a 64-bit word at a
// time. The package documentation gives the speed of both.
func Mask(key [4]byte, pos int, b []byte) int {
	maskAny(b, binary.LittleEndian.Uint32(key[:]), pos&3)
	return (pos + len(b)) & 3
}
