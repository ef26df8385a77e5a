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
	var b [96]byte // room for a valid key and the GUID, which appendAcceptKey hashes in place
	return string(appendAcceptKey(b[:0], key))
}

// acceptSize is the length of a Sec-WebSocket-Accept value: 20 bytes in base64.
const acceptSize = 28

// appendAcceptKey appends AcceptKey(key) to dst. It hashes the key and the GUID from dst's
// spare capacity, which it then overwrites with the result, so it allocates nothing when
// dst has room for them (Accept and Upgrade pass a 4 KiB buffer) and keeps no input array
// on the stack: net/http runs Upgrade on a goroutine whose stack is small.
func appendAcceptKey(dst []byte, key string) []byte {
	n := len(dst)
	dst = append(dst, key...)
	dst = append(dst, keyGUID...)
	sum := sha1.Sum(dst[n:])
	return appendBase64Sum(dst[:n], &sum)
}

// appendBase64Sum appends the standard base64 encoding of a SHA-1 sum (RFC 4648, Section
// 4): six groups of three bytes, then two bytes as three characters and one '='.
func appendBase64Sum(dst []byte, sum *[sha1.Size]byte) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out [acceptSize]byte
	for i := range 6 {
		v := uint(sum[3*i])<<16 | uint(sum[3*i+1])<<8 | uint(sum[3*i+2])
		out[4*i] = alphabet[v>>18&63]
		out[4*i+1] = alphabet[v>>12&63]
		out[4*i+2] = alphabet[v>>6&63]
		out[4*i+3] = alphabet[v&63]
	}
	v := uint(sum[18])<<16 | uint(sum[19])<<8
	out[24] = alphabet[v>>18&63]
	out[25] = alphabet[v>>12&63]
	out[26] = alphabet[v>>6&63]
	out[27] = '='
	return append(dst, out[:]...)
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
