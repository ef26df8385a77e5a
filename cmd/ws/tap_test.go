package main

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// decode feeds stream to a wire decoder in pieces of size n (0: at once)
// and returns what it printed.
func decode(stream []byte, n int) string {
	var errb lockedBuffer
	d := newWireDecoder(&printer{errw: &errb, verbose: true}, ">")
	if n == 0 {
		n = len(stream)
	}
	for len(stream) > 0 {
		k := min(n, len(stream))
		d.feed(stream[:k])
		stream = stream[k:]
	}
	return errb.String()
}

func TestWireDecoder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream string // hex, after the head
		head   string
		want   string
	}{
		{
			name: "5.7/masked-hello-and-close",
			head: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			// RFC 6455, Section 5.7: a masked "Hello", then a masked close 1000 "bye".
			stream: "81 85 37 fa 21 3d 7f 9f 4d 51 58" + "88 85 00 00 00 00 03 e8 62 79 65",
			want: "> GET / HTTP/1.1\n> Host: a\n" +
				"> frame text fin len=5 masked\n" +
				`> frame close fin len=5 masked: 1000 "bye"` + "\n",
		},
		{
			name: "5.5.2/ping-payload-and-16-bit-length",
			head: "HTTP/1.1 101 Switching Protocols\r\n\r\n",
			// An unmasked ping "hi", then a 126-byte binary frame.
			stream: "89 02 68 69" + "82 7e 00 7e" + strings.Repeat("00", 126) + "8a 00",
			want: "> HTTP/1.1 101 Switching Protocols\n" +
				`> frame ping fin len=2: "hi"` + "\n" +
				"> frame binary fin len=126\n" +
				"> frame pong fin len=0\n",
		},
		{
			name: "4.1/proxy-tunnel-then-handshake",
			head: "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n",
			// A fragmented text message.
			stream: "01 01 61" + "80 01 62",
			want: "> HTTP/1.1 200 Connection established\n> HTTP/1.1 101 Switching Protocols\n" +
				"> frame text len=1\n" +
				"> frame continuation fin len=1\n",
		},
		{
			name: "5.2/len127-msb-set",
			head: "HTTP/1.1 101 Switching Protocols\r\n\r\n",
			// The 64-bit length with its most significant bit set, then
			// bytes that must not be decoded as frames.
			stream: "82 7f 80 00 00 00 00 00 00 00" + "81 00",
			want:   "> HTTP/1.1 101 Switching Protocols\n> bad frame header: ",
		},
	} {
		stream := append([]byte(tc.head), mustHex(t, tc.stream)...)
		for _, n := range []int{0, 1, 2, 7} {
			name := tc.name
			if n > 0 {
				name += "/chunks-" + string(rune('0'+n))
			}
			t.Run(name, func(t *testing.T) {
				got := decode(stream, n)
				if strings.HasSuffix(tc.want, ": ") {
					assert.True(t, strings.HasPrefix(got, tc.want), got)
					assert.Equal(t, 1, strings.Count(got, "bad frame header"), "decoding stops")
					return
				}
				assert.Equal(t, tc.want, got)
			})
		}
	}
}
