package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/internal/deflate/deflatetest"
)

var compressBenchSizes = []int{128, 16 << 10, 64 << 10}

// compressModes are the write-side settings the benchmarks compare.
var compressModes = []struct {
	name string
	opts *conn.CompressionOptions
}{
	{"off", nil},
	{"deflate", &conn.CompressionOptions{Threshold: -1}},
	{"deflate-no-takeover", &conn.CompressionOptions{Threshold: -1, NoContextTakeover: true}},
	{"deflate-level-1", &conn.CompressionOptions{Threshold: -1, Level: 1}},
}

// BenchmarkCompressedWrite measures WriteMessage of chat-like text by a
// server whose peer discards what it receives, with and without
// compression. MB/s counts the message bytes before compression.
func BenchmarkCompressedWrite(b *testing.B) {
	for _, mode := range compressModes {
		for _, n := range compressBenchSizes {
			b.Run(mode.name+"/"+sizeName(n), func(b *testing.B) {
				s, peer, _ := compressedRaw(b, "permessage-deflate; client_max_window_bits",
					&conn.Options{Compression: mode.opts})
				done := make(chan int64)
				go func() {
					k, _ := io.Copy(io.Discard, peer.br)
					done <- k
				}()
				msg := chatText(n)
				ctx := context.Background()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := s.WriteMessage(ctx, conn.MessageText, msg); err != nil {
						b.Fatal(err)
					}
				}
				_ = s.CloseNow()
				wire := <-done
				b.ReportMetric(float64(wire)/float64(b.N), "wire-B/op")
			})
		}
	}
}

// BenchmarkCompressedRead measures ReadMessage of chat-like text from a
// client that sends it compressed without context takeover (so the same
// frames can be replayed), next to the same text uncompressed.
func BenchmarkCompressedRead(b *testing.B) {
	for _, compressed := range []bool{false, true} {
		for _, n := range compressBenchSizes {
			name := map[bool]string{false: "off", true: "deflate"}[compressed] + "/" + sizeName(n)
			b.Run(name, func(b *testing.B) {
				opts := &conn.Options{ReadBufferSize: 64 << 10}
				if compressed {
					opts.Compression = &conn.CompressionOptions{}
				}
				s, peer, _ := compressedRaw(b, "permessage-deflate; client_no_context_takeover", opts)
				msg := chatText(n)
				payload := msg
				if compressed {
					payload = deflateRaw(b, msg)[0]
				}
				one := wireRSV1(frame.OpText, true, compressed, payload)
				batch := bytes.Repeat(one, max(1, (256<<10)/len(one)))
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := peer.nc.Write(batch); err != nil {
							return
						}
					}
				}()
				ctx := context.Background()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := s.ReadMessage(ctx); err != nil {
						b.Fatal(err)
					}
				}
				close(stop)
				_ = s.CloseNow()
				_ = peer.nc.Close()
				wg.Wait()
			})
		}
	}
}

// idleConns is how many connection pairs BenchmarkIdleMemory holds open.
const idleConns = 10000

// BenchmarkIdleMemory opens idleConns connection pairs over net.Pipe with
// Accept and Dial, exchanges one 200-byte text message each way (above the
// compression threshold), then reports the live heap per pair: both
// endpoints with their buffers and the in-memory pipe. Run it with
// -benchtime=1x; every iteration builds the whole set.
func BenchmarkIdleMemory(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts *conn.CompressionOptions
	}{
		{"off", nil},
		{"deflate", &conn.CompressionOptions{}},
		{"deflate-window-10", &conn.CompressionOptions{MaxWindowBits: 10, PeerMaxWindowBits: 10}},
		{"deflate-no-takeover", &conn.CompressionOptions{NoContextTakeover: true, PeerNoContextTakeover: true}},
	} {
		for _, traffic := range []int{200, 48 << 10} {
			b.Run(fmt.Sprintf("%s/after-%s", mode.name, sizeName(traffic)), func(b *testing.B) {
				for b.Loop() {
					perPair := idleMemory(b, mode.opts, traffic)
					b.ReportMetric(perPair, "B/pair")
				}
			})
		}
	}
}

func idleMemory(b *testing.B, opts *conn.CompressionOptions, traffic int) float64 {
	n := idleConns
	if traffic > 1<<10 {
		n = idleConns / 10 // the same per-pair figure for a tenth of the traffic
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pairs := make([][2]*conn.Conn, 0, n)
	msg := chatText(200)
	ctx := context.Background()
	for range n {
		cn, sn := net.Pipe()
		ch := make(chan *conn.Conn, 1)
		go func() {
			s, err := conn.Accept(ctx, sn, &conn.AcceptOptions{Options: conn.Options{Compression: opts}})
			if err != nil {
				ch <- nil
				return
			}
			ch <- s
		}()
		c, _, err := conn.Dial(ctx, "ws://pipe.test/", &conn.DialOptions{
			NetDial: func(context.Context, string, string) (net.Conn, error) { return cn, nil },
			Options: conn.Options{Compression: opts},
		})
		require.NoError(b, err)
		s := <-ch
		require.NotNil(b, s)
		for sent := 0; sent < traffic; sent += len(msg) {
			exchange(b, c, s, msg)
			exchange(b, s, c, msg)
		}
		pairs = append(pairs, [2]*conn.Conn{c, s})
	}
	// Two collections empty the pools (sync.Pool keeps what it held for one
	// more): they serve every connection, and idle ones borrow nothing.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perPair := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	for _, p := range pairs {
		_ = p[0].CloseNow()
		_ = p[1].CloseNow()
	}
	return perPair
}

// exchange sends msg from one end and reads it at the other; net.Pipe is
// synchronous, so the read runs alongside.
func exchange(b *testing.B, from, to *conn.Conn, msg []byte) {
	got := make(chan error, 1)
	go func() {
		_, _, err := to.ReadMessage(context.Background())
		got <- err
	}()
	require.NoError(b, from.WriteMessage(context.Background(), conn.MessageText, msg))
	require.NoError(b, <-got)
}

// echoModes are the negotiated parameters BenchmarkCompressedEcho compares,
// both sides alike, at level 1.
var echoModes = []struct {
	name string
	opts conn.CompressionOptions
}{
	{"no-takeover", conn.CompressionOptions{Level: 1, Threshold: -1, NoContextTakeover: true, PeerNoContextTakeover: true}},
	{"takeover-15", conn.CompressionOptions{Level: 1, Threshold: -1}},
	{"takeover-12", conn.CompressionOptions{Level: 1, Threshold: -1, MaxWindowBits: 12, PeerMaxWindowBits: 12}},
}

// BenchmarkCompressedEcho measures a round trip of compressed chat-like JSON
// between a client and a server in one process over loopback TCP: the client
// writes, the server reads and writes the message back, the client reads it.
// The messages differ from one to the next, so that context takeover finds
// history but no copy.
func BenchmarkCompressedEcho(b *testing.B) {
	for _, mode := range echoModes {
		for _, n := range []int{4 << 10, 64 << 10} {
			b.Run(mode.name+"/json-"+sizeName(n), func(b *testing.B) {
				opts := conn.Options{Compression: &mode.opts, ReadLimit: -1}
				ln := listen(b)
				ch := acceptOne(b, context.Background(), ln, &conn.AcceptOptions{Options: opts})
				c, _, err := conn.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", &conn.DialOptions{Options: opts})
				require.NoError(b, err)
				res := receive(b, ch)
				require.NoError(b, res.err)
				s := res.c
				_, ok := c.Compression()
				require.True(b, ok)
				ctx := context.Background()
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						typ, p, err := s.ReadMessage(ctx)
						if err != nil || s.WriteMessage(ctx, typ, p) != nil {
							return
						}
					}
				}()
				msgs := deflatetest.Messages(n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := c.WriteMessage(ctx, conn.MessageText, msgs[i%len(msgs)]); err != nil {
						b.Fatal(err)
					}
					if _, _, err := c.ReadMessage(ctx); err != nil {
						b.Fatal(err)
					}
					i++
				}
				_ = c.CloseNow()
				_ = s.CloseNow()
				<-done
			})
		}
	}
}
