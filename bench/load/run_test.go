package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echoCfg(addr string, conns, size int, verify bool) echoConfig {
	return echoConfig{
		dial:  dialConfig{addr: addr, timeout: 5 * time.Second, bufSize: 4096},
		label: "fake", conns: conns, size: size, window: 4,
		// Long enough for the first echo of 64 KiB even under -race on a
		// busy machine: a run with no echo in the window is an error.
		warmup: 0, duration: 500 * time.Millisecond,
		verify: verify, pid: os.Getpid(), grace: 2 * time.Second,
	}
}

func TestEchoCounts(t *testing.T) {
	for _, verify := range []bool{false, true} {
		for _, f := range []fault{faultNone, faultFragment, faultPing} {
			s := startFake(t, f)
			res, err := runEcho(echoCfg(s.addr(), 3, 1000, verify))
			require.NoError(t, err, "fault %d, verify %t", f, verify)
			assert.Positive(t, res.Messages)
			assert.InDelta(t, float64(res.Messages)/res.Seconds, res.MsgsPerSec, 1e-6)
			assert.InDelta(t, res.MsgsPerSec*1000/1e6, res.MBPerSec, 1e-6)
			assert.LessOrEqual(t, res.P50us, res.P99us)
			assert.Positive(t, res.P50us)
			assert.Equal(t, 3, res.CleanCloses, "every connection closes with a handshake")
			// The fake server runs in this process: its CPU is ours.
			assert.Positive(t, res.ServerCPUus)
			if f == faultPing {
				s.mu.Lock()
				assert.Positive(t, s.pongs, "pings are answered")
				s.mu.Unlock()
			}
		}
	}
}

// TestEchoLargeMessages covers the 7-, 16- and 64-bit lengths both ways
// (the fake server frames 65536 bytes with a 64-bit length), in one frame
// and fragmented, once with the sequence number split over the first two
// fragments; verified, and unverified, which from sharedMin bytes on is
// the shared mode. 2048 bytes is 0x0800: a reader that took the opcode
// from the extended length would see a close frame.
func TestEchoLargeMessages(t *testing.T) {
	for _, size := range []int{8, 125, 126, 2048, 65535, 65536} {
		for _, f := range []fault{faultNone, faultFragment, faultSplitSeq} {
			for _, verify := range []bool{true, false} {
				t.Run(fmt.Sprintf("size=%d/fault=%d/verify=%t", size, f, verify), func(t *testing.T) {
					t.Parallel()
					s := startFake(t, f)
					res, err := runEcho(echoCfg(s.addr(), 2, size, verify))
					require.NoError(t, err)
					assert.Positive(t, res.Messages)
					assert.Equal(t, 2, res.CleanCloses)
				})
			}
		}
	}
}

func TestEchoCatchesFaults(t *testing.T) {
	both := []bool{false, true}
	for _, tc := range []struct {
		name   string
		fault  fault
		verify []bool
		want   error
	}{
		{"corrupt-byte-verify", faultCorrupt, []bool{true}, errEcho},
		{"dropped-message", faultDrop, both, errEcho},
		{"5.1/masked-server-frame", faultMask, both, errProtocol},
		{"5.2/rsv1-set", faultRSV, both, errProtocol},
		{"5.2/len64-msb-set", faultLenMSB, both, errProtocol},
		{"wrong-opcode", faultText, both, errEcho},
		{"wrong-sequence", faultSeq, both, errEcho},
		{"short-message", faultShort, both, errEcho},
		{"long-message", faultLong, both, errEcho},
		{"server-close", faultClose, both, errServerClosed},
	} {
		for _, size := range []int{64, 65536} {
			for _, verify := range tc.verify {
				t.Run(fmt.Sprintf("%s/size=%d/verify=%t", tc.name, size, verify), func(t *testing.T) {
					t.Parallel()
					s := startFake(t, tc.fault)
					cfg := echoCfg(s.addr(), 2, size, verify)
					cfg.grace = 300 * time.Millisecond // the dropped echo waits for the deadline
					_, err := runEcho(cfg)
					require.ErrorIs(t, err, tc.want)
				})
			}
		}
	}
}

// TestEchoUnverifiedMissesCorruption shows what -verify adds: without it a
// payload byte past the sequence number goes unchecked, whether the
// payload is read (64 B) or dropped unread (shared mode, 64 KiB).
func TestEchoUnverifiedMissesCorruption(t *testing.T) {
	for _, size := range []int{64, 65536} {
		s := startFake(t, faultCorrupt)
		_, err := runEcho(echoCfg(s.addr(), 2, size, false))
		require.NoError(t, err, "size %d", size)
	}
}

func TestEchoRefusesTinyMessages(t *testing.T) {
	_, err := runEcho(echoCfg("127.0.0.1:1", 1, seqLen-1, false))
	require.Error(t, err)
}

func TestEchoDeadServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = runEcho(echoCfg(addr, 4, 64, false))
	require.Error(t, err)
}

func TestIdle(t *testing.T) {
	s := startFake(t, faultNone)
	const conns, perSource = 12, 5
	n, err := sourcesNeeded(conns, perSource)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	res, err := runIdle(idleConfig{
		dial:  dialConfig{addr: s.addr(), timeout: 5 * time.Second, bufSize: 512, source: sourceFor(perSource)},
		label: "fake", conns: conns, size: 16, pid: os.Getpid(),
		settle: 300 * time.Millisecond, settleMax: 3 * time.Second,
	}, n)
	require.NoError(t, err)
	assert.Equal(t, conns, res.Conns)
	assert.Equal(t, 3, res.Sources)
	assert.Positive(t, res.RSSBefore)
	assert.InDelta(t, float64(res.RSSAfter-res.RSSBefore)/conns, res.KiBPerConn, 1e-9)
	assert.Positive(t, res.Threads)

	s.mu.Lock()
	defer s.mu.Unlock()
	count := map[string]int{}
	for _, ip := range s.remotes {
		count[ip]++
	}
	assert.Equal(t, map[string]int{"127.0.0.2": 5, "127.0.0.3": 5, "127.0.0.4": 2}, count)
}

func TestSourcesNeeded(t *testing.T) {
	n, err := sourcesNeeded(10000, 1000)
	require.NoError(t, err)
	assert.Equal(t, 10, n)
	_, err = sourcesNeeded(254*10, 10)
	require.Error(t, err, "past 127.0.0.254")
	_, err = sourcesNeeded(10, 0)
	require.Error(t, err)
}

func TestRunRefusesRemoteAddress(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:80", "example.com:80", "[2001:db8::1]:80", "nonsense"} {
		called := false
		_, err := run(addr, func() (any, error) { called = true; return nil, nil })
		require.Error(t, err, addr)
		assert.False(t, called, addr)
	}
	_, err := run("[::1]:80", func() (any, error) { return "ok", nil })
	require.NoError(t, err)
}

func TestDescribe(t *testing.T) {
	s := describe(&echoResult{Label: "x", Size: 16, Conns: 50, Window: 4, MsgsPerSec: 1000, ServerCPU: 0.5, ServerCPUus: 6})
	assert.True(t, strings.HasPrefix(s, "x echo 16 B x 50 conns"), s)
	assert.Contains(t, s, "6.00 us/msg")
}

// TestEchoBursts runs the burst mode against the fake server, verified,
// through fragmented echoes and pings on the way.
func TestEchoBursts(t *testing.T) {
	for _, f := range []fault{faultNone, faultFragment, faultPing} {
		s := startFake(t, f)
		cfg := echoCfg(s.addr(), 3, 1000, true)
		cfg.burst = true
		res, err := runEcho(cfg)
		require.NoError(t, err, "fault %d", f)
		assert.True(t, res.Burst)
		assert.Positive(t, res.Messages)
		assert.Equal(t, 3, res.CleanCloses)
	}
	s := startFake(t, faultCorrupt)
	cfg := echoCfg(s.addr(), 2, 64, true)
	cfg.burst = true
	_, err := runEcho(cfg)
	require.ErrorIs(t, err, errEcho, "a burst's echoes are checked as one message's are")
}

// TestBurstIsOneWrite checks that a burst leaves in one write: the server
// gets the window's frames in one read, which is what the row measures.
func TestBurstIsOneWrite(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := newClient(1, a, bufio.NewReader(a), 100, 4, true)
	done := make(chan error, 1)
	go func() { done <- c.sendBurst(0, 4, 4) }()
	// A net.Pipe read returns at most one write's bytes.
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	require.NoError(t, err)
	require.NoError(t, <-done)
	const frameLen = 2 + 4 + 100 // header, masking key, payload
	assert.Equal(t, 4*frameLen, n)
	assert.Equal(t, uint64(4), c.nextSend)
	for i := range 4 {
		f := buf[i*frameLen : (i+1)*frameLen]
		assert.Equal(t, byte(0x80|opBinary), f[0], "frame %d: FIN and binary", i)
		assert.Equal(t, byte(0x80|100), f[1], "frame %d: masked, 100 bytes", i)
	}
}
