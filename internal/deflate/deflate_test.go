package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/deflate"
	"duplex/internal/deflate/deflatetest"
)

// randomBytes returns n bytes drawn from r: incompressible data.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// inputs are the plaintexts of the round trips: empty, short chat lines, long text with
// repetition at short distances, repetition at the distances around every window's
// edge, random (incompressible) bytes, runs and a mix.
func inputs() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	randBytes := func(n int) []byte { return randomBytes(r, n) }
	random := randBytes(70 << 10)
	// 32 random bytes seen again exactly 2^k-1, 2^k and 2^k+1 bytes after they start,
	// for every window (2^8 to 2^15) and beyond it. The bytes between repeat at a short
	// distance: after random ones a fast compressor steps over the input in strides.
	var distances []byte
	filler := []byte(strings.Repeat("the quick brown fox ", 1<<12))
	for k := 6; k <= 16; k++ {
		for _, d := range []int{1<<k - 1, 1 << k, 1<<k + 1} {
			probe := randBytes(32)
			distances = append(append(append(distances, probe...), filler[:d-32]...), probe...)
		}
	}
	var text strings.Builder
	for i := 0; text.Len() < 200<<10; i++ {
		fmt.Fprintf(&text, "message %d from user%d: the quick brown fox jumps over the lazy dog %d times\n", i, i%7, i%13)
	}
	runs := bytes.Repeat([]byte{'a'}, 100<<10)
	// 16 KiB whose last 32 bytes repeat its first: a match reaching back nearly all of
	// it, within a window of 14 bits or more, beyond a smaller one.
	edgeProbe := randBytes(32)
	edge := append(append(append([]byte{}, edgeProbe...), filler[:16<<10-64]...), edgeProbe...)
	mixed := append(append(append([]byte{}, random[:20<<10]...), text.String()[:50<<10]...), random[:20<<10]...)
	return map[string][]byte{
		"empty":     {},
		"byte":      {'x'},
		"chat":      []byte(`{"type":"message","room":"general","text":"hello there"}`),
		"text":      []byte(text.String()),
		"random":    random,
		"distances": distances,
		"runs":      runs,
		"mixed":     mixed,
		"json":      deflatetest.ChatJSON(1, 4<<10),
		"edge":      edge,
	}
}

// refInflate inflates one message with compress/flate, given the plaintext history the
// sender's window may reach.
func refInflate(tb testing.TB, payload, hist []byte) []byte {
	tb.Helper()
	fr := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload),
		bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), hist)
	out, err := io.ReadAll(fr)
	require.NoError(tb, err)
	return out
}

func lastN(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

// messageOrder is the sequence of inputs the round trips send on one connection.
var messageOrder = []string{"chat", "text", "chat", "empty", "distances", "random", "runs", "mixed", "byte", "json",
	"edge", "text", "distances", "json"}

// compressors are the two ways to compress a whole message: streamed (Append, then
// Finish) and at once (Message, which takes flate.StatelessDeflate where it applies).
var compressors = []struct {
	name     string
	compress func(enc *deflate.Encoder, msg []byte) []byte
}{
	{"stream", func(enc *deflate.Encoder, msg []byte) []byte { return enc.Finish(enc.Append(nil, msg)) }},
	{"message", func(enc *deflate.Encoder, msg []byte) []byte { return enc.Message(nil, msg) }},
}

// TestRoundTrip compresses a sequence of messages for every window and level, with and
// without context takeover, streamed and at once, and walks every block of the output:
// each match stays within the window and the history the peer has (RFC 7692, Section
// 7.1.2.1). The plaintext comes back from the walk, from compress/flate given only that
// history, and from the Decoder.
func TestRoundTrip(t *testing.T) {
	in := inputs()
	for bits := 8; bits <= 15; bits++ {
		for _, takeover := range []bool{false, true} {
			for _, level := range []int{1, 6, 9} {
				for _, cm := range compressors {
					name := fmt.Sprintf("7.1.2.1/bits-%d-takeover-%v-level-%d-%s", bits, takeover, level, cm.name)
					t.Run(name, func(t *testing.T) {
						window := 1 << bits
						enc := deflate.NewEncoder(bits, level, takeover)
						dec := deflate.NewDecoder(bits, takeover)
						var hist []byte
						var seen blockStats
						for _, k := range messageOrder {
							msg := in[k]
							payload := cm.compress(enc, msg)
							// RFC 7692, Section 7.2.1: the payload never ends with 00 00 ff ff.
							assert.False(t, bytes.HasSuffix(payload, []byte{0, 0, 0xff, 0xff}), k)
							got, st, err := walk(payload, lastN(hist, window), window)
							require.NoError(t, err, k)
							require.Equal(t, msg, got, k)
							seen.add(st)
							require.Equal(t, msg, refInflate(t, payload, lastN(hist, window)), k)
							dec.Begin(bytes.NewReader(payload))
							got, err = io.ReadAll(dec)
							require.NoError(t, err, k)
							dec.End()
							require.Equal(t, msg, got, k)
							if takeover {
								hist = append(hist, msg...)
							}
						}
						// The check has teeth only if the encoder reaches far into its window.
						assert.Greater(t, seen.maxDist, window/2, "longest distance")
						assert.Positive(t, seen.dynamic, "dynamic blocks")
						assert.Positive(t, seen.stored, "stored blocks")
						t.Logf("%d matches, longest %d; %d stored, %d fixed, %d dynamic blocks",
							seen.matches, seen.maxDist, seen.stored, seen.fixed, seen.dynamic)
					})
				}
			}
		}
	}
}

func TestCompresses(t *testing.T) {
	in := inputs()
	for _, k := range []string{"text", "runs"} {
		enc := deflate.NewEncoder(15, deflate.DefaultLevel, false)
		payload := enc.Finish(enc.Append(nil, in[k]))
		assert.Less(t, len(payload), len(in[k])/5, k)
	}
	// Incompressible data costs little more than its size: stored blocks.
	enc := deflate.NewEncoder(15, deflate.DefaultLevel, false)
	payload := enc.Finish(enc.Append(nil, in["random"]))
	assert.Less(t, len(payload), len(in["random"])+64)

	// RFC 7692, Section 7.2.3.1: "Hello" as one message. Under 13 bytes the compressor
	// stores the input (a stored block: RFC 1951, Section 3.2.4), which conn's threshold
	// keeps from happening on the wire.
	enc = deflate.NewEncoder(15, deflate.DefaultLevel, false)
	assert.Equal(t, []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}, enc.Finish(enc.Append(nil, []byte("Hello"))))

	// Section 7.2.3.2: with context takeover a message refers to the one before it.
	for bits := 8; bits <= 15; bits++ {
		chat := in["chat"]
		enc = deflate.NewEncoder(bits, deflate.DefaultLevel, true)
		first := enc.Finish(enc.Append(nil, chat))
		second := enc.Finish(enc.Append(nil, chat))
		assert.Less(t, len(second), len(first)/4, bits)
		got, st, err := walk(second, chat, 1<<bits)
		require.NoError(t, err)
		assert.Equal(t, chat, got)
		assert.Equal(t, len(chat), st.maxDist, "the second message starts with a match into the first")
	}
}

func TestStreamedAppend(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	msg := inputs()["mixed"]
	for _, c := range []struct{ bits, level int }{{8, 6}, {15, 6}, {8, 1}, {12, 1}, {15, 1}} {
		bits := c.bits
		enc := deflate.NewEncoder(bits, c.level, true)
		var hist []byte
		for range 4 {
			var payload []byte
			for rest := msg; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(5000))
				payload = enc.Append(payload, rest[:n])
				rest = rest[n:]
			}
			payload = enc.Finish(payload)
			got, _, err := walk(payload, lastN(hist, 1<<bits), 1<<bits)
			require.NoError(t, err)
			require.Equal(t, msg, got)
			hist = append(hist, msg...)
		}
	}
}

// flateMessages compresses msgs with compress/flate as one context-takeover stream, each
// message sync-flushed with its 00 00 ff ff removed, as most peers do.
func flateMessages(tb testing.TB, msgs [][]byte) [][]byte {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	require.NoError(tb, err)
	var out [][]byte
	for _, m := range msgs {
		buf.Reset()
		_, _ = fw.Write(m)
		require.NoError(tb, fw.Flush())
		out = append(out, bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})))
	}
	return out
}

func TestDecoderTakeover(t *testing.T) {
	in := inputs()
	msgs := [][]byte{in["text"], in["chat"], in["chat"], in["mixed"], in["empty"], in["text"]}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for name, wrap := range readers {
		t.Run("7.2.2/"+name, func(t *testing.T) {
			dec := deflate.NewDecoder(15, true)
			for i, p := range flateMessages(t, msgs) {
				dec.Begin(wrap(bytes.NewReader(p)))
				got, err := io.ReadAll(dec)
				require.NoError(t, err, i)
				dec.End()
				require.Equal(t, msgs[i], got, i)
			}
		})
	}
}

func TestDecoderFinalBlock(t *testing.T) {
	// RFC 7692, Section 7.2.3.4: a message may end with a final block (BFINAL 1).
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 5)
	_, _ = fw.Write([]byte("Hello"))
	require.NoError(t, fw.Close())
	dec := deflate.NewDecoder(15, false)
	dec.Begin(bytes.NewReader(buf.Bytes()))
	got, err := io.ReadAll(dec)
	require.NoError(t, err)
	assert.Equal(t, "Hello", string(got))
	dec.End()

	// Data after a final block is corrupt.
	dec.Begin(bytes.NewReader(append(buf.Bytes(), 0xf2, 0x48)))
	_, err = io.ReadAll(dec)
	require.ErrorIs(t, err, deflate.ErrCorrupt)
	dec.End()
}

func TestDecoderCorrupt(t *testing.T) {
	tests := map[string][]byte{
		"1951-3.2.3/reserved-btype":   {0x07},                         // BTYPE 11
		"1951-3.2.4/stored-nlen-bad":  {0x00, 0x05, 0x00, 0x00, 0x00}, // NLEN not ~LEN
		"1951-3.2.5/distance-too-far": {0x4a, 0x04, 0x00, 0x00},       // fixed block, match before any output
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			dec := deflate.NewDecoder(15, false)
			dec.Begin(bytes.NewReader(p))
			_, err := io.ReadAll(dec)
			require.ErrorIs(t, err, deflate.ErrCorrupt)
			dec.End()
		})
	}
}

// TestMessageStateless checks which messages Message compresses without a compressor
// (their output differs from the streamed one, both being checked by TestRoundTrip):
// level 1 without context takeover, up to 16 KiB, and no longer than a window under 15
// bits, beyond which the stateless encoder's matches could reach past the window.
// Longer ones go to the level-1 compressor, which gives a message whole the output it
// gives it streamed.
func TestMessageStateless(t *testing.T) {
	json := deflatetest.ChatJSON(7, 200<<10)
	for _, c := range []struct {
		name                string
		bits, level, size   int
		takeover, stateless bool
	}{
		{"15-bits-4KiB", 15, 1, 4 << 10, false, true},
		{"15-bits-16KiB", 15, 1, 16 << 10, false, true},
		{"15-bits-over-16KiB", 15, 1, 16<<10 + 1, false, false},
		{"15-bits-long", 15, 1, 200 << 10, false, false},
		{"level-6", 15, 6, 4 << 10, false, false},
		{"takeover", 15, 1, 4 << 10, true, false},
		{"7.1.2.1/12-bits-window-long", 12, 1, 4 << 10, false, true},
		{"7.1.2.1/12-bits-long", 12, 1, 200 << 10, false, false},
		{"7.1.2.1/12-bits-over-window", 12, 1, 4<<10 + 1, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := json[:c.size]
			at := deflate.NewEncoder(c.bits, c.level, c.takeover).Message(nil, msg)
			enc := deflate.NewEncoder(c.bits, c.level, c.takeover)
			streamed := enc.Finish(enc.Append(nil, msg))
			assert.Equal(t, c.stateless, !bytes.Equal(at, streamed), "compressed differently from the stream")
			got, st, err := walk(at, nil, 1<<c.bits)
			require.NoError(t, err)
			assert.Equal(t, msg, got)
			assert.Less(t, st.maxDist, 1<<c.bits)
		})
	}
}

func TestDecoderSourceError(t *testing.T) {
	boom := errors.New("boom")
	dec := deflate.NewDecoder(15, false)
	dec.Begin(iotest.ErrReader(boom))
	_, err := io.ReadAll(dec)
	require.ErrorIs(t, err, boom)
	dec.End()
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte("Hello, Hello"), uint8(15), uint8(6), true)
	f.Add([]byte{}, bytes.Repeat([]byte("ab"), 400), uint8(8), uint8(1), false)
	f.Fuzz(func(t *testing.T, a, b []byte, bits, level uint8, takeover bool) {
		w := 8 + int(bits%8)
		enc := deflate.NewEncoder(w, 1+int(level%9), takeover)
		dec := deflate.NewDecoder(w, takeover)
		var hist []byte
		for i, m := range [][]byte{a, b, a} {
			// The first and the last at once, the one between streamed.
			p := compressors[1-i%2].compress(enc, m)
			walked, _, err := walk(p, lastN(hist, 1<<w), 1<<w)
			require.NoError(t, err)
			require.Equal(t, m, walked)
			if takeover {
				hist = append(hist, m...)
			}
			dec.Begin(bytes.NewReader(p))
			got, err := io.ReadAll(dec)
			dec.End()
			require.NoError(t, err)
			require.Equal(t, m, got)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the Decoder and checks it against
// compress/flate reading the same message: the same plaintext, or both
// failing.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add([]byte{0x07})
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, p []byte) {
		dec := deflate.NewDecoder(15, false)
		dec.Begin(bytes.NewReader(p))
		got, err := io.ReadAll(io.LimitReader(dec, 1<<20))
		dec.End()
		ref, refErr := io.ReadAll(io.LimitReader(flate.NewReader(io.MultiReader(bytes.NewReader(p),
			bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))), 1<<20))
		if refErr != nil {
			require.Error(t, err)
			return
		}
		if err != nil {
			// Only data after a final block may fail here and not there.
			require.ErrorIs(t, err, deflate.ErrCorrupt)
			return
		}
		require.Equal(t, ref, got)
	})
}
