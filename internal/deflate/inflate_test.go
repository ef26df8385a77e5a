package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/deflate"
)

// tail7692 is what permessage-deflate appends to a message before inflating it: the
// removed 00 00 ff ff (RFC 7692, Section 7.2.2), then an empty final stored block.
var tail7692 = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

func withTail(p []byte) []byte { return append(append([]byte{}, p...), tail7692...) }

// inflateVector is a raw DEFLATE stream, the history before it, and what it decodes to
// (nil want: it is corrupt).
type inflateVector struct {
	name   string
	stream []byte
	hist   []byte
	want   []byte
}

func inflateVectors() []inflateVector {
	r := rand.New(rand.NewPCG(5, 6))
	random := func(n int) []byte { return randomBytes(r, n) }
	hello := []byte("Hello")
	big := random(32 << 10)
	hist := random(1000)
	var vs []inflateVector
	add := func(name string, w *bitWriter, hist, want []byte) {
		vs = append(vs, inflateVector{name, w.bytes(), hist, want})
	}
	vs = append(vs,
		inflateVector{"7692-7.2.3.1/hello", withTail([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), nil, hello},
		inflateVector{"7692-7.2.3.2/hello-again", withTail([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}), hello, hello},
		inflateVector{"7692-7.2.3.3/stored-hello", withTail([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}), nil, hello},
	)
	add("1951-3.2.6/empty-fixed", new(bitWriter).header(true, 1).fixedSym(256), nil, []byte{})
	add("1951-3.2.4/empty-stored", new(bitWriter).stored(true, nil), nil, []byte{})
	add("1951-3.2.4/stored-then-fixed", new(bitWriter).stored(false, hello).header(true, 1).fixedSym('!').fixedSym(256), nil, []byte("Hello!"))

	// The longest distance, 32768, and one beyond what there is.
	add("1951-3.2.5/distance-32768", new(bitWriter).stored(false, big).header(true, 1).fixedMatch(258, 32768).fixedSym(256),
		nil, append(append([]byte{}, big...), big[:258]...))
	add("1951-3.2.5/distance-32768-from-32767", new(bitWriter).stored(false, big[1:]).header(true, 1).fixedMatch(3, 32768).fixedSym(256), nil, nil)
	// The history, reached to its first byte and one before.
	add("1951-3.2/history-reach", new(bitWriter).header(true, 1).fixedMatch(10, 1000).fixedSym(256), hist, hist[:10])
	add("1951-3.2/history-beyond", new(bitWriter).header(true, 1).fixedMatch(10, 1001).fixedSym(256), hist, nil)
	add("1951-3.2/distance-before-output", new(bitWriter).header(true, 1).fixedSym('a').fixedMatch(3, 2).fixedSym(256), nil, nil)
	// Overlapping copies of every short period, long enough for the fast loop.
	for d := 1; d <= 17; d++ {
		w := new(bitWriter).header(true, 1)
		want := append([]byte{}, hist[:d]...)
		for _, c := range hist[:d] {
			w.fixedSym(int(c))
		}
		for range 20 {
			w.fixedMatch(258, d)
			for range 258 {
				want = append(want, want[len(want)-d])
			}
		}
		add(fmt.Sprintf("1951-3.2.3/overlap-distance-%d", d), w.fixedSym(256), nil, want)
	}
	// Forbidden symbols of the fixed code (Section 3.2.6).
	add("1951-3.2.6/litlen-286", new(bitWriter).header(true, 1).fixedSym('a').fixedSym(286), nil, nil)
	add("1951-3.2.6/litlen-287", new(bitWriter).header(true, 1).fixedSym('a').fixedSym(287), nil, nil)
	add("1951-3.2.6/distance-30", new(bitWriter).header(true, 1).fixedSym('a').fixedSym(257).code(30, 5), nil, nil)
	add("1951-3.2.6/distance-31", new(bitWriter).header(true, 1).fixedSym('a').fixedSym(257).code(31, 5), nil, nil)
	add("1951-3.2.3/btype-3", new(bitWriter).header(true, 3).bits(0, 16), nil, nil)
	vs = append(vs, inflateVector{"1951-3.2.4/nlen-not-complement", []byte{0x01, 0x05, 0x00, 0xfb, 0xff, 'H', 'e', 'l', 'l', 'o'}, nil, nil})
	add("1951-3.2.3/no-final-block", new(bitWriter).header(false, 1).fixedSym('a').fixedSym(256), nil, nil)

	// Dynamic blocks (Section 3.2.7).
	lit := make([]uint8, 259)
	for i := range 256 {
		lit[i] = 9
	}
	lit[256], lit[257], lit[258] = 2, 3, 3
	litCodes := canonical(lit)
	sym := func(w *bitWriter, lens []uint8, codes []uint32, s int) *bitWriter {
		return w.code(codes[s], uint(lens[s]))
	}
	w := new(bitWriter).dynamic(true, lit, []uint8{1, 1})
	sym(w, lit, litCodes, 'x')
	sym(w, lit, litCodes, 257).code(0, 1) // length 3, distance 1
	sym(w, lit, litCodes, 256)
	add("1951-3.2.7/dynamic", w, nil, []byte("xxxx"))

	// Codewords of every length to 15, so that the tables need subtables; distance
	// code i has i+1 bits, 14 and 15 15 bits.
	longLit := make([]uint8, 266)
	// 'a', and the lengths 3 and 4 (257, 258), 2 bits; 'b' to 'm' 3 to 14 bits;
	// end-of-block and 'z' 15: a complete code.
	longLit['a'], longLit[257], longLit[258] = 2, 2, 2
	for i := 1; i < 14; i++ {
		longLit['a'+i] = uint8(i + 2)
	}
	longLit['z'], longLit[256] = 15, 15
	longLit['a'+13] = 0
	longDist := make([]uint8, 16)
	for i := range 14 {
		longDist[i] = uint8(i + 1)
	}
	longDist[14], longDist[15] = 15, 15
	lc, dc := canonical(longLit), canonical(longDist)
	w = new(bitWriter).dynamic(true, longLit, longDist)
	want := append([]byte{}, hist...)
	for i := range 300 {
		for j := range 13 {
			sym(w, longLit, lc, 'a'+j)
			want = append(want, byte('a'+j))
		}
		sym(w, longLit, lc, 'z')
		want = append(want, 'z')
		// A match of length 3 at distance code i%16 (its base, no extra bits set).
		code := i % 16
		base, extra := distBase[code], uint(distExtra[code])
		sym(w, longLit, lc, 257)
		w.code(dc[code], uint(longDist[code])).bits(0, extra)
		for range 3 {
			want = append(want, want[len(want)-base])
		}
	}
	sym(w, longLit, lc, 256)
	add("1951-3.2.7/subtables", w, hist, want[len(hist):])

	// Codes that are not Huffman codes.
	over := make([]uint8, 257)
	over['a'], over['b'], over[256] = 1, 1, 1
	add("1951-3.2.7/litlen-over-subscribed", new(bitWriter).dynamic(true, over, []uint8{1, 1}), nil, nil)
	incomplete := make([]uint8, 257)
	for i := range incomplete {
		incomplete[i] = 9
	}
	add("1951-3.2.7/litlen-incomplete", new(bitWriter).dynamic(true, incomplete, []uint8{1, 1}).code(0, 9), nil, nil)
	add("1951-3.2.7/distance-incomplete", new(bitWriter).dynamic(true, lit, []uint8{2, 2, 2}), nil, nil)
	add("1951-3.2.7/distance-over-subscribed", new(bitWriter).dynamic(true, lit, []uint8{1, 1, 1}), nil, nil)
	// One distance code of one bit (Section 3.2.7: "one unused code"), used...
	w = new(bitWriter).dynamic(true, lit, []uint8{0, 1})
	sym(w, lit, litCodes, 'y')
	sym(w, lit, litCodes, 257).code(0, 1).bits(0, 0) // distance code 1: distance 2
	add("1951-3.2.7/single-distance-code-too-far", w, nil, nil)
	w = new(bitWriter).dynamic(true, lit, []uint8{1})
	sym(w, lit, litCodes, 'y')
	sym(w, lit, litCodes, 257).code(0, 1)
	sym(w, lit, litCodes, 256)
	add("1951-3.2.7/single-distance-code", w, nil, []byte("yyyy"))
	// ... and its unused codeword.
	w = new(bitWriter).dynamic(true, lit, []uint8{1})
	sym(w, lit, litCodes, 'y')
	sym(w, lit, litCodes, 257).code(1, 1)
	add("1951-3.2.7/single-distance-code-unused", w, nil, nil)
	// No distance code at all: literals only, and a match cannot be decoded.
	w = new(bitWriter).dynamic(true, lit, []uint8{0})
	sym(w, lit, litCodes, 'y')
	sym(w, lit, litCodes, 256)
	add("1951-3.2.7/no-distance-code", w, nil, []byte("y"))
	w = new(bitWriter).dynamic(true, lit, []uint8{0})
	sym(w, lit, litCodes, 'y')
	sym(w, lit, litCodes, 257).bits(0, 8)
	add("1951-3.2.7/no-distance-code-used", w, nil, nil)
	// A literal/length code of one codeword of one bit, as zlib accepts.
	eob := make([]uint8, 257)
	eob[256] = 1
	add("1951-3.2.7/single-litlen-code", new(bitWriter).dynamic(true, eob, []uint8{0}).code(0, 1), nil, []byte{})

	// The code length code and its symbols.
	add("1951-3.2.7/repeat-without-previous", new(bitWriter).dynamicHeader(true, 257, 1, preLens, [][2]int{{16, 0}}), nil, nil)
	add("1951-3.2.7/zeros-past-the-end", new(bitWriter).dynamicHeader(true, 257, 1, preLens, [][2]int{{18, 127}, {18, 127}, {18, 0}}), nil, nil)
	add("1951-3.2.7/repeat-past-the-end", new(bitWriter).dynamicHeader(true, 257, 1, preLens, [][2]int{{18, 127}, {18, 108}, {8, 0}, {16, 0}}), nil, nil)
	add("1951-3.2.7/hlit-287", new(bitWriter).dynamicHeader(true, 287, 1, preLens, nil).bits(0, 32), nil, nil)
	add("1951-3.2.7/hlit-288", new(bitWriter).dynamicHeader(true, 288, 1, preLens, nil).bits(0, 32), nil, nil)
	add("1951-3.2.7/hdist-31", new(bitWriter).dynamicHeader(true, 257, 31, preLens, nil).bits(0, 32), nil, nil)
	add("1951-3.2.7/hdist-32", new(bitWriter).dynamicHeader(true, 257, 32, preLens, nil).bits(0, 32), nil, nil)
	allOne := make([]uint8, 19)
	for i := range allOne {
		allOne[i] = 1
	}
	add("1951-3.2.7/precode-over-subscribed", new(bitWriter).dynamicHeader(true, 257, 1, allOne, nil).bits(0, 32), nil, nil)
	onePre := make([]uint8, 19)
	onePre[8] = 2
	add("1951-3.2.7/precode-incomplete", new(bitWriter).dynamicHeader(true, 257, 1, onePre, nil).bits(0, 32), nil, nil)
	return vs
}

// refRaw inflates a raw DEFLATE stream with klauspost/compress, producing at most max
// bytes.
func refRaw(stream, hist []byte, max int) ([]byte, error) {
	return io.ReadAll(io.LimitReader(kflate.NewReaderDict(bytes.NewReader(stream), hist), int64(max)))
}

func TestInflateVectors(t *testing.T) {
	for _, v := range inflateVectors() {
		t.Run(v.name, func(t *testing.T) {
			buf := append([]byte{}, v.hist...)
			out, end, err := deflate.Inflate(buf, len(v.hist), v.stream, 1<<20)
			ref, refErr := refRaw(v.stream, v.hist, 1<<20)
			if v.want == nil {
				require.ErrorIs(t, err, deflate.ErrCorrupt)
				assert.Error(t, refErr, "klauspost/compress agrees")
				return
			}
			require.NoError(t, err)
			assert.True(t, bytes.Equal(v.hist, out[:len(v.hist)]), "history kept")
			assert.Equal(t, v.want, out[len(v.hist):])
			assert.LessOrEqual(t, end, len(v.stream))
			require.NoError(t, refErr, "klauspost/compress agrees")
			assert.Equal(t, v.want, ref, "klauspost/compress agrees")
		})
	}
}

// TestInflateTruncated cuts every valid vector at every byte: each prefix ends before
// the final block does.
func TestInflateTruncated(t *testing.T) {
	for _, v := range inflateVectors() {
		if v.want == nil {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			_, end, err := deflate.Inflate(append([]byte{}, v.hist...), len(v.hist), v.stream, 1<<20)
			require.NoError(t, err)
			for n := range end {
				_, _, err := deflate.Inflate(append([]byte{}, v.hist...), len(v.hist), v.stream[:n], 1<<20)
				require.ErrorIs(t, err, deflate.ErrCorrupt, "cut at %d of %d", n, end)
			}
		})
	}
}

// TestInflateLimit sets the output bound exactly at the size, one below and one above,
// for every valid vector and for buffers too small, large enough and larger than the
// bound.
func TestInflateLimit(t *testing.T) {
	for _, v := range inflateVectors() {
		if v.want == nil || len(v.want) == 0 {
			continue
		}
		n := len(v.want)
		for _, room := range []int{0, n - 1, n + 300} {
			t.Run(fmt.Sprintf("%s/room-%d", v.name, room), func(t *testing.T) {
				for _, max := range []int{n - 1, n, n + 1} {
					buf := make([]byte, len(v.hist), len(v.hist)+room)
					copy(buf, v.hist)
					out, _, err := deflate.Inflate(buf, len(v.hist), v.stream, max)
					if max < n {
						require.ErrorIs(t, err, deflate.ErrTooBig, "max %d", max)
						assert.Equal(t, v.want[:max], out[len(v.hist):], "the first max bytes")
						continue
					}
					require.NoError(t, err, "max %d", max)
					assert.Equal(t, v.want, out[len(v.hist):])
				}
			})
		}
	}
}

// TestInflateMatchesFlate inflates what compress/flate and klauspost/compress make of
// every input at every level, with and without a dictionary, then the same streams with
// bits flipped, and holds the inflater to klauspost/compress (checkInflate).
func TestInflateMatchesFlate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	in := inputs()
	dict := in["text"][:20000]
	for name, msg := range in {
		for _, lib := range []string{"std", "klauspost"} {
			for _, level := range []int{-2, 0, 1, 5, 9} {
				for _, d := range [][]byte{nil, dict} {
					var buf bytes.Buffer
					var w io.WriteCloser
					if lib == "std" {
						w, _ = flate.NewWriterDict(&buf, level, d)
					} else {
						w, _ = kflate.NewWriterDict(&buf, level, d)
					}
					_, _ = w.Write(msg)
					require.NoError(t, w.Close())
					stream := buf.Bytes()
					out, _, err := deflate.Inflate(append([]byte{}, d...), len(d), stream, 1<<20)
					require.NoError(t, err, "%s %s level %d", name, lib, level)
					require.Equal(t, msg, out[len(d):], "%s %s level %d", name, lib, level)
					for range 20 {
						bad := append([]byte{}, stream...)
						if len(bad) == 0 {
							break
						}
						for range 1 + r.IntN(3) {
							bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
						}
						checkInflate(t, bad, d, 1<<20)
					}
				}
			}
		}
	}
}

// checkInflate holds the inflater to klauspost/compress on any stream: the same bytes
// where both succeed; where klauspost/compress fails, the inflater fails too, having
// decoded at least what klauspost/compress gave before failing; where klauspost/compress
// gives more than max bytes, the inflater stops with ErrTooBig after exactly max. Both
// accept a Huffman code of a single one-bit codeword in any of the three codes (as zlib
// does for literal/length and distance codes) and a code with no codeword until it is
// used; both refuse HLIT over 286 and HDIST over 30 (zlib too), though RFC 1951, Section
// 3.2.7 gives their fields room for 288 and 32.
//
// Where klauspost/compress and compress/flate disagree, the inflater is held to
// compress/flate. They do on a literal/length code with no codeword: compress/flate
// fails on its first symbol, as the inflater does, but klauspost/compress (v1.20.4)
// keeps the table it built before, the code length code's, and decodes the block's data
// with it (a stream of 25 bytes, FuzzInflate/klauspost-empty-litlen-code, inflates to 37 bytes that
// are code lengths). They also differ on a stream cut short, below.
func checkInflate(t *testing.T, stream, hist []byte, max int) {
	t.Helper()
	ref, refErr := refRaw(stream, hist, max+1)
	stdRef, stdErr := io.ReadAll(io.LimitReader(flate.NewReaderDict(bytes.NewReader(stream), hist), int64(max+1)))
	if (refErr != nil) != (stdErr != nil) || (len(ref) > max) != (len(stdRef) > max) {
		ref, refErr = stdRef, stdErr
	}
	out, end, err := deflate.Inflate(append([]byte{}, hist...), len(hist), stream[:len(stream):len(stream)], max)
	got := out[len(hist):]
	checkPadded(t, stream, hist, max, got, end, err)
	switch {
	case len(ref) > max:
		require.ErrorIs(t, err, deflate.ErrTooBig)
		sameBytes(t, ref[:max], got, "the first max bytes")
	case refErr != nil:
		// Reading a block that is not the last, klauspost/compress asks for 10 bits
		// more than a symbol needs (the least a next block takes), so a stream cut
		// short may fail there a symbol or two before the inflater does, which may
		// reach the bound first.
		if !errors.Is(err, deflate.ErrTooBig) {
			require.ErrorIs(t, err, deflate.ErrCorrupt, "reference: %v", refErr)
		}
		// What compress/flate gave before failing, a prefix of what the inflater
		// gives (it hands out its window in pieces); klauspost/compress's stale
		// table may have decoded bytes that are not there.
		sameBytes(t, stdRef, got[:min(len(got), len(stdRef))], "what compress/flate gave before failing")
	default:
		require.NoError(t, err)
		sameBytes(t, ref, got, "inflated")
	}
}

// checkPadded inflates stream again with room after it, as the Decoder leaves for the
// fast loop, holding bytes that are not part of it (zeros or ones, by the stream's
// length), and holds the result to got, end and err, those of the stream without room:
// the same verdict; the same bytes and end where it succeeds or stops at max; where
// the data is corrupt, at least the bytes decoded without room (the fast loop may
// have decoded some of the bytes after the stream before it finds that it went past
// the end).
func checkPadded(t *testing.T, stream, hist []byte, max int, got []byte, end int, err error) {
	t.Helper()
	pad := bytes.Repeat([]byte{byte(0xff * (len(stream) % 2))}, 16)
	padded := append(append(make([]byte, 0, len(stream)+len(pad)), stream...), pad...)[:len(stream)]
	out, pend, perr := deflate.Inflate(append([]byte{}, hist...), len(hist), padded, max)
	pgot := out[len(hist):]
	switch {
	case err == nil:
		require.NoError(t, perr, "with room after the stream")
		require.Equal(t, end, pend, "end with room after the stream")
		sameBytes(t, got, pgot, "inflated with room after the stream")
	case errors.Is(err, deflate.ErrTooBig):
		require.ErrorIs(t, perr, deflate.ErrTooBig, "with room after the stream")
		sameBytes(t, got, pgot, "the first max bytes with room after the stream")
	default:
		require.ErrorIs(t, perr, deflate.ErrCorrupt, "with room after the stream")
		require.GreaterOrEqual(t, len(pgot), len(got), "bytes decoded with room after the stream")
		sameBytes(t, got, pgot[:len(got)], "what was decoded without room after the stream")
	}
}

// sameBytes fails unless got equals want, naming the first difference: testify's diff
// of two long slices takes minutes.
func sameBytes(t testing.TB, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Fatalf("%s: %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
}

// FuzzInflate holds the inflater to klauspost/compress on arbitrary streams, after a
// history of 0 to 32 KiB, with an output bound of 1 to 256 KiB.
func FuzzInflate(f *testing.F) {
	for _, v := range inflateVectors() {
		f.Add(v.stream, uint16(len(v.hist)), uint32(1<<20))
	}
	text := inputs()["text"]
	for _, level := range []int{1, 6, 9} {
		var buf bytes.Buffer
		w, _ := kflate.NewWriter(&buf, level)
		_, _ = w.Write(text[:3000])
		_ = w.Close()
		f.Add(buf.Bytes(), uint16(0), uint32(1<<20))
		f.Add(buf.Bytes(), uint16(0), uint32(2999))
	}
	f.Fuzz(func(t *testing.T, stream []byte, hist uint16, max uint32) {
		h := text[:int(hist)%(32<<10+1)]
		checkInflate(t, stream, h, 1+int(max%(256<<10)))
	})
}

// TestInflateFastLoopEntry starts a dynamic block (RFC 1951, Section 3.2.7) at every
// bit alignment, so that its header leaves the bit buffer at every fill, with a
// literal of the longest codeword the primary table holds then a match first, and cuts the input at every
// length after the block, with no room after it: the refill that fills the buffer as
// the fast loop enters must not read past the input.
func TestInflateFastLoopEntry(t *testing.T) {
	// A complete literal/length code: end of block 1 bit, length 3 (257) 2 bits,
	// 'a' to 'l' 3 to 14 bits, 'A' and 'B' 15 bits; one one-bit distance code,
	// distance 1, among 30, the 29 unused ones written as one repeat (code length
	// symbol 18 and its 7 extra bits), so that the header may end with few bits
	// left in the buffer.
	lit := make([]uint8, 258)
	lit[256], lit[257] = 1, 2
	for i := range 12 {
		lit['a'+i] = uint8(3 + i)
	}
	lit['A'], lit['B'] = 15, 15
	var syms [][2]int
	for _, l := range lit {
		syms = append(syms, [2]int{int(l), 0})
	}
	syms = append(syms, [2]int{1, 0}, [2]int{18, 29 - 11})
	lc, dc := canonical(lit), canonical([]uint8{1})
	for k := range 32 {
		w := new(bitWriter)
		for range k {
			w.header(false, 1).fixedSym(256) // 10 bits each
		}
		w.dynamicHeader(true, len(lit), 30, preLens, syms)
		w.code(lc['i'], 11).code(lc[257], 2).code(dc[0], 1).code(lc[256], 1)
		block := w.bytes()
		for extra := range 32 {
			stream := append(append([]byte{}, block...), make([]byte, extra)...)
			out, end, err := deflate.Inflate(nil, 0, stream[:len(stream):len(stream)], 1<<20)
			require.NoError(t, err, "%d empty blocks, %d bytes after", k, extra)
			assert.Equal(t, "iiii", string(out))
			assert.Equal(t, len(block), end)
		}
	}
}
