// Package frame is the WebSocket wire format of [RFC 6455], Section 5: frame
// headers, payload masking, close frame bodies and UTF-8 validation.
//
// It is a codec without connection state. [ParseHeader] and [ReadHeader]
// decode a header, [AppendHeader] encodes one, and [Header.Check] applies
// the rules that depend on who receives the frame. [Mask] masks or unmasks
// a payload, in one piece or as it streams. [ParseClosePayload] and
// [AppendClosePayload] handle the body of a close frame, and
// [UTF8Validator] checks text as it arrives, fragment by fragment.
//
// # Buffers and ownership
//
// No function keeps a reference to a slice it is given. [Mask] works in
// place on the caller's slice; mask a copy when the original must stay.
// The Append functions extend dst as append does and allocate only when
// dst lacks the room. [ParseClosePayload] copies the reason into a new
// string. [ParseHeader], [ReadHeader], [AppendHeader] (into a buffer with
// room), [Header.Check], [Mask] and [UTF8Validator.Feed] never allocate on
// success; errors may allocate to carry their detail.
//
// # Errors
//
// Every violation of the protocol by the peer is a [ProtocolError], a
// comparable value carrying the close code to fail the connection with
// (1002, or 1007 for invalid UTF-8). Returned errors may wrap a sentinel
// such as [ErrReservedOpcode] with detail: match the condition with
// [errors.Is] and take the code with [errors.As] into a ProtocolError.
// [ErrShortHeader] and [ErrCloseReasonTooLong] are not protocol errors: the
// first asks for more bytes, the second reports a caller's mistake.
//
// # Concurrency
//
// The functions are safe for concurrent use, and [Header], [Opcode],
// [CloseCode] and the other values may be copied and shared freely. A
// [UTF8Validator] holds the state of one stream: it must not be shared
// between goroutines without synchronisation.
//
// # Masking speed
//
// On amd64, [Mask] is assembly: two machine words up to 16 bytes, SSE2
// (part of every amd64 CPU) from 17, and AVX2 from 32 bytes where CPUID
// and XCR0 report that the CPU and the OS support it. The package asks the
// CPU itself, once, because it imports only the standard library and
// internal/cpu is not importable. Other architectures, and builds with the
// purego tag, use portable Go that works a 64-bit word at a time. The
// tests check every kernel against the byte-by-byte definition for every
// length 0-1024, key position 0-3 and start alignment, with guard bytes
// around the slice.
//
// Against ws.Cipher of github.com/gobwas/ws v1.5.0 (itself AVX2 assembly)
// and the previous portable Mask, in one run from a module outside this
// repository, so that frame's module does not depend on gobwas/ws: go test
// -run '^$' -bench Compare -benchtime 0.2s, 20 interleaved runs, compared
// with benchstat; AMD EPYC, 2 cores shared with other work, load average
// 9.0 at the start and 6.7 at the end (so read the ratios; the absolute
// figures are low). Median time per call, aligned slice at key position 0
// / slice one byte in at position 3:
//
//	size     Mask            gobwas          portable Go     Mask vs gobwas
//	16 B     8.9 / 8.5 ns    16.9 / 54.6 ns  8.9 / 7.3 ns    1.9x / 6.4x
//	1 KiB    33.8 / 34.4 ns  45.6 / 104 ns   90.5 / 89.7 ns  1.35x / 3.0x
//	64 KiB   1.33 / 1.14 us  1.63 / 1.69 us  5.69 / 5.62 us  1.23x / 1.49x
//
// At 16 B the assembly and the portable code do not differ measurably
// (p > 0.1); every other ratio has p <= 0.02 except 64 KiB aligned
// against gobwas (p = 0.09): 64 KiB is more than this CPU's 48 KiB L1
// data cache, and both AVX2 kernels wait on L2 there. BenchmarkMaskKernel
// runs Mask on each kernel: AVX2 is 1.5x to 1.7x SSE2 at 1 KiB.
//
// # Conformance
//
// The package enforces, with the RFC sentence quoted beside each check:
// the 64-bit length's most significant bit and the minimal length encoding
// (Section 5.2), reserved opcodes and reserved bits not claimed by an
// extension (Section 5.2), the length and fragmentation limits of control
// frames (Section 5.5), masking by client and never by server (Section
// 5.1), the close codes allowed on the wire (Section 7.4) and the close
// body's layout (Section 5.5.1), and UTF-8 text (Section 8.1). The close
// codes 1012-1014 come from the IANA WebSocket Close Code Number Registry.
// Fragment sequencing (a continuation without a start, a new message
// inside another) needs state across frames and belongs to the connection.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
package frame
