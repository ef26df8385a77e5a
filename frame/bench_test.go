package frame_test

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"duplex/frame"
)

var benchHeaders = []struct {
	name string
	h    frame.Header
}{
	{"len7", frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}},
	{"len16-masked", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 256, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}},
	{"len64-masked", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 20, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}},
}

func BenchmarkParseHeader(b *testing.B) {
	for _, bh := range benchHeaders {
		wire := frame.AppendHeader(nil, bh.h)
		b.Run(bh.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := frame.ParseHeader(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadHeader(b *testing.B) {
	for _, bh := range benchHeaders {
		wire := frame.AppendHeader(nil, bh.h)
		b.Run(bh.name, func(b *testing.B) {
			src := bytes.NewReader(nil)
			br := bufio.NewReader(src)
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(wire)
				br.Reset(src)
				if _, err := frame.ReadHeader(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	for _, bh := range benchHeaders {
		b.Run(bh.name, func(b *testing.B) {
			buf := make([]byte, 0, frame.MaxHeaderSize)
			b.ReportAllocs()
			for b.Loop() {
				buf = frame.AppendHeader(buf[:0], bh.h)
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 256, Masked: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Check(frame.RoleServer, 0); err != nil {
			b.Fatal(err)
		}
	}
}

var maskSizes = []int{16, 125, 1 << 10, 64 << 10, 1 << 20}

type maskCase struct {
	name string
	p    []byte
	pos  int
}

// maskCases are the slices the mask benchmarks run over: one that starts
// the buffer at key position 0, and one a byte into it at position 3, so
// the kernels' misaligned edges and key rotation are timed too.
func maskCases(n int) []maskCase {
	buf := make([]byte, n+1)
	return []maskCase{
		{"aligned", buf[:n], 0},
		{"offset", buf[1 : n+1], 3},
	}
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range maskSizes {
		for _, tc := range maskCases(n) {
			b.Run(strconv.Itoa(n)+"/"+tc.name, func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					frame.Mask(key, tc.pos, tc.p)
				}
			})
		}
	}
}

// BenchmarkMaskKernel runs Mask with each kernel of this build, so the
// length at which the AVX2 kernel takes over can be checked.
func BenchmarkMaskKernel(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	sizes := append([]int{32, 48, 64, 96}, maskSizes...)
	for _, k := range frame.MaskKernels() {
		restore := k.Use()
		for _, n := range sizes {
			for _, tc := range maskCases(n) {
				b.Run(k.Name+"/"+strconv.Itoa(n)+"/"+tc.name, func(b *testing.B) {
					b.SetBytes(int64(n))
					for b.Loop() {
						frame.Mask(key, tc.pos, tc.p)
					}
				})
			}
		}
		restore()
	}
}

// BenchmarkMaskBytewise is the byte-by-byte reference, for comparison.
func BenchmarkMaskBytewise(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range maskSizes {
		buf := make([]byte, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				maskRef(key, 0, buf)
			}
		})
	}
}

var utf8Inputs = []struct {
	name string
	text []byte
}{
	{"ascii-16", []byte(strings.Repeat("a", 16))},
	{"ascii-16KiB", []byte(strings.Repeat("Hello, world. ", 1171)[:16<<10])},
	{"latin-16KiB", []byte(strings.Repeat("Grüße aus Köln ", 1024)[:16<<10-4])},
	{"greek-16KiB", []byte(strings.Repeat("κόσμε", 1638)[:16<<10-8])},
	{"cjk-16KiB", []byte(strings.Repeat("日本語のテキスト", 682))},
	{"emoji-16KiB", []byte(strings.Repeat("🎉", 4096))},
}

func BenchmarkUTF8Validator(b *testing.B) {
	for _, in := range utf8Inputs {
		if !utf8.Valid(in.text) {
			b.Fatalf("%s: benchmark input is not valid UTF-8", in.name)
		}
		b.Run(in.name, func(b *testing.B) {
			var v frame.UTF8Validator
			b.SetBytes(int64(len(in.text)))
			b.ReportAllocs()
			for b.Loop() {
				v.Reset()
				if _, ok := v.Feed(in.text); !ok || !v.Complete() {
					b.Fatal("rejected valid text")
				}
			}
		})
	}
}

// BenchmarkUTF8Stdlib is utf8.Valid on the same inputs, for comparison.
func BenchmarkUTF8Stdlib(b *testing.B) {
	for _, in := range utf8Inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				if !utf8.Valid(in.text) {
					b.Fatal("rejected valid text")
				}
			}
		})
	}
}
