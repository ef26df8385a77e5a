//go:build amd64 && !purego

package frame

// maskAny XORs b with the little-endian key word k32, key byte pos (0-3)
// meeting b[0]. It is written in mask_amd64.s: one function for every
// length, so that Mask costs a single call.
//
//go:noescape
func maskAny(b []byte, k32 uint32, pos int)

// useAVX2 tells maskAny to run its 32-byte kernel. It is set once, at
// package initialisation (tests switch it to time and check both kernels).
var useAVX2 = hasAVX2()

// hasAVX2 reports whether the CPU has AVX2 and the OS saves the 256-bit
// registers across context switches. frame imports only the standard
// library, whose feature flags (internal/cpu) are not importable, so it
// asks the CPU itself, as the Intel 64 and IA-32 Architectures Software
// Developer's Manual, Volume 1, Chapter 14 prescribes: CPUID leaf 1 must
// report OSXSAVE (ECX bit 27) and AVX (ECX bit 28); XCR0 must have the SSE
// and AVX state bits (1 and 2) set; and CPUID leaf 7, sub-leaf 0 must
// report AVX2 (EBX bit 5).
func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
		return false
	}
	const xmmState, ymmState = 1 << 1, 1 << 2
	if xgetbv0()&(xmmState|ymmState) != xmmState|ymmState {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

// cpuid and xgetbv0 are written in mask_amd64.s.

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() uint32
