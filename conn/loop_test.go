package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// loopEvents records what a Loop reports for one connection.
type loopEvents struct {
	mu       sync.Mutex
	opened   bool
	messages [][]byte
	err      error
	closed   chan conn.CloseEvent
}

func newLoopEvents() *loopEvents { return &loopEvents{closed: make(chan conn.CloseEvent, 1)} }

// handler echoes every message on c and records the events.
func (e *loopEvents) handler(c *conn.Conn) conn.Handler {
	return conn.Handler{
		OnOpen: func() { e.mu.Lock(); e.opened = true; e.mu.Unlock() },
		OnMessage: func(t conn.MessageType, b []byte) {
			e.mu.Lock()
			e.messages = append(e.messages, b)
			e.mu.Unlock()
			_ = c.WriteMessage(context.Background(), t, b)
		},
		OnError: func(err error) { e.mu.Lock(); e.err = err; e.mu.Unlock() },
		OnClose: func(ev conn.CloseEvent) { e.closed <- ev },
	}
}

func (e *loopEvents) wait(t testing.TB) conn.CloseEvent {
	t.Helper()
	select {
	case ev := <-e.closed:
		return ev
	case <-time.After(waitTimeout):
		require.FailNow(t, "OnClose never came")
	}
	return conn.CloseEvent{}
}

func (e *loopEvents) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// newLoop returns a loop closed when the test ends.
func newLoop(t testing.TB, opts *conn.LoopOptions) *conn.Loop {
	t.Helper()
	l, err := conn.NewLoop(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// loopPair returns a client connection whose server side a loop serves
// with the echo handler of e.
func loopPair(t testing.TB, l *conn.Loop, server *conn.Options) (*conn.Conn, *loopEvents) {
	t.Helper()
	cn, sn := tcpPair(t)
	s := conn.New(sn, nil, frame.RoleServer, server)
	c := conn.New(cn, nil, frame.RoleClient, nil)
	t.Cleanup(func() { _ = c.CloseNow() })
	e := newLoopEvents()
	require.NoError(t, l.Serve(s, e.handler(s)))
	return c, e
}

// TestLoopEcho checks messages of every length form both ways, text and
// binary, fragmented too, through a loop.
func TestLoopEcho(t *testing.T) {
	l := newLoop(t, nil)
	require.Equal(t, runtime.GOOS == "linux", l.Readiness())
	c, e := loopPair(t, l, nil)
	ctx := testCtx(t)
	for _, n := range []int{0, 1, 125, 126, 4096, 65535, 65536, 1 << 20} {
		msg := pattern(n)
		require.NoError(t, c.WriteMessage(ctx, conn.MessageBinary, msg))
		typ, got, err := c.ReadMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, conn.MessageBinary, typ)
		assert.True(t, bytes.Equal(msg, got), "message of %d bytes", n)
	}
	w, err := c.NextWriter(ctx, conn.MessageText)
	require.NoError(t, err)
	for range 3 {
		_, err = w.Write(bytes.Repeat([]byte("é"), 3000)) // several fragments
		require.NoError(t, err)
		require.NoError(t, c.Ping(ctx, []byte("between")))
	}
	require.NoError(t, w.Close())
	typ, got, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, bytes.Repeat([]byte("é"), 9000), got)

	require.NoError(t, c.Close(frame.CloseNormal, "done"))
	ev := e.wait(t)
	assert.Equal(t, conn.CloseEvent{Code: frame.CloseNormal, Reason: "done", WasClean: true}, ev)
	assert.NoError(t, e.failure())
	e.mu.Lock()
	assert.True(t, e.opened)
	assert.Len(t, e.messages, 9)
	e.mu.Unlock()
}

// TestLoopBatch checks that messages that arrive together are all handled,
// in order, and their replies leave in order.
func TestLoopBatch(t *testing.T) {
	l := newLoop(t, nil)
	cn, sn := tcpPair(t)
	s := conn.New(sn, nil, frame.RoleServer, nil)
	e := newLoopEvents()
	require.NoError(t, l.Serve(s, e.handler(s)))
	p := &rawPeer{tb: t, nc: cn, br: newReader(cn), mask: true}
	var batch []byte
	for i := range 100 {
		batch = append(batch, p.wire(frame.OpText, true, fmt.Appendf(nil, "m%d", i))...)
	}
	p.send(batch)
	for i := range 100 {
		_, b := p.readFrame()
		require.Equal(t, fmt.Sprintf("m%d", i), string(b))
	}
}

// TestLoopProtocolError checks a failure in a loop: the peer gets the code
// and a clean end of stream after answering, the handler OnError and
// OnClose with the code.
func TestLoopProtocolError(t *testing.T) {
	l := newLoop(t, nil)
	cn, sn := tcpPair(t)
	s := conn.New(sn, nil, frame.RoleServer, &conn.Options{ReadLimit: 4096})
	e := newLoopEvents()
	require.NoError(t, l.Serve(s, e.handler(s)))
	p := &rawPeer{tb: t, nc: cn, br: newReader(cn), mask: true}
	sent := make(chan error, 1)
	go func() {
		_, err := p.nc.Write(p.wire(frame.OpText, true, pattern(25*4096)))
		sent <- err
	}()
	code, _ := p.readClose()
	assert.Equal(t, frame.CloseTooBig, code)
	require.NoError(t, <-sent, "the loop read the whole message while closing")
	p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseTooBig, "")))
	assertFIN(t, p)
	ev := e.wait(t)
	assert.Equal(t, frame.CloseTooBig, ev.Code)
	assert.False(t, ev.WasClean)
	require.ErrorIs(t, e.failure(), conn.ErrReadLimit)
}

// TestLoopCloseFromHandler checks Close in a callback: it does not wait,
// and the loop completes the handshake the peer answers.
func TestLoopCloseFromHandler(t *testing.T) {
	l := newLoop(t, nil)
	cn, sn := tcpPair(t)
	s := conn.New(sn, nil, frame.RoleServer, nil)
	closed := make(chan conn.CloseEvent, 1)
	closeErr := make(chan error, 1)
	require.NoError(t, l.Serve(s, conn.Handler{
		OnMessage: func(conn.MessageType, []byte) { closeErr <- s.Close(frame.ClosePolicyViolation, "no") },
		OnClose:   func(ev conn.CloseEvent) { closed <- ev },
	}))
	c := conn.New(cn, nil, frame.RoleClient, nil)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("hi")))
	require.NoError(t, <-closeErr)
	_, _, err := c.ReadMessage(testCtx(t))
	assert.Equal(t, frame.ClosePolicyViolation, conn.CloseStatus(err))
	select {
	case ev := <-closed:
		assert.Equal(t, conn.CloseEvent{Code: frame.ClosePolicyViolation, WasClean: true}, ev)
	case <-time.After(waitTimeout):
		require.FailNow(t, "OnClose never came")
	}
}

// TestLoopKeepalive checks keepalive in a loop: a silent peer is pinged and
// failed, a live one kept.
func TestLoopKeepalive(t *testing.T) {
	l := newLoop(t, nil)
	const interval = 100 * time.Millisecond
	cn, sn := tcpPair(t)
	s := conn.New(sn, nil, frame.RoleServer, &conn.Options{PingInterval: interval, PongTimeout: interval})
	e := newLoopEvents()
	start := time.Now()
	require.NoError(t, l.Serve(s, e.handler(s)))
	ev := e.wait(t)
	took := time.Since(start)
	assert.Equal(t, frame.CloseAbnormal, ev.Code)
	require.ErrorIs(t, e.failure(), conn.ErrKeepalive)
	assert.GreaterOrEqual(t, took, 2*interval)
	assert.Less(t, took, 2*interval+keepaliveSlack)
	p := &rawPeer{tb: t, nc: cn, br: newReader(cn), mask: true}
	h, _ := p.readFrame()
	assert.Equal(t, frame.OpPing, h.Opcode)
	code, _ := p.readClose()
	assert.Equal(t, frame.CloseGoingAway, code)

	live, le := loopPair(t, l, &conn.Options{PingInterval: 20 * time.Millisecond, PongTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := live.ReadMessage(ctx) // answers pings meanwhile
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, live.WriteMessage(testCtx(t), conn.MessageText, []byte("still")))
	_, b, err := live.ReadMessage(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "still", string(b))
	assert.NoError(t, le.failure())
}

// TestLoopSlowReaderAndPingFlood checks that a peer that does not read,
// and one that floods pings without reading the pongs, are failed without
// holding up the others.
func TestLoopSlowReaderAndPingFlood(t *testing.T) {
	l := newLoop(t, &conn.LoopOptions{Workers: 2, MaxPending: 1 << 20})
	// A peer that never reads, sent 64 MiB.
	cn, sn := tcpPair(t)
	slow := conn.New(sn, nil, frame.RoleServer, nil)
	se := newLoopEvents()
	require.NoError(t, l.Serve(slow, se.handler(slow)))
	writes := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			err = slow.WriteMessage(context.Background(), conn.MessageBinary, make([]byte, 1<<20))
		}
		writes <- err
	}()
	// A peer that sends pings and never reads the pongs.
	fn, fs := tcpPair(t)
	flood := conn.New(fs, nil, frame.RoleServer, nil)
	fe := newLoopEvents()
	require.NoError(t, l.Serve(flood, fe.handler(flood)))
	fp := &rawPeer{tb: t, nc: fn, br: newReader(fn), mask: true}
	ping := fp.wire(frame.OpPing, true, bytes.Repeat([]byte{'p'}, 125))
	go func() {
		for range 200000 {
			if _, err := fn.Write(ping); err != nil {
				return
			}
		}
	}()
	// Meanwhile an ordinary peer is served at once, again and again.
	c, _ := loopPair(t, l, nil)
	for i := range 50 {
		require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, fmt.Appendf(nil, "%d", i)))
		_, b, err := c.ReadMessage(testCtx(t))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(b))
	}
	require.ErrorIs(t, <-writes, conn.ErrSlowPeer)
	se.wait(t)
	require.ErrorIs(t, se.failure(), conn.ErrSlowPeer)
	fe.wait(t)
	require.ErrorIs(t, fe.failure(), conn.ErrSlowPeer)
	_ = cn
}

// TestLoopManyConnections opens and closes many connections through one
// loop, from both sides, and checks that every one ended, that the loop
// holds no descriptor of theirs afterwards and that Close ends the rest.
func TestLoopManyConnections(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Log("no readiness-driven mode here: connections are served by goroutines")
	}
	fdsBefore := openFDs(t)
	l, err := conn.NewLoop(nil)
	require.NoError(t, err)
	const n = 200
	var clients []*conn.Conn
	var events []*loopEvents
	for range n {
		cn, sn := tcpPair(t)
		s := conn.New(sn, nil, frame.RoleServer, nil)
		e := newLoopEvents()
		require.NoError(t, l.Serve(s, e.handler(s)))
		clients = append(clients, conn.New(cn, nil, frame.RoleClient, nil))
		events = append(events, e)
	}
	for i, c := range clients[:n/2] {
		require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("x")))
		_, _, err := c.ReadMessage(testCtx(t))
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, c.Close(frame.CloseNormal, ""))
		} else {
			require.NoError(t, c.CloseNow())
		}
	}
	for _, e := range events[:n/2] {
		e.wait(t)
	}
	// The rest end with the loop: each client answers its close.
	var wg sync.WaitGroup
	for _, c := range clients[n/2:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = c.ReadMessage(context.Background())
		}()
	}
	require.NoError(t, l.Close())
	wg.Wait()
	for _, e := range events[n/2:] {
		ev := e.wait(t)
		assert.Equal(t, frame.CloseGoingAway, ev.Code)
	}
	for _, c := range clients {
		_ = c.CloseNow()
	}
	require.ErrorIs(t, l.Serve(conn.New(nil, nil, frame.RoleServer, nil), conn.Handler{}), conn.ErrLoopClosed)
	if fdsBefore >= 0 {
		// Every test pair closes its own ends at cleanup; the loop's
		// descriptors and epoll are gone already.
		assert.LessOrEqual(t, openFDs(t)-fdsBefore, 2*n+10)
	}
}

// openFDs counts the process's open descriptors, -1 where it cannot.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestLoopFallback checks a connection the loop cannot watch (a pipe): it
// is served by a goroutine, with the same events.
func TestLoopFallback(t *testing.T) {
	l := newLoop(t, nil)
	a, b := net.Pipe()
	s := conn.New(b, nil, frame.RoleServer, nil)
	c := conn.New(a, nil, frame.RoleClient, nil)
	defer c.CloseNow()
	e := newLoopEvents()
	require.NoError(t, l.Serve(s, e.handler(s)))
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("piped")))
	_, got, err := c.ReadMessage(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "piped", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	assert.True(t, e.wait(t).WasClean)
	assert.False(t, errors.Is(e.failure(), conn.ErrClosed))
}

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }
