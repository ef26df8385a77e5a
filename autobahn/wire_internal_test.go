package autobahn

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite's frame codec must agree with RFC 6455's own example.
func TestFrameCodecRFCVector(t *testing.T) {
	// RFC 6455, Section 5.7: a masked text frame "Hello".
	want := mustHex("818537fa213d7f9f4d5158")
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := appendHeader(nil, OpText, true, 0, 5, &key)
	p := []byte("Hello")
	maskBytes(key, 0, p)
	assert.Equal(t, want, append(b, p...))

	readers := map[string]func(io.Reader) io.Reader{
		"plain": func(r io.Reader) io.Reader { return r },
		"one":   iotest.OneByteReader,
		"half":  iotest.HalfReader,
	}
	for name, wrap := range readers {
		t.Run("5.7/masked-hello/"+name, func(t *testing.T) {
			f, err := readFrame(bufio.NewReader(wrap(bytes.NewReader(want))), 1<<20)
			require.NoError(t, err)
			assert.Equal(t, OpText, f.Opcode)
			assert.True(t, f.Fin)
			assert.True(t, f.Masked)
			assert.Equal(t, []byte("Hello"), f.Payload)
		})
	}
}

func TestReadFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 127, 65535, 65536} {
		b := appendHeader(nil, OpBinary, false, 5, n, nil)
		b = append(b, bytes.Repeat([]byte{0xfe}, n)...)
		f, err := readFrame(bufio.NewReader(iotest.HalfReader(bytes.NewReader(b))), 1<<20)
		require.NoError(t, err, n)
		assert.Len(t, f.Payload, n)
		assert.Equal(t, uint8(5), f.RSV)
		assert.False(t, f.Fin)
	}
	// RFC 6455, Section 5.2: "the most significant bit MUST be 0".
	msb := mustHex("827f8000000000000001")
	_, err := readFrame(bufio.NewReader(bytes.NewReader(msb)), 1<<20)
	require.ErrorIs(t, err, errLengthMSB)
	_, err = readFrame(bufio.NewReader(bytes.NewReader(appendHeader(nil, OpText, true, 0, 1<<21, nil))), 1<<20)
	require.ErrorIs(t, err, errTooLarge)
	_, err = readFrame(bufio.NewReader(bytes.NewReader(mustHex("8105"))), 1<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// The incremental validator agrees with the standard library on every test
// vector of section 6 and on random bytes, however the input is split.
func TestUTF8ValidatorMatchesStdlib(t *testing.T) {
	inputs := [][]byte{mustHex("cebae1bdb9cf83cebcceb5eda080656469746564"), mustHex("f4908080"), mustHex("eda080")}
	for _, v := range utf8Vectors {
		inputs = append(inputs, mustHex(v.hex))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		for split := 0; split <= len(in); split++ {
			var v utf8Validator
			ok := v.feed(in[:split]) && v.feed(in[split:])
			assert.Equal(t, utf8.Valid(in), ok && v.complete(), "%s split at %d", hex.EncodeToString(in), split)
		}
	}
	for _, v := range utf8Vectors {
		assert.Equal(t, v.valid, utf8.Valid(mustHex(v.hex)), "vector %s", v.id)
	}
}

// Fail fast: the validator rejects at the first byte that cannot continue.
func TestUTF8ValidatorFailsFast(t *testing.T) {
	var v utf8Validator
	require.True(t, v.feed(mustHex("cebae1bdb9cf83cebcceb5f4")))
	assert.False(t, v.feed(mustHex("90")), "0xF4 0x90 is past U+10FFFF")
	v.reset()
	assert.False(t, v.feed(mustHex("eda0")), "surrogate")
	v.reset()
	assert.False(t, v.feed(mustHex("c0")), "overlong lead byte")
}

func TestValidCloseCode(t *testing.T) {
	for _, c := range []int{1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999} {
		assert.True(t, validCloseCode(c), c)
	}
	for _, c := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		assert.False(t, validCloseCode(c), c)
	}
}

// FuzzReadFrame: the reader never panics on peer input, and a frame it
// accepts encodes back to the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	f.Add(mustHex("818537fa213d7f9f4d5158"))
	f.Add(mustHex("827f8000000000000001"))
	f.Add(mustHex("887e000203e8"))
	f.Add(mustHex("0100"))
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(bytes.NewReader(b))
		fr, err := readFrame(br, 1<<16)
		if err != nil {
			return
		}
		consumed := len(b) - br.Buffered()
		var key *[4]byte
		if fr.Masked {
			key = &fr.Key
		}
		enc := appendHeader(nil, fr.Opcode, fr.Fin, fr.RSV, len(fr.Payload), key)
		p := append([]byte(nil), fr.Payload...)
		if key != nil {
			maskBytes(*key, 0, p)
		}
		enc = append(enc, p...)
		// The peer may use a longer length form than needed; compare only
		// when it used the minimal one.
		if len(enc) == consumed {
			require.Equal(t, b[:consumed], enc)
		}
	})
}
