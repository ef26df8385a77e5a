package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
)

// The load generator speaks RFC 6455 by itself, so that it favours no
// library: it writes the opening handshake and masked client frames over
// the net.Conn, and parses what the servers send back.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455

// opcode is a frame opcode (RFC 6455, Section 5.2).
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

func (o opcode) String() string {
	switch o {
	case opContinuation:
		return "continuation"
	case opText:
		return "text"
	case opBinary:
		return "binary"
	case opClose:
		return "close"
	case opPing:
		return "ping"
	case opPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(0x%x)", byte(o))
}

func (o opcode) isControl() bool { return o&0x8 != 0 }

// acceptGUID is the GUID of RFC 6455, Section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey derives Sec-WebSocket-Accept from the client's key (RFC 6455,
// Section 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

var (
	errHandshake = errors.New("load: handshake refused")
	errProtocol  = errors.New("load: protocol violation by the server")
	errEcho      = errors.New("load: wrong echo")
)

// upgrade runs the client side of the opening handshake on nc and returns
// the reader the connection must be read through from then on (the server
// may have sent bytes right after its response). With deflate it offers
// permessage-deflate without context takeover and requires the server to
// accept it.
func upgrade(nc net.Conn, host string, bufSize int, deflate bool) (*bufio.Reader, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET / HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: " + deflateOffer + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, fmt.Errorf("load: write request: %w", err)
	}
	br := bufio.NewReaderSize(nc, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("load: read response: %w", err)
	}
	if err := checkResponse(resp, key, deflate); err != nil {
		return nil, err
	}
	return br, nil
}

// checkResponse applies the client's checks of RFC 6455, Section 4.1, to a
// response to a request that offered no subprotocol and, unless deflate,
// no extension; with deflate, those of RFC 7692 to the answer to
// deflateOffer, which must accept it.
func checkResponse(resp *http.Response, key string, deflate bool) error {
	// "If the status code received from the server is not 101, the client
	// handles the response per HTTP [RFC2616] procedures."
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("%w: status %s", errHandshake, resp.Status)
	}
	// "If the response lacks an |Upgrade| header field or the |Upgrade|
	// header field contains a value that is not an ASCII case-insensitive
	// match for the value "websocket", the client MUST _Fail the WebSocket
	// Connection_."
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return fmt.Errorf("%w: Upgrade %q", errHandshake, resp.Header.Get("Upgrade"))
	}
	// "If the response lacks a |Connection| header field or the
	// |Connection| header field doesn't contain a token that is an ASCII
	// case-insensitive match for the value "Upgrade", the client MUST _Fail
	// the WebSocket Connection_."
	if !hasToken(resp.Header.Values("Connection"), "upgrade") {
		return fmt.Errorf("%w: Connection %q", errHandshake, resp.Header.Values("Connection"))
	}
	// "If the response lacks a |Sec-WebSocket-Accept| header field or the
	// |Sec-WebSocket-Accept| contains a value other than the base64-encoded
	// SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string,
	// not base64-decoded) with the string "258EAFA5-E914-47DA-95CA-
	// C5AB0DC85B11" ..., the client MUST _Fail the WebSocket Connection_."
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return fmt.Errorf("%w: Sec-WebSocket-Accept %q, want %q", errHandshake, got, want)
	}
	// "If the response includes a |Sec-WebSocket-Extensions| header field
	// and this header field indicates the use of an extension that was not
	// present in the client's handshake ..., the client MUST _Fail the
	// WebSocket Connection_." (Likewise for a subprotocol.)
	if v := resp.Header.Get("Sec-WebSocket-Protocol"); v != "" {
		return fmt.Errorf("%w: Sec-WebSocket-Protocol %q was not offered", errHandshake, v)
	}
	ext := strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", ")
	if deflate {
		return checkDeflateResponse(ext)
	}
	if ext != "" {
		return fmt.Errorf("%w: Sec-WebSocket-Extensions %q was not offered", errHandshake, ext)
	}
	return nil
}

// hasToken reports whether a comma-separated header holds token, ignoring
// ASCII case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// maxHeader is the longest frame header: 2 bytes, 8 of extended length and
// 4 of masking key.
const maxHeader = 14

// appendClientHeader appends the header of a final, masked client frame of
// n payload bytes (RFC 6455, Section 5.2): "All frames sent from client to
// server have this bit set to 1" (the MASK bit, Section 5.1).
func appendClientHeader(dst []byte, op opcode, n int, key [4]byte) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, key[:]...)
}

// mask XORs b with the masking key from key byte pos&3 on (RFC 6455,
// Section 5.3) and returns the key position after b.
func mask(key [4]byte, pos int, b []byte) int {
	var rot [4]byte
	for i := range rot {
		rot[i] = key[(pos+i)&3]
	}
	k32 := binary.LittleEndian.Uint32(rot[:])
	k64 := uint64(k32)<<32 | uint64(k32)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= rot[i&3]
	}
	return (pos + len(b)) & 3
}

// header is a parsed frame header.
type header struct {
	fin    bool
	rsv    byte // RSV1-3 as the low three bits
	op     opcode
	masked bool
	length int64
}

// readHeader reads one frame header from br (RFC 6455, Section 5.2). It
// rejects what no frame may carry, whatever was negotiated: a length not in
// its minimal encoding, a 64-bit length with its most significant bit set,
// and a control frame that is fragmented or longer than 125 bytes.
func readHeader(br *bufio.Reader) (header, error) {
	var b [8]byte
	if _, err := io.ReadFull(br, b[:2]); err != nil {
		return header{}, err
	}
	h := header{
		fin:    b[0]&0x80 != 0,
		rsv:    (b[0] >> 4) & 0x7,
		op:     opcode(b[0] & 0xf),
		masked: b[1]&0x80 != 0,
		length: int64(b[1] & 0x7f),
	}
	switch h.length {
	case 126:
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return header{}, err
		}
		h.length = int64(binary.BigEndian.Uint16(b[:2]))
		// "the minimal number of bytes MUST be used to encode the length"
		// (Section 5.2): a 16-bit length under 126 is a protocol error.
		if h.length < 126 {
			return header{}, fmt.Errorf("%w: %d bytes in a 16-bit length", errProtocol, h.length)
		}
	case 127:
		if _, err := io.ReadFull(br, b[:8]); err != nil {
			return header{}, err
		}
		// "the most significant bit MUST be 0" (Section 5.2).
		u := binary.BigEndian.Uint64(b[:8])
		if u>>63 != 0 {
			return header{}, fmt.Errorf("%w: 64-bit length with the MSB set", errProtocol)
		}
		if u <= 0xffff {
			return header{}, fmt.Errorf("%w: %d bytes in a 64-bit length", errProtocol, u)
		}
		h.length = int64(u)
	}
	if h.masked {
		// The key is read and dropped: a masked server frame is refused
		// by the caller.
		if _, err := io.ReadFull(br, b[:4]); err != nil {
			return header{}, err
		}
	}
	// "All control frames MUST have a payload length of 125 bytes or less
	// and MUST NOT be fragmented." (Section 5.5)
	if h.op.isControl() && (h.length > 125 || !h.fin) {
		return header{}, fmt.Errorf("%w: %s frame of %d bytes, fin %t", errProtocol, h.op, h.length, h.fin)
	}
	return h, nil
}
