//go:build linux

package micro_test

import (
	"bytes"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpBatch is how many loopback connections BenchmarkHandshakeRawTCP
// prepares at a time: the preparation (requests written, responses read)
// is outside the timer, and stopping it every tcpBatch handshakes keeps the
// cost of stopping out of the figure.
const tcpBatch = 64

// tcpPairs is a set of loopback TCP connections, server side accepted
// from a net.Listener as a server's would be.
type tcpPairs struct {
	client, server []net.Conn
	buf            []byte
}

func newTCPPairs(tb testing.TB, n int) *tcpPairs {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	p := &tcpPairs{buf: make([]byte, 4096)}
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		p.client, p.server = append(p.client, c), append(p.server, s)
	}
	tb.Cleanup(func() {
		for i := range p.client {
			p.client[i].Close()
			p.server[i].Close()
		}
	})
	return p
}

// send writes req on the first n clients and waits until each server
// socket holds all of it, so that the handshakes find the request there,
// as a server usually does on a fresh connection.
func (p *tcpPairs) send(tb testing.TB, req []byte, n int) {
	tb.Helper()
	for i := range n {
		if _, err := p.client[i].Write(req); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		waitReadable(tb, p.server[i], len(req))
	}
}

// receive reads a 101 response head on the first n clients.
func (p *tcpPairs) receive(tb testing.TB, n int) {
	tb.Helper()
	for i := range n {
		c := p.client[i]
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			tb.Fatal(err)
		}
		m := 0
		for m < 4 || !bytes.Equal(p.buf[m-4:m], []byte("\r\n\r\n")) {
			k, err := c.Read(p.buf[m:])
			if err != nil {
				tb.Fatal(err)
			}
			m += k
		}
		if !bytes.HasPrefix(p.buf[:m], []byte("HTTP/1.1 101 ")) {
			tb.Fatalf("not switched: %q", p.buf[:m])
		}
	}
}

// waitReadable waits until c's socket holds n unread bytes, without
// reading them.
func waitReadable(tb testing.TB, c net.Conn, n int) {
	tb.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	peek := make([]byte, n)
	// Returning false waits on the poller until the socket is readable.
	err = rc.Read(func(fd uintptr) bool {
		m, _, err := syscall.Recvfrom(int(fd), peek, syscall.MSG_PEEK)
		return err == nil && m >= n
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestHandshakesSwitchTCP checks that every contender completes each
// handshake over loopback TCP, several times on the same connections, as
// BenchmarkHandshakeRawTCP runs them.
func TestHandshakesSwitchTCP(t *testing.T) {
	for _, rq := range requests {
		for _, a := range rawAccepters {
			t.Run(rq.name+"/"+a.name, func(t *testing.T) {
				p := newTCPPairs(t, 2)
				for range 3 {
					p.send(t, rq.req, 2)
					for _, s := range p.server {
						if err := a.accept(s); err != nil {
							t.Fatal(err)
						}
					}
					p.receive(t, 2)
				}
			})
		}
	}
}

// BenchmarkHandshakeRawTCP is BenchmarkHandshakeRaw over real loopback TCP
// connections, what servers run: the request is in the socket when the
// handshake starts, and the timer covers the server's handshake alone (the
// client's write and read of the response are outside it).
func BenchmarkHandshakeRawTCP(b *testing.B) {
	for _, rq := range requests {
		for _, a := range rawAccepters {
			b.Run(rq.name+"/"+a.name, func(b *testing.B) {
				p := newTCPPairs(b, tcpBatch)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += tcpBatch {
					n := min(tcpBatch, b.N-i)
					b.StopTimer()
					p.send(b, rq.req, n)
					b.StartTimer()
					for _, s := range p.server[:n] {
						if err := a.accept(s); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					p.receive(b, n)
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkHandshakeRawTCPRatio runs the contenders of
// BenchmarkHandshakeRawTCP interleaved: each iteration runs a batch of
// tcpBatch handshakes for every contender, in an order that rotates, timing
// each batch, so that all run under the same load on a shared machine. It
// reports each contender's mean wall time per handshake (name-ns/hs) and
// the CPU time of the benchmark's thread, user and system (name-cpu-ns/hs:
// the time taken from the thread by other work on the machine is not in
// it), and each duplex contender's times over gobwas's. ns/op covers the
// whole iteration, client work included, and means nothing here. Run it
// with
//
//	cd bench && go test -run='^$' -bench=HandshakeRawTCPRatio -count=5 ./micro
func BenchmarkHandshakeRawTCPRatio(b *testing.B) {
	for _, rq := range requests {
		b.Run(rq.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			pairs := make([]*tcpPairs, len(rawAccepters))
			for j := range pairs {
				pairs[j] = newTCPPairs(b, tcpBatch)
			}
			wall := make([]time.Duration, len(pairs))
			cpu := make([]time.Duration, len(pairs))
			rounds := 0
			for b.Loop() {
				for k := range pairs {
					j := (rounds + k) % len(pairs)
					p := pairs[j]
					p.send(b, rq.req, tcpBatch)
					c0, t0 := threadCPU(b), time.Now()
					for _, s := range p.server {
						if err := rawAccepters[j].accept(s); err != nil {
							b.Fatal(err)
						}
					}
					wall[j] += time.Since(t0)
					cpu[j] += threadCPU(b) - c0
					p.receive(b, tcpBatch)
				}
				rounds++
			}
			hs := float64(rounds * tcpBatch)
			ref := -1
			for j, a := range rawAccepters {
				b.ReportMetric(float64(wall[j].Nanoseconds())/hs, a.name+"-ns/hs")
				b.ReportMetric(float64(cpu[j].Nanoseconds())/hs, a.name+"-cpu-ns/hs")
				if a.name == "gobwas" {
					ref = j
				}
			}
			for j, a := range rawAccepters {
				if j != ref {
					b.ReportMetric(float64(wall[j])/float64(wall[ref]), a.name+"/gobwas")
					b.ReportMetric(float64(cpu[j])/float64(cpu[ref]), a.name+"/gobwas-cpu")
				}
			}
		})
	}
}

func init() { threadTime = threadCPU }

// threadCPU is the CPU time the calling thread has used, user and system;
// the caller keeps to its thread with runtime.LockOSThread. It reads
// CLOCK_THREAD_CPUTIME_ID, which counts to the nanosecond, the time run
// since the last scheduler tick included; getrusage(RUSAGE_THREAD) leaves
// that out, and a batch of handshakes lasts less than a tick.
func threadCPU(tb testing.TB) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
