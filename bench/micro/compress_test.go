//go:build unix

package micro_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/handshake"
	"duplex/internal/deflate/deflatetest"
)

// agreement is what a permessage-deflate handshake settled, read back from
// the server's Sec-WebSocket-Extensions response as any peer would read it
// (RFC 7692, Section 7.1): a window left unstated is 15 bits.
type agreement struct {
	serverTakeover, clientTakeover bool
	serverBits, clientBits         int
}

func (a agreement) String() string {
	return fmt.Sprintf("server takeover=%v bits=%d, client takeover=%v bits=%d",
		a.serverTakeover, a.serverBits, a.clientTakeover, a.clientBits)
}

// agreed parses the extensions a server's response header accepted.
func agreed(h http.Header) (agreement, error) {
	exts, err := handshake.ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return agreement{}, err
	}
	if len(exts) != 1 {
		return agreement{}, fmt.Errorf("%d extensions agreed, want permessage-deflate alone", len(exts))
	}
	p, err := handshake.ParseDeflateResponse(exts[0])
	if err != nil {
		return agreement{}, err
	}
	bits := func(b int) int {
		if b == 0 {
			return handshake.MaxWindowBits
		}
		return b
	}
	return agreement{
		serverTakeover: !p.ServerNoContextTakeover, clientTakeover: !p.ClientNoContextTakeover,
		serverBits: bits(p.ServerMaxWindowBits), clientBits: bits(p.ClientMaxWindowBits),
	}, nil
}

// echoMode is one set of negotiated parameters, the same in both
// directions, which every contender is configured to agree on.
type echoMode struct {
	name     string
	takeover bool
	bits     int
}

// echoModes: without context takeover at 15 bits, as gorilla and most
// browsers' peers run it; with it at 15 bits; and with it at 12 bits, gws's
// default window under context takeover. The level is 1 (BestSpeed, gws's
// default) for 15-bit windows; a smaller window has no level in either
// library, both using klauspost's flate.NewWriterWindow.
var echoModes = []echoMode{
	{"no-takeover-15", false, 15},
	{"takeover-15", true, 15},
	{"takeover-12", true, 12},
}

func (m echoMode) want() agreement {
	return agreement{serverTakeover: m.takeover, clientTakeover: m.takeover, serverBits: m.bits, clientBits: m.bits}
}

// echoPair is a client connected to an echo server in the same process.
// roundTrip writes msg and returns the echo once it is read whole, valid
// until the next round trip. received counts the bytes the client's
// socket read, the handshake's included.
type echoPair struct {
	agreed    http.Header
	roundTrip func(msg []byte) ([]byte, error)
	close     func()
	received  *atomic.Int64
}

// countingConn counts the bytes read from a client's socket, so that a
// test can tell that the echoes came compressed.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// dialCounting dials addr and counts what is read into n.
func dialCounting(ctx context.Context, addr string, n *atomic.Int64) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return countingConn{nc, n}, nil
}

// echoContender sets up a pair for a mode it supports (nil: all).
type echoContender struct {
	name     string
	setup    func(tb testing.TB, m echoMode) *echoPair
	supports func(m echoMode) bool
}

var echoContenders = []echoContender{
	{"duplex", duplexEcho, nil},
	{"gws", gwsEcho, nil},
	// gorilla negotiates only no context takeover with 15-bit windows.
	{"gorilla", gorillaEcho, func(m echoMode) bool { return !m.takeover && m.bits == 15 }},
}

func (ct echoContender) runs(m echoMode) bool { return ct.supports == nil || ct.supports(m) }

// maxEcho bounds the messages the pairs read into their reused buffers.
const maxEcho = 64 << 10

// readWhole reads a message from r into buf, reused, and returns it.
func readWhole(r io.Reader, buf []byte) ([]byte, error) {
	k := 0
	for {
		n, err := r.Read(buf[k:])
		k += n
		if err == io.EOF {
			return buf[:k], nil
		}
		if err != nil {
			return nil, err
		}
		if k == len(buf) {
			return nil, errors.New("micro: message over the echo buffer")
		}
	}
}

func listenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	return ln
}

// duplexEcho: conn.Accept on a raw listener and conn.Dial, each side
// reading with NextReader into a reused buffer and writing with
// WriteMessage, the allocation-free path conn documents.
func duplexEcho(tb testing.TB, m echoMode) *echoPair {
	tb.Helper()
	opts := &conn.CompressionOptions{
		Level: 1, Threshold: -1,
		NoContextTakeover: !m.takeover, PeerNoContextTakeover: !m.takeover,
		MaxWindowBits: m.bits, PeerMaxWindowBits: m.bits,
	}
	if m.bits == handshake.MaxWindowBits {
		opts.PeerMaxWindowBits = 0 // 15 is the default: ask for nothing
	}
	ln := listenLoopback(tb)
	defer ln.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := conn.Accept(ctx, nc, &conn.AcceptOptions{Options: conn.Options{Compression: opts}})
		if err != nil {
			_ = nc.Close()
			return
		}
		defer s.CloseNow()
		buf := make([]byte, maxEcho+1)
		for {
			typ, r, err := s.NextReader(ctx)
			if err != nil {
				return
			}
			p, err := readWhole(r, buf)
			if err != nil || s.WriteMessage(ctx, typ, p) != nil {
				return
			}
		}
	}()
	received := new(atomic.Int64)
	c, resp, err := conn.Dial(ctx, "ws://"+ln.Addr().String()+"/", &conn.DialOptions{
		Options: conn.Options{Compression: opts},
		NetDial: func(ctx context.Context, _, addr string) (net.Conn, error) { return dialCounting(ctx, addr, received) },
	})
	if err != nil {
		wg.Wait()
		require.NoError(tb, err)
	}
	buf := make([]byte, maxEcho+1)
	return &echoPair{
		agreed:   resp.Header,
		received: received,
		roundTrip: func(msg []byte) ([]byte, error) {
			if err := c.WriteMessage(ctx, conn.MessageText, msg); err != nil {
				return nil, err
			}
			_, r, err := c.NextReader(ctx)
			if err != nil {
				return nil, err
			}
			return readWhole(r, buf)
		},
		close: func() {
			_ = c.CloseNow()
			wg.Wait()
		},
	}
}

// gwsServer echoes from OnMessage and returns the pooled message, as the
// harness's gws server does.
type gwsServer struct{ gws.BuiltinEventHandler }

func (gwsServer) OnMessage(c *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	_ = c.WriteMessage(msg.Opcode, msg.Bytes())
}

// gwsClient hands each message to the waiting round trip, which returns
// it to gws's pool at the next.
type gwsClient struct {
	gws.BuiltinEventHandler
	got chan *gws.Message
}

func (h gwsClient) OnMessage(_ *gws.Conn, msg *gws.Message) { h.got <- msg }

// gwsEcho: gws's Upgrader on a raw listener (what its Server does, minus
// the accept loop, which never stops) and gws.NewClient, on gws's event
// API. Its compressor pool is left at its default (32 shared by the
// server's connections); the client has its own.
func gwsEcho(tb testing.TB, m echoMode) *echoPair {
	tb.Helper()
	pd := gws.PermessageDeflate{
		Enabled: true, Level: 1,
		ServerContextTakeover: m.takeover, ClientContextTakeover: m.takeover,
		ServerMaxWindowBits: m.bits, ClientMaxWindowBits: m.bits,
	}
	ln := listenLoopback(tb)
	defer ln.Close()
	up := gws.NewUpgrader(gwsServer{}, &gws.ServerOption{PermessageDeflate: pd})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReaderSize(nc, 4096)
		req, err := http.ReadRequest(br)
		if err != nil {
			_ = nc.Close()
			return
		}
		s, err := up.UpgradeFromConn(nc, br, req)
		if err != nil {
			_ = nc.Close()
			return
		}
		s.ReadLoop()
	}()
	h := gwsClient{got: make(chan *gws.Message, 1)}
	received := new(atomic.Int64)
	nc, err := dialCounting(context.Background(), ln.Addr().String(), received)
	require.NoError(tb, err)
	c, resp, err := gws.NewClientFromConn(h, &gws.ClientOption{Addr: "ws://" + ln.Addr().String() + "/", PermessageDeflate: pd}, nc)
	if err != nil {
		_ = nc.Close()
		wg.Wait()
		require.NoError(tb, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.ReadLoop()
		close(h.got)
	}()
	var last *gws.Message
	return &echoPair{
		agreed:   resp.Header,
		received: received,
		roundTrip: func(msg []byte) ([]byte, error) {
			if last != nil {
				last.Close()
				last = nil
			}
			if err := c.WriteMessage(gws.OpcodeText, msg); err != nil {
				return nil, err
			}
			m, ok := <-h.got
			if !ok {
				return nil, io.ErrUnexpectedEOF
			}
			last = m
			return m.Bytes(), nil
		},
		close: func() {
			_ = c.NetConn().Close()
			wg.Wait()
		},
	}
}

// gorillaEcho: gorilla's Upgrader behind net/http and its Dialer, both with
// compression enabled at level 1 (compress/flate), reading with NextReader
// into a reused buffer.
func gorillaEcho(tb testing.TB, m echoMode) *echoPair {
	tb.Helper()
	ln := listenLoopback(tb)
	up := websocket.Upgrader{EnableCompression: true}
	var wg sync.WaitGroup
	srv := &http.Server{
		ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			wg.Add(1)
			defer wg.Done()
			defer s.Close()
			_ = s.SetCompressionLevel(1)
			buf := make([]byte, maxEcho+1)
			for {
				typ, r, err := s.NextReader()
				if err != nil {
					return
				}
				p, err := readWhole(r, buf)
				if err != nil || s.WriteMessage(typ, p) != nil {
					return
				}
			}
		}),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	stop := func() {
		_ = srv.Close()
		<-served
	}
	received := new(atomic.Int64)
	d := websocket.Dialer{EnableCompression: true,
		NetDialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return dialCounting(ctx, addr, received) }}
	c, resp, err := d.Dial("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		stop()
		require.NoError(tb, err)
	}
	_ = c.SetCompressionLevel(1)
	buf := make([]byte, maxEcho+1)
	return &echoPair{
		agreed:   resp.Header,
		received: received,
		roundTrip: func(msg []byte) ([]byte, error) {
			if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
				return nil, err
			}
			_, r, err := c.NextReader()
			if err != nil {
				return nil, err
			}
			return readWhole(r, buf)
		},
		close: func() {
			_ = c.Close()
			stop()
			wg.Wait()
		},
	}
}

// echoSizes: a chat room's batch of JSON messages and a large document.
var echoSizes = []int{4 << 10, 64 << 10}

// TestCompressedEchoAgrees checks what BenchmarkCompressedEcho relies on:
// every contender agrees on each mode's parameters, as its server's
// response states them, and echoes each message intact and compressed
// (chat-like JSON comes out at about a quarter of its size: what the
// client reads must be under half of it).
func TestCompressedEchoAgrees(t *testing.T) {
	for _, m := range echoModes {
		for _, ct := range echoContenders {
			if !ct.runs(m) {
				continue
			}
			t.Run(m.name+"/"+ct.name, func(t *testing.T) {
				p := ct.setup(t, m)
				defer p.close()
				a, err := agreed(p.agreed)
				require.NoError(t, err)
				assert.Equal(t, m.want(), a, "negotiated")
				start, plain := p.received.Load(), 0
				for _, size := range echoSizes {
					for _, msg := range deflatetest.Messages(size)[:3] {
						echo, err := p.roundTrip(msg)
						require.NoError(t, err)
						assert.True(t, bytes.Equal(msg, echo), "echo of %d bytes differs from the %d sent", len(echo), len(msg))
						plain += len(msg)
					}
				}
				wire := p.received.Load() - start
				assert.Less(t, wire, int64(plain/2), "bytes read for %d bytes of echoes", plain)
			})
		}
	}
}

// BenchmarkCompressedEcho measures a compressed round trip of chat-like
// JSON, a client writing and reading back what the server echoes, each
// library against itself over loopback TCP in this process, under the
// same negotiated parameters (echoModes, checked on every run). The
// messages cycle through different ones, so that context takeover finds
// history but never the same message. ns/op is one round trip: four
// compressions or inflations, two each way. Run it with
//
//	cd bench && go test -run='^$' -bench='^BenchmarkCompressedEcho$' -benchmem -count=6 ./micro > echo.txt
//	benchstat -col /lib echo.txt
func BenchmarkCompressedEcho(b *testing.B) {
	for _, m := range echoModes {
		for _, size := range echoSizes {
			msgs := deflatetest.Messages(size)
			for _, ct := range echoContenders {
				if !ct.runs(m) {
					continue
				}
				b.Run(fmt.Sprintf("mode=%s/size=%dKiB/lib=%s", m.name, size>>10, ct.name), func(b *testing.B) {
					p := ct.setup(b, m)
					defer p.close()
					a, err := agreed(p.agreed)
					require.NoError(b, err)
					require.Equal(b, m.want(), a, "negotiated")
					b.SetBytes(int64(size))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						msg := msgs[i%len(msgs)]
						echo, err := p.roundTrip(msg)
						if err != nil {
							b.Fatal(err)
						}
						if len(echo) != len(msg) {
							b.Fatalf("echo of %d bytes, sent %d", len(echo), len(msg))
						}
						i++
					}
				})
			}
		}
	}
}

// BenchmarkCompressedEchoRatio runs the pairs of BenchmarkCompressedEcho
// interleaved: each iteration makes one round trip on every contender's
// pair, in an order that rotates, timing each. On a shared machine whose
// load drifts within seconds, this puts every contender under the same
// load, so the ratios hold where separate runs' absolute times do not.
// It reports each contender's mean wall time per round trip (lib-µs/rt),
// the process CPU time per round trip (lib-cpu-µs/rt: both ends run in
// this process, one after the other), and duplex's times over gws's.
// ns/op is the sum over the contenders. Run it with
//
//	cd bench && go test -run='^$' -bench=CompressedEchoRatio -count=6 ./micro
func BenchmarkCompressedEchoRatio(b *testing.B) {
	for _, m := range echoModes {
		for _, size := range echoSizes {
			msgs := deflatetest.Messages(size)
			b.Run(fmt.Sprintf("mode=%s/size=%dKiB", m.name, size>>10), func(b *testing.B) {
				var names []string
				var pairs []*echoPair
				for _, ct := range echoContenders {
					if !ct.runs(m) {
						continue
					}
					p := ct.setup(b, m)
					defer p.close()
					a, err := agreed(p.agreed)
					require.NoError(b, err)
					require.Equal(b, m.want(), a, "negotiated by %s", ct.name)
					names = append(names, ct.name)
					pairs = append(pairs, p)
				}
				wall := make([]time.Duration, len(pairs))
				cpu := make([]time.Duration, len(pairs))
				i := 0
				for b.Loop() {
					msg := msgs[i%len(msgs)]
					for k := range pairs {
						j := (i + k) % len(pairs)
						c0, t0 := processCPU(), time.Now()
						echo, err := pairs[j].roundTrip(msg)
						wall[j] += time.Since(t0)
						cpu[j] += processCPU() - c0
						if err != nil {
							b.Fatal(err)
						}
						if len(echo) != len(msg) {
							b.Fatalf("%s: echo of %d bytes, sent %d", names[j], len(echo), len(msg))
						}
					}
					i++
				}
				for j, name := range names {
					b.ReportMetric(float64(wall[j].Microseconds())/float64(i), name+"-µs/rt")
					b.ReportMetric(float64(cpu[j].Microseconds())/float64(i), name+"-cpu-µs/rt")
				}
				// names[0] is duplex, names[1] gws.
				b.ReportMetric(float64(wall[0])/float64(wall[1]), "duplex/gws")
				b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "duplex/gws-cpu")
			})
		}
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
