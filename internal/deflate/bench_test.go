package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
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
// but no copy. MB/s counts plaintext.
func BenchmarkEncode(b *testing.B) {
	for _, n := range benchSizes {
		msgs := deflatetest.Messages(16, n)
		for _, c := range []struct {
			name        string
			bits, level int
		}{{"level-1", 15, 1}, {"level-6", 15, 6}, {"window-12", 12, 0}} {
			for _, takeover := range []bool{false, true} {
				name := fmt.Sprintf("json-%s/%s/%s", sizeName(n), c.name, map[bool]string{false: "no-takeover", true: "takeover"}[takeover])
				b.Run(name, func(b *testing.B) {
					enc := deflate.NewEncoder(c.bits, c.level, takeover)
					var out []byte
					var wire int
					b.SetBytes(int64(n))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						out = enc.Finish(enc.Append(out[:0], msgs[i%len(msgs)]))
						wire += len(out)
						i++
					}
					b.ReportMetric(float64(wire)/float64(i*n), "ratio")
				})
			}
		}
	}
}

// flateWriter is what BenchmarkFlateEncode needs of compress/flate's and klauspost's
// writers.
type flateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

// BenchmarkFlateEncode is the libraries on their own, one writer kept and reset for each
// message and sync-flushed as permessage-deflate does, for comparison with
// BenchmarkEncode.
func BenchmarkFlateEncode(b *testing.B) {
	libs := []struct {
		name string
		new  func(level int) flateWriter
	}{
		{"std", func(level int) flateWriter { w, _ := flate.NewWriter(nil, level); return w }},
		{"klauspost", func(level int) flateWriter { w, _ := kflate.NewWriter(nil, level); return w }},
		{"klauspost-window-12", func(int) flateWriter { w, _ := kflate.NewWriterWindow(nil, 1<<12); return w }},
	}
	for _, n := range benchSizes {
		msg := deflatetest.ChatJSON(1, n)
		for _, lib := range libs {
			for _, level := range []int{1, 6} {
				if lib.name == "klauspost-window-12" && level != 1 {
					continue // a window has one level
				}
				b.Run(fmt.Sprintf("json-%s/%s/level-%d", sizeName(n), lib.name, level), func(b *testing.B) {
					var buf bytes.Buffer
					fw := lib.new(level)
					b.SetBytes(int64(len(msg)))
					b.ReportAllocs()
					for b.Loop() {
						buf.Reset()
						fw.Reset(&buf)
						_, _ = fw.Write(msg)
						_ = fw.Flush()
					}
					b.ReportMetric(float64(buf.Len()-4)/float64(len(msg)), "ratio")
				})
			}
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range benchSizes {
		msg := deflatetest.ChatJSON(1, n)
		for _, takeover := range []bool{false, true} {
			name := fmt.Sprintf("json-%s/%s", sizeName(n), map[bool]string{false: "no-takeover", true: "takeover"}[takeover])
			b.Run(name, func(b *testing.B) {
				enc := deflate.NewEncoder(15, 1, false)
				p := enc.Finish(enc.Append(nil, msg))
				dec := deflate.NewDecoder(15, takeover)
				r := bytes.NewReader(p)
				buf := make([]byte, 4<<10)
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
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
			})
		}
	}
}
