package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"slices"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"duplex/internal/deflate"
	"duplex/internal/deflate/deflatetest"
)

var benchSizes = []int{256, 4 << 10, 64 << 10}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkEncode compresses chat-like JSON messages one at a time with the Encoder, as
// a connection does: each a different message, so that context takeover finds history
// but no copy. takeover=seeded is context takeover on 64 connections taking turns, more
// than the compressors kept apart for them: each message gets a compressor another
// connection used and seeds it with its history, as a busy server's do. MB/s counts
// plaintext.
func BenchmarkEncode(b *testing.B) {
	for _, n := range benchSizes {
		msgs := deflatetest.Messages(n)
		for _, c := range []struct {
			name        string
			bits, level int
		}{{"level-1", 15, 1}, {"level-6", 15, 6}, {"window-12", 12, 0}} {
			for _, takeover := range []string{"false", "true", "seeded"} {
				b.Run(fmt.Sprintf("size=%s/kind=%s/takeover=%s", sizeName(n), c.name, takeover), func(b *testing.B) {
					count := 1
					if takeover == "seeded" {
						count = 64
					}
					encs := make([]*deflate.Encoder, count)
					for i := range encs {
						encs[i] = deflate.NewEncoder(c.bits, c.level, takeover != "false")
					}
					encodeMessages(b, encs, msgs)
				})
			}
		}
	}
}

// BenchmarkMessage compares the two ways to compress a whole message at level 1
// without context takeover, for sizes around statelessMax: streamed (Append, then
// Finish: the level-1 compressor) and at once (Message: flate.StatelessDeflate up to
// 16 KiB).
func BenchmarkMessage(b *testing.B) {
	for _, n := range []int{256, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10} {
		msgs := deflatetest.Messages(n)
		b.Run(fmt.Sprintf("size=%s/api=stream", sizeName(n)), func(b *testing.B) {
			encodeMessages(b, []*deflate.Encoder{deflate.NewEncoder(15, 1, false)}, msgs)
		})
		b.Run(fmt.Sprintf("size=%s/api=message", sizeName(n)), func(b *testing.B) {
			encodeWith(b, []*deflate.Encoder{deflate.NewEncoder(15, 1, false)}, msgs, (*deflate.Encoder).Message)
		})
	}
}

// encodeMessages compresses msgs in turn, each with the next of encs in turn, streamed.
func encodeMessages(b *testing.B, encs []*deflate.Encoder, msgs [][]byte) {
	encodeWith(b, encs, msgs, func(enc *deflate.Encoder, dst, msg []byte) []byte {
		return enc.Finish(enc.Append(dst, msg))
	})
}

// encodeWith compresses msgs in turn, each with the next of encs in turn, by compress.
func encodeWith(b *testing.B, encs []*deflate.Encoder, msgs [][]byte, compress func(enc *deflate.Encoder, dst, msg []byte) []byte) {
	var out []byte
	var wire, plain int
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	start := cpuTime()
	i := 0
	for b.Loop() {
		msg := msgs[i%len(msgs)]
		enc := encs[i%len(encs)]
		out = compress(enc, out[:0], msg)
		wire += len(out)
		plain += len(msg)
		i++
	}
	reportCPU(b, start)
	b.ReportMetric(float64(wire)/float64(plain), "ratio")
}

// flateWriter is what BenchmarkFlateEncode needs of compress/flate's and klauspost's
// writers.
type flateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

// BenchmarkFlateEncode compares, for the same messages as BenchmarkEncode without
// context takeover, the Encoder (lib=duplex) with the libraries on their own, one writer
// kept and reset for each message and sync-flushed as permessage-deflate does. Compare
// with benchstat -col /lib.
func BenchmarkFlateEncode(b *testing.B) {
	libs := []struct {
		name string
		new  func(level int) flateWriter
	}{
		{"std", func(level int) flateWriter { w, _ := flate.NewWriter(nil, level); return w }},
		{"klauspost", func(level int) flateWriter { w, _ := kflate.NewWriter(nil, level); return w }},
	}
	for _, n := range benchSizes {
		msgs := deflatetest.Messages(n)
		for _, level := range []int{1, 6} {
			prefix := fmt.Sprintf("size=%s/level=%d/lib=", sizeName(n), level)
			b.Run(prefix+"duplex", func(b *testing.B) {
				encodeMessages(b, []*deflate.Encoder{deflate.NewEncoder(15, level, false)}, msgs)
			})
			for _, lib := range libs {
				b.Run(prefix+lib.name, func(b *testing.B) {
					var buf bytes.Buffer
					var wire, plain int
					fw := lib.new(level)
					b.SetBytes(int64(n))
					b.ReportAllocs()
					start := cpuTime()
					i := 0
					for b.Loop() {
						msg := msgs[i%len(msgs)]
						buf.Reset()
						fw.Reset(&buf)
						_, _ = fw.Write(msg)
						_ = fw.Flush()
						wire += buf.Len() - 4
						plain += len(msg)
						i++
					}
					reportCPU(b, start)
					b.ReportMetric(float64(wire)/float64(plain), "ratio")
				})
			}
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range benchSizes {
		msg := deflatetest.ChatJSON(1, n)
		for _, takeover := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%s/takeover=%v", sizeName(n), takeover), func(b *testing.B) {
				enc := deflate.NewEncoder(15, 1, false)
				p := enc.Finish(enc.Append(nil, msg))
				dec := deflate.NewDecoder(15, takeover)
				r := bytes.NewReader(p)
				buf := make([]byte, 4<<10)
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				start := cpuTime()
				for b.Loop() {
					r.Reset(p)
					dec.Begin(r)
					for {
						_, err := dec.Read(buf)
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					dec.End()
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkFlateDecode compares, for the messages of BenchmarkFlateEncode at level 1
// without context takeover, the Decoder (lib=duplex, reading from an io.Reader that is
// not a buffer, as a connection's payload is; lib=duplex-streamed, the same with every
// message inflated as it is read by klauspost/compress) with the libraries' inflaters
// on their own, each reset for every message on a bytes.Buffer holding it and the tail (the way
// gws inflates). Compare with benchstat -col /lib.
func BenchmarkFlateDecode(b *testing.B) {
	libs := []struct {
		name string
		new  func() io.ReadCloser
	}{
		{"std", func() io.ReadCloser { return flate.NewReader(nil) }},
		{"klauspost", func() io.ReadCloser { return kflate.NewReader(nil) }},
	}
	tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
	for _, n := range benchSizes {
		enc := deflate.NewEncoder(15, 1, false)
		var payloads [][]byte
		for _, msg := range deflatetest.Messages(n) {
			payloads = append(payloads, enc.Finish(enc.Append(nil, msg)))
		}
		prefix := fmt.Sprintf("size=%s/lib=", sizeName(n))
		buf := make([]byte, 64<<10)
		decode := func(b *testing.B) {
			dec := deflate.NewDecoder(15, false)
			var r onlyReader
			b.SetBytes(int64(n))
			b.ReportAllocs()
			start := cpuTime()
			i := 0
			for b.Loop() {
				r.Reader.Reset(payloads[i%len(payloads)])
				dec.Begin(&r)
				readAll(b, dec, buf)
				dec.End()
				i++
			}
			reportCPU(b, start)
		}
		b.Run(prefix+"duplex", decode)
		b.Run(prefix+"duplex-streamed", func(b *testing.B) {
			defer deflate.SetMaxWhole(0)()
			decode(b)
		})
		for _, lib := range libs {
			b.Run(prefix+lib.name, func(b *testing.B) {
				fr := lib.new()
				var src bytes.Buffer
				b.SetBytes(int64(n))
				b.ReportAllocs()
				start := cpuTime()
				i := 0
				for b.Loop() {
					src.Reset()
					src.Write(payloads[i%len(payloads)])
					src.Write(tail)
					_ = fr.(flate.Resetter).Reset(&src, nil)
					readAll(b, fr, buf)
					i++
				}
				reportCPU(b, start)
			})
		}
	}
}

// onlyReader hides bytes.Reader's other methods, as a connection's payload reader has
// none of them.
type onlyReader struct{ bytes.Reader }

func (r *onlyReader) Read(p []byte) (int, error) { return r.Reader.Read(p) }

func readAll(b *testing.B, r io.Reader, buf []byte) {
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInflate compares the one-shot inflater (lib=duplex) with klauspost/compress's
// inflater on chat-like JSON compressed at level 1, each message whole in memory with
// the permessage-deflate tail appended, without a dictionary and with context takeover
// (dict=takeover: the messages of one compressed stream, each inflated with the 32 KiB
// of plaintext before it as the dictionary, laid out before the output). MB/s counts
// plaintext. Compare with benchstat -col /lib.
func BenchmarkInflate(b *testing.B) {
	tail := []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
	for _, n := range benchSizes {
		msgs := deflatetest.Messages(n)
		for _, takeover := range []bool{false, true} {
			enc := deflate.NewEncoder(15, 1, takeover)
			var payloads, dicts [][]byte
			var hist []byte
			for _, msg := range msgs {
				// With room after the stream, as the Decoder leaves for the
				// inflater's fast loop.
				p := append(enc.Finish(enc.Append(nil, msg)), tail...)
				payloads = append(payloads, slices.Grow(p, 16))
				dicts = append(dicts, bytes.Clone(lastN(hist, 32<<10)))
				if takeover {
					hist = append(hist, msg...)
				}
			}
			dict := "none"
			if takeover {
				dict = "takeover"
			}
			prefix := fmt.Sprintf("size=%s/dict=%s/lib=", sizeName(n), dict)
			b.Run(prefix+"duplex", func(b *testing.B) {
				inflate := deflate.Inflater()
				buf := make([]byte, 0, 32<<10+n+4096)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				start := cpuTime()
				i := 0
				for b.Loop() {
					k := i % len(payloads)
					buf = append(buf[:0], dicts[k]...)
					out, _, err := inflate(buf, len(dicts[k]), payloads[k], 1<<20)
					if err != nil || len(out)-len(dicts[k]) != n {
						b.Fatal(err)
					}
					i++
				}
				reportCPU(b, start)
			})
			b.Run(prefix+"klauspost", func(b *testing.B) {
				fr := kflate.NewReader(nil)
				out := make([]byte, n+1)
				var src bytes.Reader
				b.SetBytes(int64(n))
				b.ReportAllocs()
				start := cpuTime()
				i := 0
				for b.Loop() {
					k := i % len(payloads)
					src.Reset(payloads[k])
					_ = fr.(kflate.Resetter).Reset(&src, dicts[k])
					if m, err := io.ReadFull(fr, out); m != n || err != io.ErrUnexpectedEOF {
						b.Fatal(m, err)
					}
					i++
				}
				reportCPU(b, start)
			})
		}
	}
}
