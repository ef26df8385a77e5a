package fuzz_test

import (
	"encoding/binary"
	"errors"
	"runtime/metrics"
	"slices"
	"testing"
	"unicode/utf8"

	"duplex/conn"
	"duplex/frame"
)

// outFrame is a frame an endpoint under test wrote, unmasked.
type outFrame struct {
	op      byte
	payload []byte
}

// parseOutput decodes everything an endpoint of role sender wrote, with
// the reference decoder, and checks each frame against what its peer
// accepts: complete, final (nothing here is fragmented), masked by a
// client and only by a client.
func parseOutput(t *testing.T, out []byte, sender frame.Role) []outFrame {
	t.Helper()
	receiver := frame.RoleClient
	if sender == frame.RoleClient {
		receiver = frame.RoleServer
	}
	var frames []outFrame
	for len(out) > 0 {
		h, st, _ := refDecodeHeader(out)
		if st != headerOK || uint64(len(out)-h.size) < h.length {
			t.Fatalf("output ends with a bad or cut frame: % x", out)
		}
		if err := refCheck(h, receiver, 0); err != nil || !h.fin {
			t.Fatalf("output frame %+v breaks a rule (%v) or is not final", h, err)
		}
		p := slices.Clone(out[h.size : h.size+int(h.length)])
		if h.masked {
			refMask(h.key, 0, p)
		}
		frames = append(frames, outFrame{op: h.op, payload: p})
		out = out[h.size+int(h.length):]
	}
	return frames
}

// checkOutput compares what the endpoint wrote with what the model says it
// must write: a pong with the same payload for each ping, an echo of each
// message when echo is set, all in order, then the close frame that ends
// it, as RFC 6455 requires:
//
//   - after the peer's close frame, a close frame in response (Section
//     5.5.1), echoing its code, or with no body when the peer's had none;
//   - after a violation, a close frame with a code the wire allows (Section
//     7.1.7: "SHOULD send a Close frame with an appropriate status code"),
//     the one the read reported;
//   - when the stream ended without a close frame, none: there is nobody
//     left to read it, and the connection is closed with 1006 (Section
//     7.1.5), a code never sent.
func checkOutput(t *testing.T, got []outFrame, want streamResult, readCode frame.CloseCode, echo bool) {
	t.Helper()
	var exp []outFrame
	for _, ev := range want.events {
		switch {
		case ev.kind == evPing:
			exp = append(exp, outFrame{op: 0xA, payload: ev.data})
		case ev.kind == evMessage && echo:
			exp = append(exp, outFrame{op: ev.op, payload: ev.data})
		}
	}
	switch {
	case want.end == endClose && want.code == frame.CloseNoStatus:
		exp = append(exp, outFrame{op: 0x8})
	case want.end == endClose:
		exp = append(exp, outFrame{op: 0x8, payload: binary.BigEndian.AppendUint16(nil, uint16(want.code))})
	}
	if want.end == endViolation && readCode != frame.CloseAbnormal {
		if len(got) == 0 || got[len(got)-1].op != 0x8 {
			t.Fatalf("failed with %v but sent no close frame; output %v", readCode, got)
		}
		last := got[len(got)-1]
		if len(last.payload) < 2 || !utf8.Valid(last.payload[2:]) {
			t.Fatalf("failing close frame % x has no code or a bad reason", last.payload)
		}
		code := frame.CloseCode(binary.BigEndian.Uint16(last.payload))
		if code != readCode || !refCloseCodeValid(uint16(code)) {
			t.Fatalf("failing close frame carries %v, the read reported %v", code, readCode)
		}
		exp = append(exp, outFrame{op: 0x8, payload: last.payload})
	}
	if len(got) != len(exp) {
		t.Fatalf("wrote %d frames %v, want %d %v", len(got), got, len(exp), exp)
	}
	for i := range exp {
		if got[i].op != exp[i].op || string(got[i].payload) != string(exp[i].payload) {
			t.Fatalf("frame %d: wrote op %#x % x, want op %#x % x", i, got[i].op, got[i].payload, exp[i].op, exp[i].payload)
		}
	}
}

// checkEnd compares the error that ended the reads with the model's end,
// and returns the close code the connection reported.
func checkEnd(t *testing.T, err error, want streamResult) frame.CloseCode {
	t.Helper()
	var ce conn.CloseError
	var pe frame.ProtocolError
	switch {
	case errors.As(err, &ce) && ce.Code != frame.CloseAbnormal:
		if want.end != endClose || ce.Code != want.code || ce.Reason != want.reason {
			t.Fatalf("read ended with %v (close %v %q), model: %+v", err, ce.Code, ce.Reason, want)
		}
		return ce.Code
	case errors.As(err, &pe):
		if want.end != endViolation && !want.loose || !slices.Contains(want.codes, pe.Code) {
			t.Fatalf("read ended with %v (code %v), model: %+v", err, pe.Code, want)
		}
		return pe.Code
	case conn.CloseStatus(err) == frame.CloseAbnormal:
		if want.end != endEOF && !(want.end == endViolation && want.eofOK) {
			t.Fatalf("read ended with %v (1006), model: %+v", err, want)
		}
		return frame.CloseAbnormal
	}
	t.Fatalf("read ended with %v: neither a close, a protocol error nor 1006", err)
	return 0
}

// heapAllocBytes returns the bytes allocated on the heap since the program
// started. runtime/metrics reads it without stopping the world.
func heapAllocBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
