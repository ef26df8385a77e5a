package fuzz_test

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"duplex/frame"
)

// This file is a reference model of the wire rules of RFC 6455, written from
// the RFC and independently of package frame, so that the targets compare
// two readings of the same text instead of one code with itself.

// refHeader is a frame header decoded by the reference.
type refHeader struct {
	fin, rsv1, rsv2, rsv3 bool
	op                    byte
	masked                bool
	key                   [4]byte
	length                uint64
	size                  int
}

type headerStatus int

const (
	headerOK        headerStatus = iota
	headerShort                  // more bytes are needed
	headerMalformed              // RFC 6455, Section 5.2: MSB set or non-minimal length
)

// refDecodeHeader decodes a header from the start of b (RFC 6455, Section
// 5.2). For a short b it reports headerShort, and also
// malformedIfShort when the bytes present already prove the header
// malformed, since a reader may fail that early or wait for the rest.
func refDecodeHeader(b []byte) (h refHeader, st headerStatus, malformedIfShort bool) {
	if len(b) < 2 {
		return h, headerShort, false
	}
	h.fin = b[0]&0x80 != 0
	h.rsv1 = b[0]&0x40 != 0
	h.rsv2 = b[0]&0x20 != 0
	h.rsv3 = b[0]&0x10 != 0
	h.op = b[0] & 0x0F
	h.masked = b[1]&0x80 != 0
	n := 2
	var lenBytes int
	switch l7 := b[1] & 0x7F; l7 {
	case 126:
		lenBytes = 2
	case 127:
		lenBytes = 8
	default:
		h.length = uint64(l7)
	}
	malformed := false
	if len(b) >= n+lenBytes {
		switch lenBytes {
		case 2:
			h.length = uint64(binary.BigEndian.Uint16(b[n:]))
			// "the minimal number of bytes MUST be used to encode the length"
			malformed = h.length < 126
		case 8:
			h.length = binary.BigEndian.Uint64(b[n:])
			// "the most significant bit MUST be 0"
			malformed = h.length>>63 != 0 || h.length <= 0xFFFF
		}
	}
	n += lenBytes
	if h.masked {
		n += 4
	}
	if len(b) < n {
		return h, headerShort, malformed
	}
	if h.masked {
		copy(h.key[:], b[n-4:n])
	}
	h.size = n
	if malformed {
		return h, headerMalformed, false
	}
	return h, headerOK, false
}

func isControlOp(op byte) bool  { return op == 0x8 || op == 0x9 || op == 0xA }
func isDataOp(op byte) bool     { return op <= 0x2 }
func isReservedOp(op byte) bool { return !isControlOp(op) && !isDataOp(op) }

// refCheck returns the sentinel of the first rule of RFC 6455, Section 5
// the header breaks when received by role with the reserved bits allowed,
// in the order frame.Header.Check documents, or nil.
func refCheck(h refHeader, role frame.Role, allowed frame.RSV) error {
	var rsv frame.RSV
	if h.rsv1 {
		rsv |= frame.RSV1Bit
	}
	if h.rsv2 {
		rsv |= frame.RSV2Bit
	}
	if h.rsv3 {
		rsv |= frame.RSV3Bit
	}
	switch {
	case isReservedOp(h.op):
		return frame.ErrReservedOpcode
	case rsv&^allowed != 0:
		return frame.ErrReservedBits
	case isControlOp(h.op) && h.length > 125:
		return frame.ErrControlTooLong
	case isControlOp(h.op) && !h.fin:
		return frame.ErrControlFragmented
	case role == frame.RoleServer && !h.masked:
		return frame.ErrUnmasked
	case role == frame.RoleClient && h.masked:
		return frame.ErrMasked
	}
	return nil
}

// refMask masks b in place one byte at a time (RFC 6455, Section 5.3:
// "octet i of the transformed data is the XOR of octet i of the original
// data with octet at index i modulo 4 of the masking key").
func refMask(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// refCloseCodeValid lists the codes RFC 6455, Section 7.4 lets an endpoint
// send, with 1012-1014 from the IANA registry.
func refCloseCodeValid(c uint16) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014, c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// contProbes covers the bounds of every continuation byte range the UTF-8
// grammar uses (RFC 3629, Section 4), so trying them decides whether a
// partial sequence can still be completed.
var contProbes = []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF}

// completable reports whether t, which starts at a non-ASCII byte, is a
// proper prefix of the encoding of one valid character.
func completable(t []byte) bool {
	if len(t) >= utf8.UTFMax {
		return false
	}
	for _, p := range contProbes {
		u := append(slices.Clone(t), p)
		if utf8.Valid(u) && utf8.RuneCount(u) == 1 {
			return true
		}
		if completable(u) {
			return true
		}
	}
	return false
}

// refFailFast returns the index of the first byte after which b can no
// longer be the start of valid UTF-8, or -1 when it still can (it is valid,
// or valid but for an unfinished last character).
func refFailFast(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size != 1 {
			i += size
			continue
		}
		for k := i; k < len(b) && k < i+utf8.UTFMax; k++ {
			if !completable(b[i : k+1]) {
				return k
			}
		}
		return -1
	}
	return -1
}
