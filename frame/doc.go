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
