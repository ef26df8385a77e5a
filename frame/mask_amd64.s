//go:build amd64 && !purego

#include "textflag.h"

// The shortest slice the AVX2 kernel takes: it needs two 32-byte edge
// blocks inside b. BenchmarkMaskKernel shows it no slower than SSE2 from
// there on.
#define AVX2_MIN 32

// ROTKEY leaves in DX the key word for a block that starts CX bytes into
// b: AX rotated right by 8*(CX&3) bits. It clobbers CX.
#define ROTKEY \
	ANDQ $3, CX; \
	SHLQ $3, CX; \
	MOVL AX, DX; \
	RORL CX, DX

// MIDDLE sets BX to the first size-byte boundary in b, R8 to the bytes
// from there to the end of b, and DX to the key word there.
#define MIDDLE(size) \
	MOVQ DI, CX; \
	NEGQ CX; \
	ANDQ $(size-1), CX; \
	LEAQ (DI)(CX*1), BX; \
	MOVQ SI, R8; \
	SUBQ CX, R8; \
	ROTKEY

// EDGEWORDS masks b, of size to 2*size bytes, as two words of size
// bytes that overlap unless len(b) is 2*size: the first with key word k0
// and the last with k1, both loaded before either is stored.
#define EDGEWORDS(MOV, XOR, size, k0, k1) \
	MOV (DI), R11; \
	MOV -size(DI)(SI*1), R12; \
	XOR k0, R11; \
	XOR k1, R12; \
	MOV R11, (DI); \
	MOV R12, -size(DI)(SI*1)

// func maskAny(b []byte, k32 uint32, pos int)
//
// Every path below follows one plan, which needs no byte-by-byte tail and
// never reads or writes outside b: the first and the last block of b (a
// word, or a 16- or 32-byte vector) are loaded and masked before anything
// is stored; the blocks between run in order, aligned to their size for
// the vectors; the edges are stored last. Blocks may overlap, but each
// masks bytes from their original value with the key phase of its own
// start, so an overlapped byte gets the same result from either. Up to
// twice the block size the two edges cover b and there is no middle.
//
// Lengths 0-16 take two words (or single bytes), 17-31 SSE2, and 32 and
// more AVX2 or SSE2 as useAVX2 says. SSE2 is part of every amd64 CPU.
//
// The key word is rotated so that its low byte meets b[0]; a block that
// starts d bytes later needs it rotated right by 8*(d&3) more bits.
//
// Registers: DI b, SI len(b), AX key word at b[0], BX cursor, R8 bytes
// left for the middle, CX rotation count.
TEXT ·maskAny(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), DI
	MOVQ b_len+8(FP), SI
	MOVL k32+24(FP), AX
	MOVQ pos+32(FP), CX
	SHLQ $3, CX
	RORL CX, AX

	CMPQ SI, $16
	JBE  small
	CMPQ SI, $AVX2_MIN
	JB   sse2
	CMPB ·useAVX2(SB), $0
	JNE  avx2

sse2:
	// X3 first block, X1 last block (at len-16: phase len&3), X0 middle key.
	MOVL   AX, X0
	PSHUFL $0, X0, X0
	MOVOU  (DI), X3
	PXOR   X0, X3

	MOVQ   SI, CX
	ROTKEY
	MOVL   DX, X2
	PSHUFL $0, X2, X2
	MOVOU  -16(DI)(SI*1), X1
	PXOR   X2, X1
	CMPQ   SI, $32 // the two edges cover b
	JBE    sse2edges

	// The middle starts at the first 16-byte boundary.
	MIDDLE(16)
	MOVL   DX, X0
	PSHUFL $0, X0, X0

	CMPQ   R8, $128
	JB     sse2tail64

sse2loop128:
	MOVOA  (BX), X4
	MOVOA  16(BX), X5
	MOVOA  32(BX), X6
	MOVOA  48(BX), X7
	MOVOA  64(BX), X8
	MOVOA  80(BX), X9
	MOVOA  96(BX), X10
	MOVOA  112(BX), X11
	PXOR   X0, X4
	PXOR   X0, X5
	PXOR   X0, X6
	PXOR   X0, X7
	PXOR   X0, X8
	PXOR   X0, X9
	PXOR   X0, X10
	PXOR   X0, X11
	MOVOA  X4, (BX)
	MOVOA  X5, 16(BX)
	MOVOA  X6, 32(BX)
	MOVOA  X7, 48(BX)
	MOVOA  X8, 64(BX)
	MOVOA  X9, 80(BX)
	MOVOA  X10, 96(BX)
	MOVOA  X11, 112(BX)
	ADDQ   $128, BX
	SUBQ   $128, R8
	CMPQ   R8, $128
	JAE    sse2loop128

sse2tail64:
	CMPQ   R8, $64
	JB     sse2tail16
	MOVOA  (BX), X4
	MOVOA  16(BX), X5
	MOVOA  32(BX), X6
	MOVOA  48(BX), X7
	PXOR   X0, X4
	PXOR   X0, X5
	PXOR   X0, X6
	PXOR   X0, X7
	MOVOA  X4, (BX)
	MOVOA  X5, 16(BX)
	MOVOA  X6, 32(BX)
	MOVOA  X7, 48(BX)
	ADDQ   $64, BX
	SUBQ   $64, R8

sse2tail16:
	// Under 16 bytes left are inside the last block.
	CMPQ   R8, $16
	JB     sse2edges
	MOVOA  (BX), X4
	PXOR   X0, X4
	MOVOA  X4, (BX)
	ADDQ   $16, BX
	SUBQ   $16, R8
	JMP    sse2tail16

sse2edges:
	MOVOU  X3, (DI)
	MOVOU  X1, -16(DI)(SI*1)
	RET

avx2:
	// The same with 32-byte blocks: Y3 first, Y1 last (at len-32: phase
	// len&3), Y0 middle key.
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VPXOR        (DI), Y0, Y3

	MOVQ         SI, CX
	ROTKEY
	VMOVD        DX, X2
	VPBROADCASTD X2, Y2
	VPXOR        -32(DI)(SI*1), Y2, Y1
	CMPQ         SI, $64 // the two edges cover b
	JBE          avx2edges

	// The middle starts at the first 32-byte boundary.
	MIDDLE(32)
	VMOVD        DX, X0
	VPBROADCASTD X0, Y0

	CMPQ         R8, $128
	JB           avx2tail32

avx2loop128:
	VPXOR        (BX), Y0, Y4
	VPXOR        32(BX), Y0, Y5
	VPXOR        64(BX), Y0, Y6
	VPXOR        96(BX), Y0, Y7
	VMOVDQA      Y4, (BX)
	VMOVDQA      Y5, 32(BX)
	VMOVDQA      Y6, 64(BX)
	VMOVDQA      Y7, 96(BX)
	ADDQ         $128, BX
	SUBQ         $128, R8
	CMPQ         R8, $128
	JAE          avx2loop128

avx2tail32:
	// Under 32 bytes left are inside the last block.
	CMPQ         R8, $32
	JB           avx2edges
	VPXOR        (BX), Y0, Y4
	VMOVDQA      Y4, (BX)
	ADDQ         $32, BX
	SUBQ         $32, R8
	JMP          avx2tail32

avx2edges:
	VMOVDQU      Y3, (DI)
	VMOVDQU      Y1, -32(DI)(SI*1)
	// Clear the upper halves so that SSE code after us pays no
	// transition penalty.
	VZEROUPPER
	RET

small:
	// Up to 16 bytes: two overlapping 8- or 4-byte words, or up to three
	// single bytes. A word at len-8 or len-4 has the key phase of len.
	CMPQ SI, $4
	JB   small1
	MOVQ SI, CX
	ROTKEY
	CMPQ SI, $8
	JB   small4
	// The 64-bit key words are the 32-bit ones twice over.
	MOVL AX, R9
	MOVQ R9, R11
	SHLQ $32, R11
	ORQ  R11, R9
	MOVL DX, R10
	MOVQ R10, R11
	SHLQ $32, R11
	ORQ  R11, R10
	EDGEWORDS(MOVQ, XORQ, 8, R9, R10)
	RET

small4:
	EDGEWORDS(MOVL, XORL, 4, AX, DX)
	RET

small1:
	TESTQ SI, SI
	JZ    done

small1loop:
	XORB AL, (DI)
	RORL $8, AX
	INCQ DI
	DECQ SI
	JNZ  small1loop

done:
	RET

// func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() uint32
//
// The low half of XCR0: which register states the OS saves.
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET
