package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func bcastCfg(addr string, conns int, deflate bool) bcastConfig {
	return bcastConfig{
		dial:  dialConfig{addr: addr, timeout: 5 * time.Second, bufSize: 2048, deflate: deflate, source: sourceFor(4)},
		label: "fake", conns: conns, size: 1024, rounds: 4, warmup: 1,
		pid: os.Getpid(), timeout: 2 * time.Second,
	}
}

func TestBroadcast(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   roomFault
		deflate bool
	}{
		{"plain", roomNone, false},
		{"deflate", roomNone, true},
		{"5.4/fragmented", roomFragment, false},
		{"7692-6.1/fragmented-deflate", roomFragment, true},
		{"5.5.2/pings", roomPing, true},
		{"late-join", roomSlowJoin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRoom(t, tc.fault)
			const conns = 10
			n, err := sourcesNeeded(conns+1, 4)
			require.NoError(t, err)
			res, err := runBroadcast(bcastCfg(s.addr(), conns, tc.deflate), n)
			require.NoError(t, err)
			assert.Equal(t, "broadcast", res.Mode)
			assert.Equal(t, conns, res.Conns)
			assert.Equal(t, 3, res.Sources)
			assert.Equal(t, 4, res.Rounds)
			assert.Equal(t, tc.deflate, res.Deflate)
			assert.Equal(t, conns+1, res.CleanCloses, "every connection closes with a handshake")
			assert.Positive(t, res.ArrivalP50ms)
			assert.LessOrEqual(t, res.ArrivalP50ms, res.ArrivalP99ms*1.005) // histogram buckets
			assert.LessOrEqual(t, res.LastMedianms, res.ArrivalMaxms)
			assert.LessOrEqual(t, res.ArrivalP99ms, res.ArrivalMaxms*1.005)
			if tc.deflate {
				assert.Less(t, res.WireBytes, 1024, "chat-like text compresses")
			} else {
				assert.Equal(t, 1024, res.WireBytes)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			assert.Equal(t, 5, s.rounds, "one warmup round and four measured")
		})
	}
}

func TestBroadcastCatchesFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   roomFault
		deflate bool
		want    error
	}{
		{"dropped-copy", roomDrop, false, errBroadcast},
		{"corrupt-byte", roomCorrupt, false, errBroadcast},
		{"corrupt-byte-deflate", roomCorrupt, true, errBroadcast},
		{"duplicate", roomDuplicate, false, errBroadcast},
		{"extra-after-last", roomExtra, false, errBroadcast},
		{"binary-for-text", roomBinary, false, errBroadcast},
		{"never-joined", roomNeverJoin, false, errJoin},
		{"7692-7/declined", roomDecline, true, errHandshake},
		{"7692-7.1.1.1/no-server-no-context-takeover", roomTakeover, true, errHandshake},
		{"7692-7.1.2.2/client-bits-not-offered", roomClientBits, true, errHandshake},
		{"uncompressed-under-deflate", roomPlainUnderDef, true, errBroadcast},
		{"7692-7.2/history-used", roomHistory, true, errBroadcast},
		{"5.2/rsv1-not-negotiated", roomCompressedRSV, false, errProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRoom(t, tc.fault)
			cfg := bcastCfg(s.addr(), 4, tc.deflate)
			cfg.timeout = 500 * time.Millisecond // a dropped copy waits for it
			if tc.fault == roomExtra {
				cfg.rounds = faultRound // round 2 is the last
			}
			_, err := runBroadcast(cfg, 1)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestBroadcastRefusesBadConfig(t *testing.T) {
	for _, mod := range []func(*bcastConfig){
		func(c *bcastConfig) { c.size = minBcastSize - 1 },
		func(c *bcastConfig) { c.rounds = 0 },
		func(c *bcastConfig) { c.warmup = -1 },
		func(c *bcastConfig) { c.conns = 0 },
	} {
		cfg := bcastCfg("127.0.0.1:1", 1, false)
		mod(&cfg)
		_, err := runBroadcast(cfg, 1)
		require.Error(t, err)
	}
}

func TestBcastPayload(t *testing.T) {
	for _, size := range []int{minBcastSize, 100, 1024, 4096} {
		for round := range 3 {
			p := bcastPayload(round, size)
			require.Len(t, p, size)
			assert.True(t, utf8.Valid(p))
			assert.True(t, bytes.HasPrefix(p, []byte(`{"round":`)))
			assert.True(t, bytes.HasSuffix(p, []byte(`"}`)))
			assert.Equal(t, p, bcastPayload(round, size), "deterministic")
		}
		assert.NotEqual(t, bcastPayload(0, size), bcastPayload(1, size))
	}
	// As compressible as chat: well under half its size at level 1.
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, 1)
	require.NoError(t, err)
	_, _ = w.Write(bcastPayload(0, 1024))
	require.NoError(t, w.Close())
	assert.Less(t, buf.Len(), 512)
}

func TestInflate(t *testing.T) {
	want := bcastPayload(7, 1024)
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, 1)
	require.NoError(t, err)
	_, _ = w.Write(want)
	require.NoError(t, w.Flush())
	// RFC 7692, Section 7.2.1: the sender drops the last four bytes.
	compressed := bytes.TrimSuffix(buf.Bytes(), deflateTail)
	require.Len(t, compressed, buf.Len()-4)

	got, err := inflate(nil, compressed, len(want))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	// The buffer is reused.
	again, err := inflate(got, compressed, len(want))
	require.NoError(t, err)
	assert.Same(t, &got[0], &again[0])

	_, err = inflate(nil, compressed, len(want)-1)
	require.ErrorIs(t, err, errBroadcast, "past the limit")
	_, err = inflate(nil, []byte{0xff, 0xff, 0xff}, len(want))
	require.ErrorIs(t, err, errBroadcast, "not DEFLATE")
}

func TestCheckDeflateResponse(t *testing.T) {
	for _, ok := range []string{
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		"Permessage-Deflate;Server_No_Context_Takeover;server_max_window_bits=10",
		`permessage-deflate; server_no_context_takeover; server_max_window_bits="15"`,
	} {
		require.NoError(t, checkDeflateResponse(ok), ok)
	}
	for _, bad := range []string{
		"",
		"permessage-deflate", // 7.1.1.1: context takeover kept
		"x-webkit-deflate-frame; server_no_context_takeover", // not offered
		"permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover=1",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=7",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=010",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
		"permessage-deflate; server_no_context_takeover; foo",
	} {
		require.ErrorIs(t, checkDeflateResponse(bad), errHandshake, bad)
	}
}

// TestReadMessageRSV covers the reserved bits of RFC 6455, Section 5.2 and
// RFC 7692, Section 6: RSV1 on the first frame of a message only, when
// compression was negotiated; never RSV2, RSV3, or RSV1 on a control frame.
func TestReadMessageRSV(t *testing.T) {
	p := []byte("payload")
	for _, tc := range []struct {
		name    string
		in      []byte
		deflate bool
	}{
		{"5.2/rsv2", serverFrame(0xA1, p), true},
		{"5.2/rsv3", serverFrame(0x91, p), true},
		{"7692-6/rsv1-without-deflate", serverFrame(0xC1, p), false},
		{"7692-6.1/rsv1-on-continuation", append(serverFrame(0x41, p), serverFrame(0xC0, p)...), true},
		{"7692-6/rsv1-on-ping", serverFrame(0xC9, p), true},
		{"5.4/continuation-first", serverFrame(0x80, p), false},
		{"5.4/text-inside-text", append(serverFrame(0x01, p), serverFrame(0x81, p)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readers(t, tc.in, func(t *testing.T, br *bufio.Reader) {
				c := &client{br: br}
				_, _, _, err := c.readMessage(tc.deflate, 1024)
				require.ErrorIs(t, err, errProtocol)
			})
		})
	}
	readers(t, append(serverFrame(0x41, p[:3]), serverFrame(0x80, p[3:])...), func(t *testing.T, br *bufio.Reader) {
		c := &client{br: br}
		op, compressed, got, err := c.readMessage(true, 1024)
		require.NoError(t, err)
		assert.Equal(t, opText, op)
		assert.True(t, compressed)
		assert.Equal(t, p, got)
	})
	readers(t, serverFrame(0x81, make([]byte, 300)), func(t *testing.T, br *bufio.Reader) {
		c := &client{br: br}
		_, _, _, err := c.readMessage(false, 299)
		require.ErrorIs(t, err, errBroadcast, "over the limit")
	})
}

func TestParseMembers(t *testing.T) {
	n, ok := parseMembers([]byte("members 10001"))
	assert.True(t, ok)
	assert.Equal(t, 10001, n)
	for _, bad := range []string{"members", "members -1", "members x", "10001", "member 1"} {
		_, ok := parseMembers([]byte(bad))
		assert.False(t, ok, bad)
	}
}

func TestBcastResult(t *testing.T) {
	r := &bcastRun{cfg: bcastConfig{conns: 99, rounds: 4, warmup: 1, size: 1024, pid: 1}}
	r.last = make([]atomic.Int64, 5)
	for i, ms := range []int64{100, 4, 2, 3, 10} { // round 0 is the warmup
		r.last[i].Store(ms * int64(time.Millisecond))
	}
	t0 := time.Now()
	m0 := cpuMark{at: t0, server: 1.0, client: 0.5}
	m1 := cpuMark{at: t0.Add(2 * time.Second), server: 1.2, client: 0.9}
	res := r.result(m0, m1, 1, 100)
	assert.InDelta(t, 10, res.ArrivalMaxms, 1e-9, "the slowest measured round")
	assert.InDelta(t, 3.5, res.LastMedianms, 1e-9, "median of 4, 2, 3, 10")
	assert.InDelta(t, 50, res.ServerCPUms, 1e-9, "0.2 s over 4 rounds")
	assert.InDelta(t, 500, res.ServerCPUus, 1e-9, "0.2 s over 4 rounds of 100 deliveries")
	assert.InDelta(t, 0.1, res.ServerCPU, 1e-9)
	assert.InDelta(t, 0.2, res.LoadCPU, 1e-9)
}

func TestDescribeBroadcast(t *testing.T) {
	s := describe(&bcastResult{Label: "x", Size: 1024, Deflate: true, WireBytes: 300, Conns: 10000, Rounds: 3,
		LastMedianms: 40, ServerCPU: 0.9, ServerCPUms: 30})
	assert.True(t, strings.HasPrefix(s, "x broadcast 1024 B (deflate, 300 B on the wire) to 10000 conns"), s)
	assert.Contains(t, s, "30.00 ms/broadcast")
}
