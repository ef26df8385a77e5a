package autobahn

import (
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
)

func init() { register(cases12()...) }

// pmceSizes are the message sizes and fragment sizes (0: one frame) of every
// subsection of sections 12 and 13, as in the original.
var pmceSizes = [18][2]int{
	{16, 0}, {64, 0}, {256, 0}, {1024, 0}, {4096, 0}, {8192, 0}, {16384, 0}, {32768, 0}, {65536, 0}, {131072, 0},
	{8192, 256}, {16384, 256}, {32768, 256}, {65536, 256}, {131072, 256},
	{131072, 1024}, {131072, 4096}, {131072, 32768},
}

// pmceWait is the original's time limit for 1000 messages of n bytes.
func pmceWait(n int) time.Duration {
	switch {
	case n <= 64:
		return 60 * time.Second
	case n <= 256:
		return 120 * time.Second
	case n <= 1024:
		return 240 * time.Second
	}
	return 480 * time.Second
}

// pmceCorpus is the data a subsection sends: each message is the first n
// bytes of it. The original reads files (JSON, a bitmap, German prose,
// HTML, a PDF); these are generated with the same character: text that
// compresses well and binary that compresses somewhat or hardly at all.
type pmceCorpus struct {
	name string
	op   Opcode
	gen  func(n int) []byte
}

var pmceCorpora = []pmceCorpus{
	{"JSON text", OpText, jsonText},
	{"binary data that barely compresses", OpBinary, noisyBinary(256)},
	{"binary data that compresses by half", OpBinary, sparseBinary},
	{"HTML text", OpText, htmlText},
	{"binary data with a little structure", OpBinary, noisyBinary(200)},
}

func jsonText(n int) []byte {
	r := mrand.New(mrand.NewPCG(12, 1))
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id": %d, "name": "%s %s", "score": %d.%02d, "tags": ["%s", "%s"], "active": %v},`+"\n",
			i, words[r.IntN(10)], words[r.IntN(10)], r.IntN(1000), r.IntN(100), words[r.IntN(10)], words[r.IntN(10)], r.IntN(2) == 0)
	}
	return []byte(b.String()[:n])
}

func htmlText(n int) []byte {
	r := mrand.New(mrand.NewPCG(12, 4))
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Report</title></head><body>\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<div class=\"row r%d\"><a href=\"/item/%d\">Item %d</a> <span>%d units</span></div>\n",
			i%3, r.IntN(100000), i, r.IntN(500))
	}
	return []byte(b.String()[:n])
}

// sparseBinary is random bytes alternating with zeros: Huffman coding halves
// it, and it holds few matches to search for.
func sparseBinary(n int) []byte {
	r := mrand.New(mrand.NewPCG(12, 3))
	b := make([]byte, n)
	for i := 0; i < n; i += 2 {
		b[i] = byte(r.Uint32())
	}
	return b
}

// noisyBinary returns a generator of bytes whose values vary by up to
// spread around a slow ramp: 256 is random, smaller is more compressible.
func noisyBinary(spread int) func(n int) []byte {
	return func(n int) []byte {
		r := mrand.New(mrand.NewPCG(12, uint64(spread)))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i/512 + r.IntN(spread))
		}
		return b
	}
}

// pmceCase sends 1000 compressed messages, each after the echo of the one
// before, and expects every echo to be the message sent. Without
// permessage-deflate agreed it is UNIMPLEMENTED, as in the original.
func pmceCase(id, desc string, c pmceCorpus, n, frag int, offer []string, accept func([]string) string) *Case {
	const count = 1000
	wait := pmceWait(n)
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: fmt.Sprintf("Every %s message comes back as sent, all within %s; then a clean close with code 1000.", kindName(c.op), wait),
		Offer:       offer,
		Accept:      accept,
		Run: func(s *Session) {
			s.ExpectClose(closeNormal)
			s.Wirelog(false)
			m := newPMCE(s.Extensions(), s.isServer)
			if m == nil {
				s.SetBehavior(Unimplemented, "permessage-deflate was not agreed.")
				s.Close(1000)
				return
			}
			s.pmce = m
			s.AllowRSV(4)
			payload := c.gen(n)
			s.ReportTime()
			s.SetBehavior(Failed, fmt.Sprintf("The messages did not all come back within %s.", wait))
			s.echoRounds(c.op, payload, count, wait, func() { s.sendCompressed(c.op, payload, frag) })
		},
	}
}

// sendCompressed sends payload as one compressed message, in frames of frag
// bytes of compressed data (0: one frame), RSV1 on the first only
// (RFC 7692, Section 6.1).
func (s *Session) sendCompressed(op Opcode, msg []byte, frag int) {
	p := s.pmce.compress(msg)
	if frag <= 0 {
		frag = len(p)
	}
	rsv, frameOp := uint8(4), op
	for {
		k := min(frag, len(p))
		s.SendFrame(Frame{Opcode: frameOp, Fin: k == len(p), RSV: rsv, Payload: p[:k]})
		p, rsv, frameOp = p[k:], 0, OpContinuation
		if len(p) == 0 {
			return
		}
	}
}

func pmceDescription(c pmceCorpus, n, frag int, how string) string {
	return fmt.Sprintf("Send 1000 compressed messages of %d bytes of %s, in frames of %d bytes of compressed data (0: one frame). %s.", n, c.name, frag, how)
}

// cases12 is section 12: permessage-deflate with the default offer and
// acceptance, for five kinds of data.
func cases12() []*Case {
	var cs []*Case
	offer := []string{pmceOffer(false, 0)}
	accept := pmceAccept([2]int{0, 0})
	for sub, c := range pmceCorpora {
		for i, sz := range pmceSizes {
			cs = append(cs, pmceCase(fmt.Sprintf("12.%d.%d", sub+1, i+1),
				pmceDescription(c, sz[0], sz[1], "Use the default permessage-deflate offer"), c, sz[0], sz[1], offer, accept))
		}
	}
	return cs
}
