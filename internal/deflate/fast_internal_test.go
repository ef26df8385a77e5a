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

func TestFastQuick(t *testing.T) {
	for _, size := range []int{100, 4 << 10, 64 << 10, 64<<10 + 1, 300 << 10} {
		for _, msg := range deflatetest.Messages(size)[:2] {
			var f fastEnc
			f.w.out = nil
			f.whole(msg, 1<<15)
			got := inflateStd(t, f.w.out, nil)
			if !bytes.Equal(got, msg) {
				t.Fatalf("size %d: differs", size)
			}
			// in parts, with history
			f.w.out = nil
			f.reset(1<<12, msg[:min(len(msg), 100)])
			for p := msg; len(p) > 0; p = p[min(len(p), 777):] {
				f.write(p[:min(len(p), 777)])
			}
			f.finish()
			got = inflateStd(t, f.w.out, msg[:min(len(msg), 100)])
			if !bytes.Equal(got, msg) {
				t.Fatalf("parts size %d: differs", size)
			}
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
