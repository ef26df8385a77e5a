package frame

import "strconv"

// Opcode is the 4-bit frame opcode of RFC 6455, Section 5.2.
//
// Every opcode is exactly one of data ([Opcode.IsData]), control
// ([Opcode.IsControl]) or reserved ([Opcode.IsReserved]).
type Opcode uint8

// The opcodes defined by RFC 6455, Section 5.2. The others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the opcode's name ("text", "close", ...) or
// "reserved(0x3)" for an opcode the RFC does not define. It never fails.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// IsControl reports whether o is one of the defined control opcodes: close,
// ping or pong. The reserved opcodes 0xB-0xF carry the control bit too
// (RFC 6455, Section 5.5), but they are reserved, not control.
func (o Opcode) IsControl() bool {
	return o == OpClose || o == OpPing || o == OpPong
}

// IsData reports whether o is one of the defined data opcodes: continuation,
// text or binary.
func (o Opcode) IsData() bool {
	return o <= OpBinary
}

// IsReserved reports whether o is not defined by RFC 6455: 0x3-0x7 (further
// non-control frames), 0xB-0xF (further control frames), and any value that
// does not fit in four bits.
func (o Opcode) IsReserved() bool {
	return !o.IsData() && !o.IsControl()
}

// Role says which end of the connection receives the frame being checked.
type Role uint8

// The two roles. A server receives frames from a client and the other way round.
const (
	RoleServer Role = iota
	RoleClient
)

// String returns "server", "client", or "role(N)" for other values.
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleClient:
		return "client"
	}
	return "role(" + strconv.FormatUint(uint64(r), 10) + ")"
}

// RSV is a bitmask of the three reserved header bits, with the values they
// have in the first byte of a frame on the wire.
type RSV uint8

// The reserved bits. Combine them with | to describe the bits negotiated
// extensions claim (RFC 6455, Section 5.2 and Section 9).
const (
	RSV1Bit RSV = 0x40
	RSV2Bit RSV = 0x20
	RSV3Bit RSV = 0x10
)

// String returns the set bits joined by "|", such as "rsv1|rsv3", "none"
// for no bits, and never fails; bits outside the three are shown in hex.
func (r RSV) String() string {
	if r == 0 {
		return "none"
	}
	var buf [32]byte
	b := buf[:0]
	for _, bit := range [...]struct {
		v    RSV
		name string
	}{{RSV1Bit, "rsv1"}, {RSV2Bit, "rsv2"}, {RSV3Bit, "rsv3"}} {
		if r&bit.v != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, bit.name...)
		}
	}
	if rest := r &^ (RSV1Bit | RSV2Bit | RSV3Bit); rest != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	return string(b)
}
