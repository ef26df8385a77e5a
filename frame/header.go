package frame

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
)

// MaxHeaderSize is the largest encoded header: 2 fixed bytes, an 8-byte
// extended length and a 4-byte masking key.
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload of a control frame (RFC 6455,
// Section 5.5).
const MaxControlPayload = 125

// Bits of the first two header bytes (RFC 6455, Section 5.2).
const (
	finBit    = 0x80
	rsvMask   = byte(RSV1Bit | RSV2Bit | RSV3Bit)
	opMask    = 0x0F
	maskBit   = 0x80
	len7Mask  = 0x7F
	len16Code = 126
	len64Code = 127
)

// Header is a decoded frame header (RFC 6455, Section 5.2). The zero value
// is a non-final, unmasked continuation header with no payload.
//
// MaskKey is meaningful only when Masked is set. Length is the payload
// length in bytes; [ParseHeader] never yields a negative one.
type Header struct {
	Fin              bool
	RSV1, RSV2, RSV3 bool
	Opcode           Opcode
	Masked           bool
	MaskKey          [4]byte
	Length           int64
}

// RSV returns the header's reserved bits as a mask, for comparing with the
// bits negotiated extensions claim.
func (h Header) RSV() RSV {
	return rsvBits(h.RSV1, h.RSV2, h.RSV3)
}

// rsvBits builds the mask from the three flags. Callers pass the fields,
// not the Header, so that no copy of the header is made on the hot path.
func rsvBits(rsv1, rsv2, rsv3 bool) RSV {
	var r RSV
	if rsv1 {
		r |= RSV1Bit
	}
	if rsv2 {
		r |= RSV2Bit
	}
	if rsv3 {
		r |= RSV3Bit
	}
	return r
}

// Size returns the number of bytes [AppendHeader] writes for h: 2 to 14.
func (h Header) Size() int {
	n := 2
	switch l := uint64(h.Length); {
	case l > 0xFFFF:
		n += 8
	case l > MaxControlPayload:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// String describes h for logs and test failures, such as
// "text fin len=5 masked"; it never fails.
func (h Header) String() string {
	var buf [96]byte
	b := append(buf[:0], h.Opcode.String()...)
	if h.Fin {
		b = append(b, " fin"...)
	}
	if r := h.RSV(); r != 0 {
		b = append(b, ' ')
		b = append(b, r.String()...)
	}
	b = append(b, " len="...)
	b = strconv.AppendInt(b, h.Length, 10)
	if h.Masked {
		b = append(b, " masked"...)
	}
	return string(b)
}

// HeaderSize returns the size of the header that b starts with, 2 to 14
// bytes, as its first two bytes announce it; 2 when b is shorter than that.
// A reader that parses headers in place over its own buffer uses it to
// know how many bytes to wait for before [ParseHeader].
func HeaderSize(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	return sizeFrom(b[1])
}

// sizeFrom returns the header size announced by the second header byte.
func sizeFrom(b1 byte) int {
	n := 2
	switch b1 & len7Mask {
	case len16Code:
		n += 2
	case len64Code:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes one header from the start of b and returns it with
// the number of bytes it took. It keeps no reference to b and does not
// allocate on success.
//
// It enforces only the rules that make the header itself malformed: a
// 64-bit length with its most significant bit set ([ErrLengthMSB]) and a
// length not in its minimal form ([ErrNonMinimalLength]). The rules that
// depend on the receiver are in [Header.Check].
//
// When b is too short for the whole header, ParseHeader returns
// [ErrShortHeader] and n = 0.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return Header{}, 0, ErrShortHeader
	}
	b0, b1 := b[0], b[1]
	size := sizeFrom(b1)
	if len(b) < size {
		return Header{}, 0, ErrShortHeader
	}
	h.Fin = b0&finBit != 0
	h.RSV1 = b0&byte(RSV1Bit) != 0
	h.RSV2 = b0&byte(RSV2Bit) != 0
	h.RSV3 = b0&byte(RSV3Bit) != 0
	h.Opcode = Opcode(b0 & opMask)
	h.Masked = b1&maskBit != 0

	n = 2
	switch l := b1 & len7Mask; l {
	case len16Code:
		v := binary.BigEndian.Uint16(b[2:4])
		// RFC 6455, Section 5.2: "the minimal number of bytes MUST be
		// used to encode the length".
		if v <= MaxControlPayload {
			return Header{}, 0, detail(ErrNonMinimalLength, "%d in 16 bits", v)
		}
		h.Length = int64(v)
		n = 4
	case len64Code:
		v := binary.BigEndian.Uint64(b[2:10])
		// RFC 6455, Section 5.2: "If 127, the following 8 bytes
		// interpreted as a 64-bit unsigned integer (the most significant
		// bit MUST be 0) are the payload length."
		if v>>63 != 0 {
			return Header{}, 0, ErrLengthMSB
		}
		if v <= 0xFFFF {
			return Header{}, 0, detail(ErrNonMinimalLength, "%d in 64 bits", v)
		}
		h.Length = int64(v)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.MaskKey[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// ReadHeader reads one header from r and consumes exactly its bytes. It
// uses Peek and Discard, so it does not allocate; r must have a buffer of
// at least [MaxHeaderSize] bytes, which every [bufio.Reader] has.
//
// It returns io.EOF only when r ended before the first byte of the header,
// io.ErrUnexpectedEOF when it ended inside it, other read errors as they
// are, and the errors of [ParseHeader]. After an error the stream position
// is unspecified and the connection should be failed.
func ReadHeader(r *bufio.Reader) (Header, error) {
	b, err := r.Peek(2)
	if err != nil {
		return Header{}, readErr(len(b), err)
	}
	size := sizeFrom(b[1])
	if b, err = r.Peek(size); err != nil {
		return Header{}, readErr(len(b), err)
	}
	h, n, err := ParseHeader(b)
	if err != nil {
		return Header{}, err
	}
	if _, err := r.Discard(n); err != nil {
		return Header{}, err
	}
	return h, nil
}

// readErr turns the end of the stream inside a header into
// io.ErrUnexpectedEOF; got is the number of header bytes available.
func readErr(got int, err error) error {
	if got > 0 && errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends the encoding of h to dst and returns the extended
// slice. It uses the minimal length form and does not allocate when dst has
// room for [Header.Size] more bytes.
//
// AppendHeader never validates, so tests can build frames the peer must
// reject: only the low four bits of Opcode are written, and a negative
// Length is written as its 64-bit two's complement, which sets the most
// significant bit.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Opcode) & opMask
	if h.Fin {
		b0 |= finBit
	}
	b0 |= byte(rsvBits(h.RSV1, h.RSV2, h.RSV3))
	// Grow once and fill in place: one capacity check instead of one per
	// append, and never more room than this header takes.
	var b1 byte
	var keyLen int
	if h.Masked {
		b1, keyLen = maskBit, 4
	}
	n := len(dst)
	var b []byte
	switch l := uint64(h.Length); {
	case l <= MaxControlPayload:
		dst = slices.Grow(dst, 2+keyLen)[:n+2]
		b = dst[n:]
		b[0], b[1] = b0, b1|byte(l)
	case l <= 0xFFFF:
		dst = slices.Grow(dst, 4+keyLen)[:n+4]
		b = dst[n:]
		b[0], b[1] = b0, b1|len16Code
		binary.BigEndian.PutUint16(b[2:], uint16(l))
	default:
		dst = slices.Grow(dst, 10+keyLen)[:n+10]
		b = dst[n:]
		b[0], b[1] = b0, b1|len64Code
		binary.BigEndian.PutUint64(b[2:], l)
	}
	if h.Masked {
		dst = append(dst, h.MaskKey[:]...)
	}
	return dst
}

// Check applies the per-frame rules of RFC 6455, Section 5 to a frame
// received by an endpoint of the given role. allowed holds the reserved bits
// claimed by negotiated extensions (0 when there are none); whether a bit
// makes sense on a given opcode is the extension's business.
//
// The rules are checked in this order, and the first broken one is
// returned as an error matching its sentinel, all with code 1002:
// [ErrReservedOpcode], [ErrReservedBits], [ErrControlTooLong],
// [ErrControlFragmented], then [ErrUnmasked] (at a server) or [ErrMasked]
// (at a client). A role other than [RoleServer] and [RoleClient] skips the
// masking rule. Check does not allocate when the header is valid.
func (h Header) Check(role Role, allowed RSV) error {
	// RFC 6455, Section 5.2: "If an unknown opcode is received, the
	// receiving endpoint MUST _Fail the WebSocket Connection_."
	if h.Opcode.IsReserved() {
		return detail(ErrReservedOpcode, "0x%x", uint8(h.Opcode))
	}
	// RFC 6455, Section 5.2: RSV1-3 "MUST be 0 unless an extension is
	// negotiated that defines meanings for non-zero values."
	if extra := rsvBits(h.RSV1, h.RSV2, h.RSV3) &^ allowed; extra != 0 {
		return detail(ErrReservedBits, "%s", extra)
	}
	if h.Opcode.IsControl() {
		// RFC 6455, Section 5.5: "All control frames MUST have a payload
		// length of 125 bytes or less and MUST NOT be fragmented."
		if h.Length > MaxControlPayload {
			return detail(ErrControlTooLong, "%s of %d bytes", h.Opcode, h.Length)
		}
		if !h.Fin {
			return detail(ErrControlFragmented, "%s", h.Opcode)
		}
	}
	switch role {
	case RoleServer:
		// RFC 6455, Section 5.1: "The server MUST close the connection
		// upon receiving a frame that is not masked."
		if !h.Masked {
			return ErrUnmasked
		}
	case RoleClient:
		// RFC 6455, Section 5.1: "A client MUST close a connection if it
		// detects a masked frame."
		if h.Masked {
			return ErrMasked
		}
	}
	return nil
}
