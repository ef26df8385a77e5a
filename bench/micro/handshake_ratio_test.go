package micro_test

import (
	"runtime"
	"testing"
	"time"
)

// ratioBatch is how many handshakes each contender runs in a row in an
// iteration of the in-memory ratio benchmarks: enough that reading the clock
// costs nothing beside them, few enough that the contenders take turns many
// times a second.
const ratioBatch = 256

// threadTime is the CPU time the calling thread has used, where the
// platform tells it (threadCPU on Linux), else nil.
var threadTime func(testing.TB) time.Duration

// interleave runs each contender's batch once per iteration, in an order
// that rotates, timing each batch, so that all of them run under the same
// load on a shared machine. It reports each contender's mean wall time per
// handshake (name-ns/hs) and its time over ref's (name/ref); where
// threadTime is known, also the CPU time of the benchmark's thread, user
// and system (name-cpu-ns/hs and name/ref-cpu), which the time other work
// on the machine takes from the thread does not inflate, though neither
// does the collector's background work that allocating causes: it counts
// where the contenders run on the benchmark's goroutine, as on a raw
// connection, not where they run on others, as through an http.Server.
// ns/op covers every contender and means nothing here.
func interleave(b *testing.B, names []string, batch []func() error, ref string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wall := make([]time.Duration, len(batch))
	cpu := make([]time.Duration, len(batch))
	rounds := 0
	for b.Loop() {
		for k := range batch {
			j := (rounds + k) % len(batch)
			var c0 time.Duration
			if threadTime != nil {
				c0 = threadTime(b)
			}
			start := time.Now()
			for range ratioBatch {
				if err := batch[j](); err != nil {
					b.Fatal(err)
				}
			}
			wall[j] += time.Since(start)
			if threadTime != nil {
				cpu[j] += threadTime(b) - c0
			}
		}
		rounds++
	}
	hs := float64(rounds * ratioBatch)
	r := -1
	for j, name := range names {
		b.ReportMetric(float64(wall[j].Nanoseconds())/hs, name+"-ns/hs")
		if threadTime != nil {
			b.ReportMetric(float64(cpu[j].Nanoseconds())/hs, name+"-cpu-ns/hs")
		}
		if name == ref {
			r = j
		}
	}
	for j, name := range names {
		if j != r {
			b.ReportMetric(float64(wall[j])/float64(wall[r]), name+"/"+ref)
			if threadTime != nil {
				b.ReportMetric(float64(cpu[j])/float64(cpu[r]), name+"/"+ref+"-cpu")
			}
		}
	}
}

// BenchmarkHandshakeRawRatio runs the contenders of BenchmarkHandshakeRaw
// interleaved (see interleave), on in-memory connections: the parsing and
// checks alone, and the deadline Accept sets on a connection it cannot poll.
// Run it with
//
//	cd bench && go test -run='^$' -bench='HandshakeRawRatio' -count=6 ./micro
func BenchmarkHandshakeRawRatio(b *testing.B) { rawRatio(b, rawAccepters) }

// rawRatio interleaves accepters on in-memory connections, for each request.
func rawRatio(b *testing.B, accepters []rawAccepter) {
	for _, rq := range requests {
		b.Run(rq.name, func(b *testing.B) {
			names := make([]string, len(accepters))
			batch := make([]func() error, len(accepters))
			for j, a := range accepters {
				c := newMemConn(rq.req, false)
				names[j] = a.name
				batch[j] = func() error {
					c.reset()
					return a.accept(c)
				}
			}
			interleave(b, names, batch, "gobwas")
		})
	}
}

// BenchmarkHandshakeRawOptionsRatio is BenchmarkHandshakeRawRatio with
// the options a demanding server sets (serverOptions: a subprotocol, an
// origin pattern, an extra response field, an authorisation hook), and
// gobwas's Upgrader doing the same through its callbacks. Run it with
//
//	cd bench && go test -run='^$' -bench='HandshakeRawOptionsRatio' -count=6 ./micro
func BenchmarkHandshakeRawOptionsRatio(b *testing.B) { rawRatio(b, optionAccepters) }

// BenchmarkHandshakeHTTPRatio runs the contenders of BenchmarkHandshakeHTTP
// interleaved (see interleave), each through its own http.Server. The
// handshakes run on the servers' goroutines: only the wall figures count
// here, the CPU ones being the benchmark goroutine's wait. Run it with
//
//	cd bench && go test -run='^$' -bench='HandshakeHTTPRatio' -count=6 ./micro
func BenchmarkHandshakeHTTPRatio(b *testing.B) {
	for _, rq := range requests {
		b.Run(rq.name, func(b *testing.B) {
			names := make([]string, len(httpUpgraders))
			batch := make([]func() error, len(httpUpgraders))
			for j, u := range httpUpgraders {
				s := startHTTP(b, u.upgrade)
				names[j] = u.name
				batch[j] = func() error { return s.handshake(newMemConn(rq.req, true)) }
			}
			interleave(b, names, batch, "gorilla")
		})
	}
}
