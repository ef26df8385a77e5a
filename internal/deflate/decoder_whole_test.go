package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/deflate"
	"duplex/internal/deflate/deflatetest"
)

// decoderPaths runs f with messages read whole and inflated at once (the default),
// then with every message inflated as it is read.
func decoderPaths(t *testing.T, f func(t *testing.T)) {
	t.Run("whole", f)
	t.Run("streamed", func(t *testing.T) {
		defer deflate.SetMaxWhole(0)()
		f(t)
	})
}

// decodeAll reads one message through dec.
func decodeAll(dec *deflate.Decoder, r io.Reader) ([]byte, error) {
	dec.Begin(r)
	defer dec.End()
	return io.ReadAll(dec)
}

// TestDecoderPaths reads the same messages, valid and not, through both paths and
// through readers that give a byte or half of what is asked at a time: the same
// plaintext and the same verdict.
func TestDecoderPaths(t *testing.T) {
	in := inputs()
	msgs := [][]byte{in["text"], in["chat"], in["chat"], in["mixed"], in["empty"], in["random"], in["json"], in["text"]}
	payloads := flateMessages(t, msgs)
	var final bytes.Buffer
	fw, _ := flate.NewWriter(&final, 5)
	_, _ = fw.Write([]byte("Hello"))
	require.NoError(t, fw.Close())
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	decoderPaths(t, func(t *testing.T) {
		for name, wrap := range readers {
			t.Run("7.2.2/takeover-"+name, func(t *testing.T) {
				dec := deflate.NewDecoder(15, true)
				for i, p := range payloads {
					got, err := decodeAll(dec, wrap(bytes.NewReader(p)))
					require.NoError(t, err, i)
					sameBytes(t, msgs[i], got, fmt.Sprint(i))
					assert.False(t, dec.Holding(), "an idle decoder holds nothing but its history")
				}
			})
			t.Run("7.2.3.4/final-block-"+name, func(t *testing.T) {
				dec := deflate.NewDecoder(15, false)
				got, err := decodeAll(dec, wrap(bytes.NewReader(final.Bytes())))
				require.NoError(t, err)
				assert.Equal(t, "Hello", string(got))
				// RFC 7692 says nothing of bytes after a final block: they cannot be
				// DEFLATE data of the message.
				got, err = decodeAll(dec, wrap(bytes.NewReader(append(bytes.Clone(final.Bytes()), 0xf2, 0x48))))
				require.ErrorIs(t, err, deflate.ErrCorrupt)
				assert.Equal(t, "Hello", string(got), "what came before is given first")
			})
		}
		t.Run("1951/corrupt-after-data", func(t *testing.T) {
			// A fixed block with "a" then a distance before the output's start.
			w := new(bitWriter).header(false, 1).fixedSym('a').fixedMatch(3, 2)
			dec := deflate.NewDecoder(15, false)
			got, err := decodeAll(dec, bytes.NewReader(w.bytes()))
			require.ErrorIs(t, err, deflate.ErrCorrupt)
			assert.Equal(t, "a", string(got))
		})
		t.Run("source-error-mid-message", func(t *testing.T) {
			boom := errors.New("boom")
			dec := deflate.NewDecoder(15, false)
			p := payloads[0]
			_, err := decodeAll(dec, io.MultiReader(bytes.NewReader(p[:len(p)/2]), iotest.ErrReader(boom)))
			require.ErrorIs(t, err, boom)
			assert.NotErrorIs(t, err, deflate.ErrCorrupt)
			// A message cut short is the source's io.ErrUnexpectedEOF, not corrupt data.
			_, err = decodeAll(dec, io.MultiReader(bytes.NewReader(p[:len(p)/2]), iotest.ErrReader(io.ErrUnexpectedEOF)))
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.NotErrorIs(t, err, deflate.ErrCorrupt)
		})
	})
}

// TestDecoderLong reads messages past the bounds of reading whole: a compressed payload
// longer than maxWhole (random bytes, stored), and one that inflates past maxWholeOut
// with no limit (zeros), which goes on as it is read; with context takeover, so that
// the history the fallback gets is checked too.
func TestDecoderLong(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	random := randomBytes(r, 200<<10)
	zeros := make([]byte, 3<<20)
	chat := inputs()["json"]
	msgs := [][]byte{chat, random, chat, zeros, chat}
	payloads := flateMessages(t, msgs)
	require.Greater(t, len(payloads[1]), 64<<10)
	require.Less(t, len(payloads[3]), 64<<10)
	dec := deflate.NewDecoder(15, true)
	for i, p := range payloads {
		got, err := decodeAll(dec, bytes.NewReader(p))
		require.NoError(t, err, i)
		sameBytes(t, msgs[i], got, fmt.Sprint(i))
	}
}

// TestDecoderLimit holds a message to a limit exactly at its size, one below and one
// above: one below gives the limit and one byte more, then ErrTooBig, as a caller that
// counts what it reads needs to see it too long.
func TestDecoderLimit(t *testing.T) {
	msg := inputs()["json"]
	p := flateMessages(t, [][]byte{msg})[0]
	decoderPaths(t, func(t *testing.T) {
		n := int64(len(msg))
		for _, lim := range []int64{n - 1, n, n + 1} {
			dec := deflate.NewDecoder(15, false)
			dec.SetLimit(lim)
			got, err := decodeAll(dec, bytes.NewReader(p))
			if lim < n {
				if err != nil {
					require.ErrorIs(t, err, deflate.ErrTooBig)
				}
				require.GreaterOrEqual(t, len(got), int(lim)+1, "the limit and one byte more")
				sameBytes(t, msg[:len(got)], got, "the first bytes")
				continue
			}
			require.NoError(t, err, lim)
			sameBytes(t, msg, got, "inflated")
		}
	})
}

// TestDecoderBomb inflates 8 MiB of zeros, 8 KiB compressed, under a limit of 8 KiB: the
// decoder allocates for the limit, not for what the message would inflate to.
func TestDecoderBomb(t *testing.T) {
	p := flateMessages(t, [][]byte{make([]byte, 8<<20)})[0]
	require.Less(t, len(p), 10<<10)
	dec := deflate.NewDecoder(15, false)
	dec.SetLimit(8 << 10)
	// Once to fill the pools, then measured.
	_, err := decodeAll(dec, bytes.NewReader(p))
	require.ErrorIs(t, err, deflate.ErrTooBig)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := decodeAll(dec, bytes.NewReader(p))
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, deflate.ErrTooBig)
	assert.Equal(t, 8<<10+1, len(got))
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(128<<10), "bytes allocated")
}

// TestDecoderBombGrowth inflates 4 MiB of zeros, 4 KiB compressed, under a limit of 64
// KiB with the pools empty, as a quiet server's are (two collections empty a
// sync.Pool), without history and after 32 KiB of it: the output buffer takes the
// limit and the history as soon as it needs more than half of them, so the message
// allocates about that, its compressed bytes and its tables, not the steps of a
// doubling buffer up to it (152 KiB in all without history before).
func TestDecoderBombGrowth(t *testing.T) {
	const limit = 64 << 10
	p := flateMessages(t, [][]byte{make([]byte, 4<<20)})[0]
	require.Less(t, len(p), 8<<10)
	buf := make([]byte, 16<<10)
	for _, hist := range []int{0, 32 << 10} {
		t.Run(fmt.Sprintf("history-%d", hist), func(t *testing.T) {
			dec := deflate.NewDecoder(15, hist > 0)
			dec.SetLimit(limit)
			if hist > 0 {
				pre := flateMessages(t, [][]byte{deflatetest.ChatJSON(1, hist)})[0]
				got, err := decodeAll(dec, bytes.NewReader(pre))
				require.NoError(t, err)
				require.Len(t, got, hist)
			}
			runtime.GC()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			dec.Begin(bytes.NewReader(p))
			n := 0
			var err error
			for err == nil {
				var k int
				k, err = dec.Read(buf)
				n += k
			}
			dec.End()
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, deflate.ErrTooBig)
			assert.Equal(t, limit+1, n)
			// The compressed bytes (under 16 KiB as they grow), the tables (12
			// KiB) and a first buffer of four times the payload besides.
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(limit+hist+56<<10), "bytes allocated")
		})
	}
}
