package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAcceptKey(t *testing.T) {
	// RFC 6455, Section 4.2.2.
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", acceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
}

func TestAppendClientHeader(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, tc := range []struct {
		name string
		n    int
		want []byte
	}{
		{"5.2/len7", 5, []byte{0x82, 0x85}},
		{"5.2/len7-max", 125, []byte{0x82, 0xfd}},
		{"5.2/len16-min", 126, []byte{0x82, 0xfe, 0x00, 0x7e}},
		{"5.2/len16-max", 65535, []byte{0x82, 0xfe, 0xff, 0xff}},
		{"5.2/len64-min", 65536, []byte{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := appendClientHeader(nil, opBinary, tc.n, key)
			assert.Equal(t, append(tc.want, key[:]...), got)
		})
	}
}

// TestMaskRFCExample masks "Hello" as in RFC 6455, Section 5.7.
func TestMaskRFCExample(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f := appendClientHeader(nil, opText, 5, key)
	f = append(f, "Hello"...)
	mask(key, 0, f[6:])
	assert.Equal(t, []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, f)
}

// TestMaskMatchesReference compares mask with the byte-by-byte rule of
// Section 5.3 for every length to 64, every key offset, and in pieces.
func TestMaskMatchesReference(t *testing.T) {
	key := [4]byte{1, 2, 0x80, 0xff}
	for n := range 65 {
		for pos := range 4 {
			b := make([]byte, n)
			want := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 13)
				want[i] = b[i] ^ key[(pos+i)&3]
			}
			split := n / 3
			next := mask(key, pos, b[:split])
			assert.Equal(t, (pos+split)&3, next)
			mask(key, next, b[split:])
			assert.Equal(t, want, b, "length %d, offset %d", n, pos)
		}
	}
}

// serverFrame encodes an unmasked frame as a server sends it.
func serverFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = binary.BigEndian.AppendUint16(append(f, 126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 127), uint64(n))
	}
	return append(f, payload...)
}

// readers runs fn on whole, one-byte and half reads of b.
func readers(t *testing.T, b []byte, fn func(t *testing.T, br *bufio.Reader)) {
	for name, r := range map[string]io.Reader{
		"whole":   bytes.NewReader(b),
		"onebyte": iotest.OneByteReader(bytes.NewReader(b)),
		"half":    iotest.HalfReader(bytes.NewReader(b)),
	} {
		t.Run(name, func(t *testing.T) { fn(t, bufio.NewReaderSize(r, 16)) })
	}
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want header
	}{
		{"5.2/binary-fin", serverFrame(0x82, make([]byte, 5)), header{fin: true, op: opBinary, length: 5}},
		{"5.2/len16", serverFrame(0x02, make([]byte, 300)), header{op: opBinary, length: 300}},
		{"5.2/len64", serverFrame(0x80, make([]byte, 70000)), header{fin: true, op: opContinuation, length: 70000}},
		{"5.2/rsv1", serverFrame(0xc2, nil), header{fin: true, rsv: 4, op: opBinary}},
		{"5.2/masked", []byte{0x82, 0x81, 1, 2, 3, 4, 'x'}, header{fin: true, op: opBinary, masked: true, length: 1}},
		{"5.5/ping-125", serverFrame(0x89, make([]byte, 125)), header{fin: true, op: opPing, length: 125}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readers(t, tc.in, func(t *testing.T, br *bufio.Reader) {
				h, err := readHeader(br)
				require.NoError(t, err)
				assert.Equal(t, tc.want, h)
			})
		})
	}
}

func TestReadHeaderRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"5.2/len64-msb-set", []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1}},
		{"5.2/len16-not-minimal", append([]byte{0x82, 0x7e, 0, 125}, make([]byte, 125)...)},
		{"5.2/len16-zero", []byte{0x82, 0x7e, 0, 0}},
		{"5.2/len64-not-minimal", append([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, make([]byte, 0xffff)...)},
		{"5.2/len64-small", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5}},
		{"5.5/ping-126-bytes", serverFrame(0x89, make([]byte, 126))},
		{"5.5/fragmented-close", serverFrame(0x08, []byte{0x03, 0xe8})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readers(t, tc.in, func(t *testing.T, br *bufio.Reader) {
				_, err := readHeader(br)
				require.ErrorIs(t, err, errProtocol)
			})
		})
	}
}

func TestReadHeaderShort(t *testing.T) {
	full := serverFrame(0x82, make([]byte, 300))[:4]
	for n := range len(full) {
		_, err := readHeader(bufio.NewReader(bytes.NewReader(full[:n])))
		require.Error(t, err, "%d of %d header bytes", n, len(full))
	}
}

func TestCheckResponse(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	parse := func(t *testing.T, s string) *http.Response {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(s+"\r\n")), nil)
		require.NoError(t, err)
		return resp
	}
	require.NoError(t, checkResponse(parse(t, good), key, false))
	require.NoError(t, checkResponse(parse(t, strings.Replace(good, "Connection: Upgrade", "Connection: keep-alive, upgrade", 1)), key, false))
	for _, tc := range []struct{ name, resp string }{
		{"4.1/status-200", strings.Replace(good, "101 Switching Protocols", "200 OK", 1)},
		{"4.1/no-upgrade", strings.Replace(good, "Upgrade: websocket\r\n", "", 1)},
		{"4.1/upgrade-h2c", strings.Replace(good, "Upgrade: websocket", "Upgrade: h2c", 1)},
		{"4.1/no-connection-upgrade", strings.Replace(good, "Connection: Upgrade", "Connection: close", 1)},
		{"4.1/wrong-accept", strings.Replace(good, "s3pP", "S3pP", 1)},
		{"4.1/extension-not-offered", good + "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
		{"4.1/subprotocol-not-offered", good + "Sec-WebSocket-Protocol: chat\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, checkResponse(parse(t, tc.resp), key, false), errHandshake)
		})
	}
}
