package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

// hx decodes a hex string with optional spaces; tests only.
func hx(tb testing.TB, s string) []byte {
	tb.Helper()
	var out []byte
	var hi byte
	half := false
	for _, c := range []byte(s) {
		var v byte
		switch {
		case c == ' ':
			continue
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			tb.Fatalf("bad hex %q", s)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	require.False(tb, half, "odd hex length in %q", s)
	return out
}

// requireProtocolError asserts err matches want and carries code.
func requireProtocolError(tb testing.TB, err, want error, code frame.CloseCode) {
	tb.Helper()
	require.ErrorIs(tb, err, want)
	var pe frame.ProtocolError
	require.ErrorAs(tb, err, &pe)
	assert.Equal(tb, code, pe.Code)
}

// validHeaders are well-formed headers and their encodings, seeded with the
// vectors of RFC 6455, Section 5.7.
var validHeaders = []struct {
	name string
	wire string
	want frame.Header
}{
	{"5.7/unmasked-text-hello", "81 05", frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}},
	{"5.7/masked-text-hello", "81 85 37 fa 21 3d", frame.Header{Fin: true, Opcode: frame.OpText, Length: 5, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}}},
	{"5.7/fragment-first-hel", "01 03", frame.Header{Opcode: frame.OpText, Length: 3}},
	{"5.7/fragment-last-lo", "80 02", frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 2}},
	{"5.7/unmasked-ping-hello", "89 05", frame.Header{Fin: true, Opcode: frame.OpPing, Length: 5}},
	{"5.7/masked-pong-hello", "8a 85 37 fa 21 3d", frame.Header{Fin: true, Opcode: frame.OpPong, Length: 5, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}}},
	{"5.7/binary-256", "82 7E 0100", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 256}},
	{"5.7/binary-64KiB", "82 7F 0000000000010000", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65536}},
	{"5.2/len0", "82 00", frame.Header{Fin: true, Opcode: frame.OpBinary}},
	{"5.2/len125", "82 7D", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 125}},
	{"5.2/len126", "82 7E 007E", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 126}},
	{"5.2/len65535", "82 7E FFFF", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65535}},
	{"5.2/len65536", "82 7F 0000000000010000", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65536}},
	{"5.2/len2^63-1", "82 7F 7FFFFFFFFFFFFFFF", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1<<63 - 1}},
	{"5.2/len2^63-1-masked", "82 FF 7FFFFFFFFFFFFFFF 01020304", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1<<63 - 1, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}},
	{"5.2/rsv-all", "F1 00", frame.Header{Fin: true, RSV1: true, RSV2: true, RSV3: true, Opcode: frame.OpText}},
	{"5.2/rsv1", "C1 00", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText}},
	{"5.2/rsv2", "A1 00", frame.Header{Fin: true, RSV2: true, Opcode: frame.OpText}},
	{"5.2/rsv3", "91 00", frame.Header{Fin: true, RSV3: true, Opcode: frame.OpText}},
	{"5.2/reserved-opcode-parses", "83 00", frame.Header{Fin: true, Opcode: 0x3}},
	{"5.2/masked-len126", "82 FE 007E AABBCCDD", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 126, Masked: true, MaskKey: [4]byte{0xAA, 0xBB, 0xCC, 0xDD}}},
}

func TestParseHeaderValid(t *testing.T) {
	for _, tc := range validHeaders {
		t.Run(tc.name, func(t *testing.T) {
			wire := hx(t, tc.wire)
			// Trailing payload bytes must not be consumed.
			h, n, err := frame.ParseHeader(append(wire, 0xEE, 0xEE))
			require.NoError(t, err)
			assert.Equal(t, tc.want, h)
			assert.Equal(t, len(wire), n)
			assert.Equal(t, len(wire), h.Size())
		})
	}
}

func TestAppendHeaderValid(t *testing.T) {
	for _, tc := range validHeaders {
		t.Run(tc.name, func(t *testing.T) {
			got := frame.AppendHeader([]byte{0xEE}, tc.want)
			assert.Equal(t, append([]byte{0xEE}, hx(t, tc.wire)...), got)
		})
	}
}

// readerVariants wraps a byte source the ways every reader test runs.
var readerVariants = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

func TestReadHeaderValid(t *testing.T) {
	for _, tc := range validHeaders {
		for _, v := range readerVariants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				wire := hx(t, tc.wire)
				src := append(bytes.Clone(wire), 0xEE)
				br := bufio.NewReaderSize(v.wrap(bytes.NewReader(src)), 16)
				h, err := frame.ReadHeader(br)
				require.NoError(t, err)
				assert.Equal(t, tc.want, h)
				// Exactly the header was consumed: the payload byte follows.
				next, err := br.ReadByte()
				require.NoError(t, err)
				assert.Equal(t, byte(0xEE), next)
			})
		}
	}
}

// malformedHeaders break the rules ParseHeader enforces.
var malformedHeaders = []struct {
	name string
	wire string
	want error
}{
	{"5.2/len127-msb-set", "82 7F 8000000000000000", frame.ErrLengthMSB},
	{"5.2/len127-all-ones", "82 7F FFFFFFFFFFFFFFFF", frame.ErrLengthMSB},
	{"5.2/len127-msb-set-masked", "82 FF 8000000000000001 01020304", frame.ErrLengthMSB},
	{"5.2/len126-holds-0", "82 7E 0000", frame.ErrNonMinimalLength},
	{"5.2/len126-holds-124", "82 7E 007C", frame.ErrNonMinimalLength},
	{"5.2/len126-holds-125", "82 7E 007D", frame.ErrNonMinimalLength},
	{"5.2/len127-holds-0", "82 7F 0000000000000000", frame.ErrNonMinimalLength},
	{"5.2/len127-holds-125", "82 7F 000000000000007D", frame.ErrNonMinimalLength},
	{"5.2/len127-holds-126", "82 7F 000000000000007E", frame.ErrNonMinimalLength},
	{"5.2/len127-holds-65535", "82 7F 000000000000FFFF", frame.ErrNonMinimalLength},
}

func TestParseHeaderMalformed(t *testing.T) {
	for _, tc := range malformedHeaders {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := frame.ParseHeader(hx(t, tc.wire))
			requireProtocolError(t, err, tc.want, frame.CloseProtocolError)
			assert.Zero(t, n)
			assert.Zero(t, h)
		})
	}
}

func TestReadHeaderMalformed(t *testing.T) {
	for _, tc := range malformedHeaders {
		for _, v := range readerVariants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				br := bufio.NewReaderSize(v.wrap(bytes.NewReader(hx(t, tc.wire))), 16)
				_, err := frame.ReadHeader(br)
				requireProtocolError(t, err, tc.want, frame.CloseProtocolError)
			})
		}
	}
}

func TestParseHeaderShort(t *testing.T) {
	for _, tc := range validHeaders {
		wire := hx(t, tc.wire)
		for cut := range len(wire) {
			t.Run(tc.name, func(t *testing.T) {
				h, n, err := frame.ParseHeader(wire[:cut])
				require.ErrorIs(t, err, frame.ErrShortHeader)
				var pe frame.ProtocolError
				assert.False(t, errors.As(err, &pe), "a short header is not a protocol error")
				assert.Zero(t, n)
				assert.Zero(t, h)
			})
		}
	}
}

func TestReadHeaderEOF(t *testing.T) {
	for _, v := range readerVariants {
		t.Run("empty/"+v.name, func(t *testing.T) {
			br := bufio.NewReaderSize(v.wrap(bytes.NewReader(nil)), 16)
			_, err := frame.ReadHeader(br)
			require.ErrorIs(t, err, io.EOF)
		})
	}
	for _, tc := range validHeaders {
		wire := hx(t, tc.wire)
		for cut := 1; cut < len(wire); cut++ {
			for _, v := range readerVariants {
				t.Run(tc.name+"/"+v.name, func(t *testing.T) {
					br := bufio.NewReaderSize(v.wrap(bytes.NewReader(wire[:cut])), 16)
					_, err := frame.ReadHeader(br)
					require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				})
			}
		}
	}
}

func TestReadHeaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	br := bufio.NewReaderSize(iotest.ErrReader(boom), 16)
	_, err := frame.ReadHeader(br)
	require.ErrorIs(t, err, boom)

	// An error after part of the header arrived is passed on as well.
	br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader([]byte{0x82, 0x7E}), iotest.ErrReader(boom)), 16)
	_, err = frame.ReadHeader(br)
	require.ErrorIs(t, err, boom)
}

func TestReadHeaderSequence(t *testing.T) {
	// Two frames back to back, the RFC's masked "Hello" then a ping.
	src := hx(t, "81 85 37 fa 21 3d 7f 9f 4d 51 58  89 00")
	for _, v := range readerVariants {
		t.Run("5.7/two-frames/"+v.name, func(t *testing.T) {
			br := bufio.NewReaderSize(v.wrap(bytes.NewReader(src)), 16)
			h, err := frame.ReadHeader(br)
			require.NoError(t, err)
			payload := make([]byte, h.Length)
			_, err = io.ReadFull(br, payload)
			require.NoError(t, err)
			frame.Mask(h.MaskKey, 0, payload)
			assert.Equal(t, "Hello", string(payload))
			h, err = frame.ReadHeader(br)
			require.NoError(t, err)
			assert.Equal(t, frame.Header{Fin: true, Opcode: frame.OpPing}, h)
			_, err = frame.ReadHeader(br)
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 65535, 65536, 1<<32 + 7, 1<<63 - 1}
	ops := []frame.Opcode{frame.OpContinuation, frame.OpText, frame.OpBinary, frame.OpClose, frame.OpPing, frame.OpPong, 0x3, 0xF}
	for _, l := range lengths {
		for _, op := range ops {
			for bits := range 32 {
				h := frame.Header{
					Fin: bits&1 != 0, RSV1: bits&2 != 0, RSV2: bits&4 != 0, RSV3: bits&8 != 0,
					Opcode: op, Masked: bits&16 != 0, Length: l,
				}
				if h.Masked {
					h.MaskKey = [4]byte{byte(bits), 0xA5, byte(l), byte(op)}
				}
				wire := frame.AppendHeader(nil, h)
				require.Len(t, wire, h.Size(), "%v", h)
				got, n, err := frame.ParseHeader(wire)
				require.NoError(t, err, "%v", h)
				assert.Equal(t, h, got)
				assert.Equal(t, len(wire), n)
			}
		}
	}
}

func TestAppendHeaderUnchecked(t *testing.T) {
	// A negative length lets tests build the header a peer must reject.
	wire := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: -1})
	assert.Equal(t, hx(t, "82 7F FFFFFFFFFFFFFFFF"), wire)
	_, _, err := frame.ParseHeader(wire)
	requireProtocolError(t, err, frame.ErrLengthMSB, frame.CloseProtocolError)

	// Opcodes wider than four bits lose their high bits.
	wire = frame.AppendHeader(nil, frame.Header{Opcode: 0x1A})
	assert.Equal(t, hx(t, "0A 00"), wire)
}

// TestHeaderSize checks that the size announced by the first two bytes is
// the size ParseHeader takes, for every length form with and without a mask.
func TestHeaderSize(t *testing.T) {
	assert.Equal(t, 2, frame.HeaderSize(nil))
	assert.Equal(t, 2, frame.HeaderSize([]byte{0x81}))
	for _, n := range []int64{0, 125, 126, 65535, 65536, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: masked, Length: n}
			b := frame.AppendHeader(nil, h)
			_, size, err := frame.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, size, frame.HeaderSize(b[:2]), "length %d masked %v", n, masked)
			assert.Equal(t, len(b), frame.HeaderSize(b))
		}
	}
}
