package deflate_test

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"

	"duplex/internal/deflate"
)

func benchInputs(b *testing.B) map[string][]byte {
	in := inputs()
	return map[string][]byte{"chat-55B": in["chat"], "text-64KiB": in["text"][:64<<10], "random-64KiB": in["random"][:64<<10]}
}

func BenchmarkEncode(b *testing.B) {
	for name, msg := range benchInputs(b) {
		for _, takeover := range []bool{false, true} {
			b.Run(name+map[bool]string{false: "/no-takeover", true: "/takeover"}[takeover], func(b *testing.B) {
				enc := deflate.NewEncoder(15, deflate.DefaultLevel, takeover)
				var out []byte
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					out = enc.Finish(enc.Append(out[:0], msg))
				}
				b.ReportMetric(float64(len(out))/float64(max(1, len(msg))), "ratio")
			})
		}
	}
}

// BenchmarkFlateEncode is compress/flate at the same level, for comparison.
func BenchmarkFlateEncode(b *testing.B) {
	for name, msg := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				fw.Reset(&buf)
				_, _ = fw.Write(msg)
				_ = fw.Flush()
			}
			b.ReportMetric(float64(buf.Len()-4)/float64(max(1, len(msg))), "ratio")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, msg := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			enc := deflate.NewEncoder(15, deflate.DefaultLevel, false)
			p := enc.Finish(enc.Append(nil, msg))
			dec := deflate.NewDecoder(15, false)
			r := bytes.NewReader(p)
			buf := make([]byte, 32<<10)
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
