package fuzz_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

// deflated compresses messages the way a permessage-deflate sender does
// (RFC 7692, Section 7.2.1): one sync flush per message, its final 0x00
// 0x00 0xff 0xff removed, the history kept across messages.
func deflated(tb testing.TB, msgs ...string) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		buf.Reset()
		_, _ = w.Write([]byte(m))
		_ = w.Flush()
		out = append(out, bytes.TrimSuffix(bytes.Clone(buf.Bytes()), []byte{0, 0, 0xff, 0xff}))
	}
	return out
}

// bomb returns a message of n zero bytes compressed as far as DEFLATE
// goes (about 1000 to 1). At 8 MiB it fits the wire size a limit of 8 KiB
// lets through, and inflates past allocSlack: a reader that inflated a
// message before checking its size would fail the allocation bound.
func bomb(tb testing.TB, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = w.Write(make([]byte, n))
	_ = w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// maskedFrame builds a client frame with the RFC 5.7 example key.
func maskedFrame(fin, rsv1 bool, op frame.Opcode, payload []byte) []byte {
	h := frame.Header{Fin: fin, RSV1: rsv1, Opcode: op, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: int64(len(payload))}
	b := frame.AppendHeader(nil, h)
	p := bytes.Clone(payload)
	frame.Mask(h.MaskKey, 0, p)
	return append(b, p...)
}

// FuzzReadCompressed is the deflate target: a server that agreed on
// permessage-deflate (RFC 7692) with a client, with or without the
// client's context takeover, reads arbitrary bytes under a small read
// limit. No input inflates past the limit: no message is longer, and the
// heap allocated stays bounded by it, whatever a small frame inflates to.
// Every message it delivers is what compress/flate inflates the frames to
// (with the previous messages as history under context takeover); valid
// streams are read exactly as the reference reads them, pings answered,
// and the stream ends with the close frame the rules require.
func FuzzReadCompressed(f *testing.F) {
	ms := deflated(f, "Hello", "Hello, Hello, Hello", strings.Repeat("κόσμε ", 50))
	var stream []byte
	for _, m := range ms {
		stream = append(stream, maskedFrame(true, true, frame.OpText, m)...)
	}
	f.Add(stream, false, uint16(4096))
	f.Add(append(maskedFrame(false, true, frame.OpBinary, ms[2][:5]), maskedFrame(true, false, frame.OpContinuation, ms[2][5:])...), true, uint16(400))
	f.Add(maskedFrame(true, true, frame.OpText, deflated(f, strings.Repeat("\x00", 1<<20))[0]), true, uint16(1000)) // a bomb
	f.Add(maskedFrame(true, true, frame.OpBinary, bomb(f, 8<<20)), false, uint16(8191))
	f.Add(maskedFrame(true, true, frame.OpText, []byte{0xff, 0xff}), false, uint16(100))
	f.Add(append(maskedFrame(true, false, frame.OpText, []byte("plain")), maskedFrame(true, true, frame.OpPing, nil)...), false, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, noTakeover bool, limSel uint16) {
		defer watchdog("FuzzReadCompressed", data)()
		lim := 1 + int64(limSel%8192)
		offer := "permessage-deflate; client_max_window_bits"
		if noTakeover {
			offer += "; client_no_context_takeover"
		}
		req := strings.Replace(validRequest, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: "+offer+"\r\n\r\n", 1)
		want := modelStreamWith(data, frame.RoleServer, lim, &deflateModel{takeover: !noTakeover})

		rd := streamRead{slack: allocSlack}
		nc := newMemConn(append([]byte(req), data...))
		before := heapAllocBytes()
		c, err := conn.Accept(context.Background(), nc, &conn.AcceptOptions{Options: conn.Options{
			ReadLimit:   lim,
			Compression: &conn.CompressionOptions{},
			OnPing:      func(p []byte) { rd.control = append(rd.control, event{kind: evPing, data: bytes.Clone(p)}) },
			OnPong:      func(p []byte) { rd.control = append(rd.control, event{kind: evPong, data: bytes.Clone(p)}) },
		}})
		if err != nil {
			t.Fatalf("handshake offering %q refused: %v", offer, err)
		}
		if p, ok := c.Compression(); !ok || p.ClientNoContextTakeover != noTakeover || p.ClientMaxWindowBits > 0 && p.ClientMaxWindowBits < 15 {
			t.Fatalf("agreed %+v, %v for the offer %q", p, ok, offer)
		}
		readStream(c, readWhole, &rd)
		rd.allocated = heapAllocBytes() - before

		br := bufio.NewReader(bytes.NewReader(nc.written()))
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("no 101 response: %v", err)
		}
		out, _ := io.ReadAll(br)
		checkStreamRead(t, c, nc, out, frame.RoleServer, lim, readWhole, &rd, want, len(data))
	})
}
