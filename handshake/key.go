package handshake

import (
	"crypto/rand"
	"crypto/sha1" // RFC 6455 fixes SHA-1 for the accept value, which proves no secret
	"encoding/base64"
	"fmt"
)

// keyGUID is the fixed GUID of RFC 6455, Section 1.3, appended to the client's key.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key: the base64
// encoding of the SHA-1 hash of the key (as sent, not decoded) followed by the RFC's GUID
// (RFC 6455, Section 4.2.2, item 5.4).
func AcceptKey(key string) string {
	var b [acceptSize]byte
	return string(appendAcceptKey(b[:0], key))
}

// acceptSize is the length of a Sec-WebSocket-Accept value: 20 bytes in base64.
const acceptSize = 28

// appendAcceptKey appends AcceptKey(key) to dst without allocating, but for keys far longer
// than the 24 bytes of a valid one.
func appendAcceptKey(dst []byte, key string) []byte {
	var sum [sha1.Size]byte
	var in [128]byte
	if n := len(key) + len(keyGUID); n <= len(in) {
		copy(in[copy(in[:], key):], keyGUID)
		sum = sha1.Sum(in[:n])
	} else {
		h := sha1.New()
		h.Write([]byte(key))
		h.Write([]byte(keyGUID))
		h.Sum(sum[:0])
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// NewClientKey returns a fresh Sec-WebSocket-Key. RFC 6455, Section 4.1: "The value of this
// header field MUST be a nonce consisting of a randomly selected 16-byte value that has been
// base64-encoded". The bytes come from crypto/rand.
func NewClientKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("handshake: client key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// validKey reports whether key is the base64 encoding of exactly 16 bytes.
func validKey(key string) bool {
	// RFC 6455, Section 4.2.1, item 5: "A |Sec-WebSocket-Key| header field with a
	// base64-encoded value that, when decoded, is 16 bytes in length." In the standard
	// alphabet with padding (RFC 4648, Section 4) that is 22 characters of the alphabet and
	// "==", which is what base64.StdEncoding.Decode accepts as 16 bytes (it ignores the four
	// bits after the last byte); looked at by hand, without decoding.
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for i := range 22 {
		if !base64Chars[key[i]] {
			return false
		}
	}
	return true
}

// base64Chars holds the characters of the standard base64 alphabet, RFC 4648, Section 4.
var base64Chars = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()
