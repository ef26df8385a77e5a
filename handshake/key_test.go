package handshake_test

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"duplex/handshake"
)

// TestAcceptKey holds AcceptKey to the definition of RFC 6455, Section 4.2.2, item 5.4,
// computed with the standard library, for the RFC's own key and for keys of every length
// up to well past the room AcceptKey keeps on its stack.
func TestAcceptKey(t *testing.T) {
	t.Run("4.2.2/rfc-vector", func(t *testing.T) {
		assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	})
	t.Run("4.2.2/every-length", func(t *testing.T) {
		for n := range 300 {
			key := strings.Repeat("k+/=", n/4+1)[:n]
			sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), handshake.AcceptKey(key), "key length %d", n)
		}
	})
}
