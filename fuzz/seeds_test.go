package fuzz_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

// unhex decodes hex with spaces, for byte strings copied from the RFC.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// rfcFrames are the examples of RFC 6455, Section 5.7, with the role that
// receives them.
func rfcFrames(tb testing.TB) map[string]struct {
	wire []byte
	to   frame.Role
} {
	big := func(hdr string, n int) []byte { return append(unhex(tb, hdr), make([]byte, n)...) }
	return map[string]struct {
		wire []byte
		to   frame.Role
	}{
		"5.7/unmasked-text":     {unhex(tb, "81 05 48 65 6c 6c 6f"), frame.RoleClient},
		"5.7/masked-text":       {unhex(tb, "81 85 37 fa 21 3d 7f 9f 4d 51 58"), frame.RoleServer},
		"5.7/fragmented-text":   {unhex(tb, "01 03 48 65 6c 80 02 6c 6f"), frame.RoleClient},
		"5.7/unmasked-ping":     {unhex(tb, "89 05 48 65 6c 6c 6f"), frame.RoleClient},
		"5.7/masked-pong":       {unhex(tb, "8a 85 37 fa 21 3d 7f 9f 4d 51 58"), frame.RoleServer},
		"5.7/binary-256":        {big("82 7E 01 00", 256), frame.RoleClient},
		"5.7/binary-64KiB-head": {big("82 7F 00 00 00 00 00 01 00 00", 16), frame.RoleClient},
	}
}

// duplexTraffic returns what duplex's own endpoint of role from writes for
// a short session: messages of both types, one fragmented, a ping, a pong
// and a close. A client's frames feed a server and the other way round.
func duplexTraffic(tb testing.TB, from frame.Role) []byte {
	tb.Helper()
	nc := newMemConn(nil)
	c := conn.New(nc, nil, from, &conn.Options{FragmentSize: 8})
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			tb.Fatalf("writing seed traffic: %v", err)
		}
	}
	must(c.WriteMessage(ctx, conn.MessageText, []byte("Hello, κόσμε")))
	must(c.WriteMessage(ctx, conn.MessageBinary, []byte{0, 1, 2, 0xFF}))
	w, err := c.NextWriter(ctx, conn.MessageText)
	must(err)
	_, err = w.Write([]byte("a message of several fragments"))
	must(err)
	must(w.Close())
	must(c.Ping(ctx, []byte("ping")))
	must(c.Pong(ctx, nil))
	_ = c.Close(frame.CloseNormal, "bye") // the peer never answers: the memConn ends
	return nc.written()
}

// addStreamSeeds seeds a frame-stream target whose arguments are
// (stream, client role, limit and read mode selector).
func addStreamSeeds(f *testing.F) {
	for _, fr := range rfcFrames(f) {
		f.Add(fr.wire, fr.to == frame.RoleClient, uint16(1))
	}
	f.Add(duplexTraffic(f, frame.RoleClient), false, uint16(1))
	f.Add(duplexTraffic(f, frame.RoleServer), true, uint16(1))
	f.Add(duplexTraffic(f, frame.RoleClient), false, uint16(8<<2|2))  // limit 9: some messages too big
	f.Add(duplexTraffic(f, frame.RoleClient), false, uint16(1<<14|1)) // NextReader in chunks
	f.Add(duplexTraffic(f, frame.RoleServer), true, uint16(2<<14|1))  // only the start of each message
	for _, s := range []string{
		"83 80 00 00 00 00",                         // 5.2/reserved-opcode
		"c1 80 00 00 00 00",                         // 5.2/rsv1
		"82 ff 80 00 00 00 00 00 00 00 01 02 03 04", // 5.2/len127-msb-set
		"82 fe 00 05 01 02 03 04 01 02 03 04 05",    // 5.2/len126-non-minimal
		"09 80 00 00 00 00",                         // 5.5/ping-not-fin
		"89 fe 00 7e 00 00 00 00",                   // 5.5/ping-126-bytes
		"80 80 00 00 00 00",                         // 5.4/continuation-first
		"01 81 00 00 00 00 41 01 80 00 00 00 00",    // 5.4/text-inside-message
		"81 82 00 00 00 00 ce ba",                   // 8.1/valid-greek-kappa
		"81 81 00 00 00 00 c0",                      // 8.1/overlong-lead
		"01 81 00 00 00 00 e2 89 80 00 00 00 00",    // 8.1/cut-sequence-then-ping-order
		"88 82 00 00 00 00 03 e8",                   // 5.5.1/close-1000
		"88 81 00 00 00 00 03",                      // 5.5.1/close-1-byte
		"88 82 00 00 00 00 03 ed",                   // 7.4/close-1005-on-wire
		"88 83 00 00 00 00 03 e8 ff",                // 5.5.1/close-reason-not-utf8
	} {
		f.Add(unhex(f, s), false, uint16(1))
	}
}
