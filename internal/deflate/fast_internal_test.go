package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"github.com/stretchr/testify/require"

	"duplex/internal/deflate/deflatetest"
)

func inflateStd(t testing.TB, payload, dict []byte) []byte {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), dict)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// TestFastStreams holds the fast compressor to compress/flate's inflater across what
// only it does: messages given whole or in parts, with history from a seed and from
// the messages before, windows from 256 bytes to 32 KiB, blocks and window moves within
// long messages, and the table's positions running past offLimit, where it is cleared.
func TestFastStreams(t *testing.T) {
	var msgs [][]byte
	for _, size := range []int{100, 4 << 10, 64 << 10, 64<<10 + 1, 300 << 10} {
		msgs = append(msgs, deflatetest.Messages(size)[:2]...)
	}
	for _, bits := range []int{8, 12, 15} {
		for _, wrap := range []bool{false, true} {
			t.Run(fmt.Sprintf("bits=%d/wrap=%v", bits, wrap), func(t *testing.T) {
				var f fastEnc
				window := 1 << bits
				for i, msg := range msgs {
					if wrap {
						f.off = offLimit - uint32(len(msg))/2
					}
					f.w.out = nil
					f.whole(msg, window)
					require.Equal(t, msg, inflateStd(t, f.w.out, nil), "message %d whole", i)

					// In parts, going on from a seed of the message before.
					var seed []byte
					if i > 0 {
						seed = msgs[i-1][max(0, len(msgs[i-1])-window):]
					}
					f.w.out = nil
					f.reset(window, seed)
					if wrap {
						// The window moves within the message: past offLimit.
						f.off = offLimit - 1000
					}
					for p := msg; len(p) > 0; p = p[min(len(p), 777*(i+1)):] {
						f.write(p[:min(len(p), 777*(i+1))])
					}
					f.finish()
					require.Equal(t, msg, inflateStd(t, f.w.out, seed), "message %d in parts", i)
					if wrap && len(msg) > fastBlock+window {
						require.Less(t, f.off, uint32(offLimit-1000), "message %d: the table was not started again", i)
					}
				}
			})
		}
	}
}

func procCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFastRatio interleaves the fast encoder and klauspost's (level 1 at 15 bits,
// NewWriterWindow below) on the same messages, reporting CPU time per message and size.
func BenchmarkFastRatio(b *testing.B) {
	for _, bits := range []int{15, 12, 9} {
		for _, size := range []int{256, 4 << 10, 64 << 10} {
			msgs := deflatetest.Messages(size)
			b.Run(fmt.Sprintf("bits=%d/size=%d", bits, size), func(b *testing.B) {
				var f fastEnc
				var s sink
				var w *kflate.Writer
				if bits == 15 {
					w, _ = kflate.NewWriter(&s, 1)
				} else {
					w, _ = kflate.NewWriterWindow(&s, 1<<bits)
				}
				var cf, ck time.Duration
				var of, ok int
				i := 0
				for b.Loop() {
					m := msgs[i%len(msgs)]
					t0 := procCPU()
					f.w.out = f.w.out[:0]
					f.whole(m, 1<<bits)
					t1 := procCPU()
					s.b = s.b[:0]
					w.Reset(&s)
					w.Write(m)
					w.Flush()
					t2 := procCPU()
					cf += t1 - t0
					ck += t2 - t1
					of += len(f.w.out)
					ok += len(s.b)
					i++
				}
				b.ReportMetric(float64(cf.Nanoseconds())/float64(i)/1000, "fast-cpu-us")
				b.ReportMetric(float64(ck.Nanoseconds())/float64(i)/1000, "kp-cpu-us")
				b.ReportMetric(float64(cf)/float64(ck), "fast/kp")
				b.ReportMetric(float64(of)/float64(ok), "size-fast/kp")
			})
		}
	}
}

// TestFastEmpty: an empty message is the sync flush alone, one byte once its 00 00 ff
// ff is left out (RFC 7692, Section 7.2.3.6), whole or streamed.
func TestFastEmpty(t *testing.T) {
	var f fastEnc
	f.whole(nil, 1<<15)
	require.Equal(t, []byte{0}, f.w.out)
	f.w.out = nil
	f.reset(1<<15, []byte("history"))
	f.write(nil)
	f.finish()
	require.Equal(t, []byte{0}, f.w.out)
}

// TestHuffmanLimited: code lengths for frequencies that would make an unlimited
// Huffman code deeper than the limit (Fibonacci numbers), for the limits RFC 1951,
// Section 3.2.7 sets (15 bits, 7 for the code length code), and for ordinary ones, form
// a complete prefix code within the limit, a more frequent symbol never getting a
// longer codeword.
func TestHuffmanLimited(t *testing.T) {
	fib := []uint32{1, 1}
	for len(fib) < 30 {
		fib = append(fib, fib[len(fib)-1]+fib[len(fib)-2])
	}
	cases := map[string]struct {
		freq  []uint32
		limit int
	}{
		"fibonacci-15": {fib, 15},
		"fibonacci-7":  {fib[:19], 7},
		"two":          {[]uint32{0, 5, 0, 9}, 15},
		"one":          {[]uint32{0, 0, 7}, 15},
		"none":         {make([]uint32, 30), 15},
		"flat-286": {func() []uint32 {
			f := make([]uint32, 286)
			for i := range f {
				f[i] = 3
			}
			return f
		}(), 15},
		"skewed-19": {[]uint32{1000, 1, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597}, 7},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var b huffBuilder
			lens := make([]uint8, len(c.freq))
			b.lengths(c.freq, c.limit, lens)
			kraft, coded := 0.0, 0
			for s, l := range lens {
				require.LessOrEqual(t, int(l), c.limit, "symbol %d", s)
				if l > 0 {
					kraft += 1 / float64(uint(1)<<l)
					coded++
				} else {
					require.Zero(t, c.freq[s], "symbol %d used but given no codeword", s)
				}
			}
			require.GreaterOrEqual(t, coded, 2)
			require.InDelta(t, 1.0, kraft, 1e-12, "the code is complete")
			for s := range lens {
				for u := range lens {
					if c.freq[s] > c.freq[u] && c.freq[u] > 0 {
						require.LessOrEqual(t, lens[s], lens[u], "symbols %d and %d", s, u)
					}
				}
			}
		})
	}
}
