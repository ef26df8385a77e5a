package autobahn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Opcode is a frame opcode as it is written on the wire. The suite sends
// reserved opcodes on purpose, so any 4-bit value is allowed.
type Opcode uint8

// The opcodes of RFC 6455, Section 5.2.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String names the opcode; reserved values print as "reserved(0x3)".
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

func (o Opcode) isControl() bool  { return o&0x8 != 0 }
func (o Opcode) isReserved() bool { return (o >= 3 && o <= 7) || o >= 0xB }

// Frame is a frame the suite sends. Nothing in it is validated: cases send
// illegal frames on purpose.
type Frame struct {
	Opcode Opcode
	Fin    bool
	RSV    uint8 // the three reserved bits as a number 0-7 (RSV1 is 4)
	// Payload is repeated to RepeatLen bytes when RepeatLen > len(Payload).
	Payload   []byte
	RepeatLen int
	// Chop > 0 writes the encoded frame in separate writes of Chop bytes.
	Chop int
	// Sync writes the frame by itself, so that it travels alone on the wire.
	Sync bool
}

// payload returns the frame's payload after repetition.
func (f *Frame) payload() []byte {
	if f.RepeatLen <= len(f.Payload) || len(f.Payload) == 0 {
		return f.Payload
	}
	p := make([]byte, f.RepeatLen)
	for i := 0; i < len(p); i += copy(p[i:], f.Payload) {
	}
	return p
}

// appendHeader encodes a frame header with the minimal length form
// (RFC 6455, Section 5.2).
func appendHeader(dst []byte, op Opcode, fin bool, rsv uint8, length int, mask *[4]byte) []byte {
	b0 := byte(op&0xF) | (rsv&7)<<4
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if mask != nil {
		b1 = 0x80
	}
	switch {
	case length < 126:
		dst = append(dst, b0, b1|byte(length))
	case length <= 0xFFFF:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if mask != nil {
		dst = append(dst, mask[:]...)
	}
	return dst
}

// maskBytes XORs b with key starting at key position pos, and returns the
// position for the next byte (RFC 6455, Section 5.3).
func maskBytes(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// inFrame is a frame received from the peer.
type inFrame struct {
	Opcode  Opcode
	Fin     bool
	RSV     uint8
	Masked  bool
	Key     [4]byte
	Payload []byte // unmasked
}

// errTooLarge reports a frame longer than the suite accepts.
var errTooLarge = errors.New("autobahn: frame payload too large")

// errLengthMSB reports a 64-bit length with its most significant bit set.
var errLengthMSB = errors.New("autobahn: frame length has the most significant bit set")

// readFrame reads one frame. It tolerates any header the peer sends and
// leaves judging it to the caller; it refuses only what cannot be read:
// a 64-bit length with the MSB set (RFC 6455, Section 5.2: "the most
// significant bit MUST be 0") and payloads over limit.
func readFrame(r *bufio.Reader, limit int64) (inFrame, error) {
	var f inFrame
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return f, err
	}
	f.Fin = h[0]&0x80 != 0
	f.RSV = (h[0] >> 4) & 7
	f.Opcode = Opcode(h[0] & 0xF)
	f.Masked = h[1]&0x80 != 0
	n := int64(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			return f, unexpected(err)
		}
		n = int64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			return f, unexpected(err)
		}
		u := binary.BigEndian.Uint64(e[:])
		if u>>63 != 0 {
			return f, errLengthMSB
		}
		n = int64(u)
	}
	if n > limit {
		return f, fmt.Errorf("%w: %d bytes", errTooLarge, n)
	}
	if f.Masked {
		if _, err := io.ReadFull(r, f.Key[:]); err != nil {
			return f, unexpected(err)
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, unexpected(err)
	}
	if f.Masked {
		maskBytes(f.Key, 0, f.Payload)
	}
	return f, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// utf8Validator checks UTF-8 incrementally across chunk boundaries and fails
// as soon as the bytes seen cannot start valid UTF-8, as the original does
// (RFC 3629 ranges: no overlong forms, no surrogates, nothing past U+10FFFF).
type utf8Validator struct {
	need   int
	lo, hi byte
	failed bool
}

// feed validates p and reports whether the stream is still valid.
func (v *utf8Validator) feed(p []byte) bool {
	if v.failed {
		return false
	}
	for _, b := range p {
		if v.need > 0 {
			if b < v.lo || b > v.hi {
				v.failed = true
				return false
			}
			v.need--
			v.lo, v.hi = 0x80, 0xBF
			continue
		}
		switch {
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			v.need, v.lo, v.hi = 1, 0x80, 0xBF
		case b == 0xE0:
			v.need, v.lo, v.hi = 2, 0xA0, 0xBF
		case b == 0xED:
			v.need, v.lo, v.hi = 2, 0x80, 0x9F
		case b >= 0xE1 && b <= 0xEF:
			v.need, v.lo, v.hi = 2, 0x80, 0xBF
		case b == 0xF0:
			v.need, v.lo, v.hi = 3, 0x90, 0xBF
		case b >= 0xF1 && b <= 0xF3:
			v.need, v.lo, v.hi = 3, 0x80, 0xBF
		case b == 0xF4:
			v.need, v.lo, v.hi = 3, 0x80, 0x8F
		default:
			v.failed = true
			return false
		}
	}
	return true
}

// complete reports whether the stream is valid and ends on a character boundary.
func (v *utf8Validator) complete() bool { return !v.failed && v.need == 0 }

func (v *utf8Validator) reset() { *v = utf8Validator{} }

// ClosePayload builds a close frame body: a 2-byte code, then reason.
// Any code is accepted, so that cases can send invalid ones.
func ClosePayload(code int, reason []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// validCloseCode reports whether code may appear in a close frame
// (RFC 6455, Section 7.4: 1000-1003, 1007-1011 and the IANA-registered
// 1012-1014 are defined; 3000-4999 are for libraries and applications).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
