//go:build unix

package handshake_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// These tests hold Accept's deadline to its rule on a real TCP connection, the one on which
// it tries its I/O without waiting first: no deadline while nothing waits, the deadline
// before anything that may.

// arrived waits until c's socket holds at least n unread bytes, without reading them, so
// that a test knows what the client wrote is there before Accept starts.
func arrived(tb testing.TB, c net.Conn, n int) {
	tb.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(tb, err)
	buf := make([]byte, n)
	require.NoError(tb, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	// Returning false waits on the poller until the socket is readable again.
	require.NoError(tb, rc.Read(func(fd uintptr) bool {
		m, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
		return err == nil && m >= n
	}))
	require.NoError(tb, c.SetReadDeadline(time.Time{}))
}

// drained waits until c's socket holds no unread byte: another goroutine read them. It
// looks through RawConn.Control, which does not wait for the read lock that goroutine's
// Read holds.
func drained(tb testing.TB, c net.Conn) {
	tb.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(tb, err)
	var one [1]byte
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(time.Millisecond) {
		empty := false
		require.NoError(tb, rc.Control(func(fd uintptr) {
			// The runtime keeps the socket non-blocking: an empty one answers EAGAIN.
			_, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK)
			empty = errors.Is(err, syscall.EAGAIN)
		}))
		if empty {
			return
		}
	}
	tb.Fatal("the server did not read what was sent")
}

// readSwitching reads a response head on client and checks that it is the 101 for rfcKey.
func readSwitching(tb testing.TB, client net.Conn) {
	tb.Helper()
	require.NoError(tb, client.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	require.NoError(tb, err)
	assert.Equal(tb, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(tb, rfcAccept, resp.Header.Get("Sec-WebSocket-Accept"))
}

var validRequest = head(getLine, validFields...)

// instant is a timeout that has passed before any I/O could start: a handshake under it
// succeeds only if no deadline was set on the connection.
var instant = &handshake.ServerOptions{Timeout: time.Nanosecond}

// TestAcceptWholeRequestSetsNoDeadline: a request that is in the socket when Accept starts
// is read, and the 101 written, without a deadline, which under instant would have failed
// the first read.
func TestAcceptWholeRequestSetsNoDeadline(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	defer server.Close()
	_, err := client.Write([]byte(validRequest))
	require.NoError(t, err)
	arrived(t, server, len(validRequest))
	_, err = handshake.Accept(context.Background(), server, instant)
	require.NoError(t, err)
	readSwitching(t, client)
}

// TestAcceptPipeSetsDeadlineFirst: on a connection that cannot be tried without waiting
// (here net.Pipe), the deadline is set before the first read, as it always was.
func TestAcceptPipeSetsDeadlineFirst(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() { _, _ = client.Write([]byte(validRequest)) }()
	_, err := handshake.Accept(context.Background(), server, instant)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// TestAcceptRequestInTwoPieces: the first piece is read without waiting; the deadline is
// set before the read that waits for the second, which arrives within it.
func TestAcceptRequestInTwoPieces(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	defer server.Close()
	half := len(validRequest) / 2
	_, err := client.Write([]byte(validRequest[:half]))
	require.NoError(t, err)
	arrived(t, server, half)
	srv := acceptAsync(server, &handshake.ServerOptions{Timeout: 10 * time.Second})
	drained(t, server) // Accept has the first piece and waits for more
	_, err = client.Write([]byte(validRequest[half:]))
	require.NoError(t, err)
	readSwitching(t, client)
	require.NoError(t, (<-srv).err)
}

// TestAcceptRequestAfterWait: a request that comes once Accept has found the socket empty
// and waits on the poller, under the deadline it set then, is read when it comes. (Should
// Accept start later than the request, it takes the path of the whole request instead.)
func TestAcceptRequestAfterWait(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	defer server.Close()
	srv := acceptAsync(server, &handshake.ServerOptions{Timeout: 10 * time.Second})
	time.Sleep(20 * time.Millisecond) // lets Accept find nothing and wait
	_, err := client.Write([]byte(validRequest))
	require.NoError(t, err)
	readSwitching(t, client)
	require.NoError(t, (<-srv).err)
}

// TestAcceptSlowPeerTimesOut: a request that stops halfway meets the deadline set once the
// read had to wait, though its first piece came without one.
func TestAcceptSlowPeerTimesOut(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	half := len(validRequest) / 2
	_, err := client.Write([]byte(validRequest[:half]))
	require.NoError(t, err)
	arrived(t, server, half)
	_, err = handshake.Accept(context.Background(), server, &handshake.ServerOptions{Timeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// TestAcceptSilentPeerTimesOut: a client that sends nothing meets the deadline.
func TestAcceptSilentPeerTimesOut(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	_, err := handshake.Accept(context.Background(), server, &handshake.ServerOptions{Timeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// TestAcceptRefusalBounded: a refused request that arrived whole still has its refusal
// written, and the lingering close after it, under the handshake's deadline: a client that
// neither reads nor closes holds Accept for the timeout, not for the one second the
// lingering close allows by itself.
func TestAcceptRefusalBounded(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	req := head("POST /chat HTTP/1.1", validFields...)
	_, err := client.Write([]byte(req))
	require.NoError(t, err)
	arrived(t, server, len(req))
	start := time.Now()
	_, err = handshake.Accept(context.Background(), server, &handshake.ServerOptions{Timeout: 100 * time.Millisecond})
	took := time.Since(start)
	var herr *handshake.Error
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusMethodNotAllowed, herr.Status)
	assert.Less(t, took, 900*time.Millisecond, "the lingering close ended at the handshake's deadline")
	require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestAcceptCanceledContext: a context that ended before Accept is honoured though no
// deadline would have stopped the handshake.
func TestAcceptCanceledContext(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	_, err := client.Write([]byte(validRequest))
	require.NoError(t, err)
	arrived(t, server, len(validRequest))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = handshake.Accept(ctx, server, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// maxAcceptAllocs is the allocation budget of a successful Accept (issue 11) whose caller
// does not keep the Result: the head's copy. The Result is then on the caller's stack.
const maxAcceptAllocs = 1

// TestAcceptAllocs counts the allocations of Accept alone, over TCP (where it tries its
// I/O without waiting) and over an in-memory connection. Under the race detector
// sync.Pool drops some of what is put back, so the pooled read buffer is sometimes
// allocated anew: raceAllocs allows for that.
//
// The collector is off meanwhile and one P runs the test: a collection empties sync.Pool,
// and a goroutine that moves to another P after waiting finds that P's cache of the pool
// empty; the buffer allocated again then, once in many handshakes, is not what the budget
// counts. The first handshakes fill the pool, as AllocsPerRun's one warm-up run does.
func TestAcceptAllocs(t *testing.T) {
	const runs, warmup = 200, 10
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	t.Run("tcp", func(t *testing.T) {
		client, server := tcpPair(t)
		defer client.Close()
		defer server.Close()
		resp := make([]byte, 4096)
		var total uint64
		for i := range warmup + runs {
			_, err := client.Write([]byte(validRequest))
			require.NoError(t, err)
			arrived(t, server, len(validRequest))
			before := mallocs()
			_, err = handshake.Accept(context.Background(), server, nil)
			if i >= warmup {
				total += mallocs() - before
			}
			require.NoError(t, err)
			readHead(t, client, resp)
		}
		// MemStats counts every goroutine's allocations, and another one (the runtime's, the
		// test framework's) may run while this one waits in a system call: the half allows
		// for such a stray allocation now and then, where one more of Accept's own would add
		// a whole one to the mean.
		assert.Less(t, float64(total)/runs, float64(maxAcceptAllocs+raceAllocs)+0.5)
	})
	t.Run("memory", func(t *testing.T) {
		c := &memConn{in: []byte(browserRequest)}
		allocs := testing.AllocsPerRun(runs, func() {
			c.reset()
			if _, err := handshake.Accept(context.Background(), c, nil); err != nil {
				t.Error(err)
			}
		})
		assert.LessOrEqual(t, allocs, float64(maxAcceptAllocs+raceAllocs))
	})
}

// TestRequestHeaderAfterAccept: RequestHeader reads the fields of the head Accept kept,
// whatever the case of the name, without allocating.
func TestRequestHeaderAfterAccept(t *testing.T) {
	c := &memConn{in: []byte(browserRequest)}
	res, err := handshake.Accept(context.Background(), c, nil)
	require.NoError(t, err)
	assert.Equal(t, "session=3f9a1c0e7b2d4a6f8e5c1b0a9d7e6f5c; theme=dark", res.RequestHeader("cookie"))
	assert.Equal(t, "http://localhost:8080", res.RequestHeader("Origin"))
	assert.Equal(t, "localhost:8080", res.RequestHeader("HOST"))
	assert.Equal(t, "permessage-deflate; client_max_window_bits", res.RequestHeader("Sec-WebSocket-Extensions"))
	assert.Empty(t, res.RequestHeader("Authorization"))
	assert.Empty(t, res.RequestHeader("Cooki"))
	allocs := testing.AllocsPerRun(100, func() {
		if res.RequestHeader("User-Agent") == "" {
			t.Error("no User-Agent")
		}
	})
	assert.Zero(t, allocs)
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// readHead reads from c into buf until it ends with the empty line of a response head.
func readHead(tb testing.TB, c net.Conn, buf []byte) {
	tb.Helper()
	require.NoError(tb, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	n := 0
	for n < 4 || string(buf[n-4:n]) != "\r\n\r\n" {
		m, err := c.Read(buf[n:])
		require.NoError(tb, err)
		n += m
	}
}
