package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// eventLog records Serve's callbacks as strings, in order.
type eventLog struct {
	mu     sync.Mutex
	events []string
	err    error // the error passed to OnError
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

// handler returns a Handler recording every event; onMessage, if not nil,
// runs after a message is recorded.
func (l *eventLog) handler(onMessage func(conn.MessageType, []byte)) conn.Handler {
	return conn.Handler{
		OnOpen: func() { l.add("open") },
		OnMessage: func(t conn.MessageType, b []byte) {
			l.add("message %d %s", t, b)
			if onMessage != nil {
				onMessage(t, b)
			}
		},
		OnError: func(err error) {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			l.add("error")
		},
		OnClose: func(e conn.CloseEvent) { l.add("close %d %q clean=%t", e.Code, e.Reason, e.WasClean) },
	}
}

func (l *eventLog) get() ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...), l.err
}

// serveServer runs Serve on every upgraded connection with the handler
// mk builds for it; Serve's result arrives on the returned channel.
func serveServer(t testing.TB, ctx context.Context, opts *conn.AcceptOptions, mk func(c *conn.Conn) conn.Handler) (string, <-chan error) {
	t.Helper()
	done := make(chan error, 1)
	srv := wsServer(t, servePlain, opts, func(c *conn.Conn) {
		done <- conn.Serve(ctx, c, mk(c))
	})
	return wsURL(srv), done
}

func TestServePeerCloses(t *testing.T) {
	var log eventLog
	u, done := serveServer(t, context.Background(), nil, func(*conn.Conn) conn.Handler { return log.handler(nil) })
	c, _, err := conn.Dial(testCtx(t), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	ctx := testCtx(t)
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, []byte("a")))
	require.NoError(t, c.WriteMessage(ctx, conn.MessageBinary, []byte("b")))
	require.NoError(t, c.Close(frame.CloseNormal, "bye"))

	require.NoError(t, receive(t, done))
	events, _ := log.get()
	assert.Equal(t, []string{
		"open",
		fmt.Sprintf("message %d a", conn.MessageText),
		fmt.Sprintf("message %d b", conn.MessageBinary),
		`close 1000 "bye" clean=true`,
	}, events)
}

// A handler closing from OnMessage gets a clean close with the peer's reply.
func TestServeHandlerCloses(t *testing.T) {
	var log eventLog
	u, done := serveServer(t, context.Background(), nil, func(c *conn.Conn) conn.Handler {
		return log.handler(func(conn.MessageType, []byte) { _ = c.Close(4000, "done") })
	})
	c, _, err := conn.Dial(testCtx(t), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("x")))
	_, _, err = c.ReadMessage(testCtx(t))
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, frame.CloseCode(4000), ce.Code)

	require.NoError(t, receive(t, done))
	events, _ := log.get()
	// RFC 6455, Section 5.5.1: the peer's reply typically echoes the code.
	assert.Equal(t, []string{"open", fmt.Sprintf("message %d x", conn.MessageText), `close 4000 "" clean=true`}, events)
}

func TestServeContextCancelled(t *testing.T) {
	var log eventLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, done := serveServer(t, ctx, nil, func(*conn.Conn) conn.Handler {
		h := log.handler(nil)
		open := h.OnOpen
		h.OnOpen = func() { open(); cancel() }
		return h
	})
	c, _, err := conn.Dial(testCtx(t), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	_, _, err = c.ReadMessage(testCtx(t))
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, frame.CloseGoingAway, ce.Code)

	require.NoError(t, receive(t, done))
	events, _ := log.get()
	assert.Equal(t, []string{"open", `close 1001 "" clean=true`}, events)
}

// rawClient performs the opening handshake on a plain TCP connection, so the
// test can then write frames a Conn would refuse to send.
func rawClient(t testing.TB, rawURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	nc, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	res, err := handshake.Client(testCtx(t), nc, u, nil)
	require.NoError(t, err)
	return nc, bufio.NewReader(io.MultiReader(bytes.NewReader(res.Rest), nc))
}

func TestServeProtocolError(t *testing.T) {
	var log eventLog
	u, done := serveServer(t, context.Background(), nil, func(*conn.Conn) conn.Handler { return log.handler(nil) })
	nc, br := rawClient(t, u)
	_, err := nc.Write(frameBytes(frame.OpText, []byte("ok"), true))
	require.NoError(t, err)
	_, err = nc.Write(frameBytes(frame.Opcode(0x3), []byte("?"), true))
	require.NoError(t, err)

	// RFC 6455, Section 7.1.7: the server fails the connection, sending a
	// close frame with 1002 first; it then waits for the client's answer.
	h, err := frame.ReadHeader(br)
	require.NoError(t, err)
	assert.Equal(t, frame.OpClose, h.Opcode)
	_, err = nc.Write(frameBytes(frame.OpClose, []byte{0x03, 0xea}, true))
	require.NoError(t, err)

	serveErr := receive(t, done)
	require.ErrorIs(t, serveErr, frame.ErrReservedOpcode)
	events, onErr := log.get()
	require.Len(t, events, 4)
	assert.Equal(t, []string{"open", fmt.Sprintf("message %d ok", conn.MessageText), "error"}, events[:3])
	assert.Regexp(t, `^close 1002 ".*" clean=false$`, events[3])
	assert.Equal(t, serveErr, onErr)
}

func TestServeAbruptClose(t *testing.T) {
	var log eventLog
	u, done := serveServer(t, context.Background(), nil, func(*conn.Conn) conn.Handler { return log.handler(nil) })
	nc, _ := rawClient(t, u)
	require.NoError(t, nc.Close())

	serveErr := receive(t, done)
	require.Error(t, serveErr)
	events, onErr := log.get()
	assert.Equal(t, []string{"open", "error", `close 1006 "" clean=false`}, events)
	assert.Equal(t, serveErr, onErr)
}

// Nil callbacks are skipped.
func TestServeNilCallbacks(t *testing.T) {
	u, done := serveServer(t, context.Background(), nil, func(*conn.Conn) conn.Handler { return conn.Handler{} })
	c, _, err := conn.Dial(testCtx(t), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("ignored")))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	require.NoError(t, receive(t, done))
}

// RFC 6455, Section 10.4: a message over the read limit fails the
// connection with 1009.
func TestServeReadLimit(t *testing.T) {
	var log eventLog
	opts := &conn.AcceptOptions{Options: conn.Options{ReadLimit: 4}}
	u, done := serveServer(t, context.Background(), opts, func(*conn.Conn) conn.Handler { return log.handler(nil) })
	c, _, err := conn.Dial(testCtx(t), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageBinary, []byte("too long")))
	_, _, err = c.ReadMessage(testCtx(t))
	assert.Equal(t, frame.CloseTooBig, conn.CloseStatus(err))

	require.ErrorIs(t, receive(t, done), conn.ErrReadLimit)
	events, _ := log.get()
	require.Len(t, events, 3)
	assert.Equal(t, []string{"open", "error"}, events[:2])
	assert.Regexp(t, `^close 1009 ".*" clean=false$`, events[2])
}

// A peer that never answers the 1001 sent on cancellation: the close times
// out, which is not clean.
func TestServeCloseTimeout(t *testing.T) {
	var log eventLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &conn.AcceptOptions{Options: conn.Options{CloseTimeout: 50 * time.Millisecond}}
	u, done := serveServer(t, ctx, opts, func(*conn.Conn) conn.Handler {
		h := log.handler(nil)
		open := h.OnOpen
		h.OnOpen = func() { open(); cancel() }
		return h
	})
	_, _ = rawClient(t, u) // reads nothing, answers nothing

	require.Error(t, receive(t, done))
	events, _ := log.get()
	assert.Equal(t, []string{"open", "error", `close 1006 "" clean=false`}, events)
}

// TestServeManyConnections is the default mode's counterpart of
// TestLoopManyConnections: many connections served by Serve, some closed by
// the client cleanly, some dropped, the rest closed by the server, leave no
// goroutine and no descriptor behind.
func TestServeManyConnections(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fdsBefore := openFDs(t)
	const n = 200
	var (
		clients []*conn.Conn
		servers []*conn.Conn
		events  []*loopEvents
		served  sync.WaitGroup
	)
	for range n {
		cn, sn := tcpPair(t)
		s := conn.New(sn, nil, frame.RoleServer, nil)
		e := newLoopEvents()
		served.Go(func() { _ = conn.Serve(context.Background(), s, e.handler(s)) })
		clients = append(clients, conn.New(cn, nil, frame.RoleClient, nil))
		servers = append(servers, s)
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
	for i, e := range events[:n/2] {
		ev := e.wait(t)
		if i%2 == 0 {
			assert.True(t, ev.WasClean, "connection %d closed cleanly by its client", i)
		}
	}
	// The rest are closed by the server; each client answers its close.
	var wg sync.WaitGroup
	for i, c := range clients[n/2:] {
		wg.Go(func() { _, _, _ = c.ReadMessage(context.Background()) })
		wg.Go(func() { _ = servers[n/2+i].Close(frame.CloseGoingAway, "") })
	}
	wg.Wait()
	for _, e := range events[n/2:] {
		ev := e.wait(t)
		assert.Equal(t, frame.CloseGoingAway, ev.Code)
		assert.True(t, ev.WasClean)
	}
	served.Wait()
	for _, c := range clients {
		_ = c.CloseNow()
	}
	if fdsBefore >= 0 {
		// The test pairs' listeners are gone; every connection's two ends
		// are closed by now.
		assert.LessOrEqual(t, openFDs(t)-fdsBefore, 10)
	}
}

// TestBorrowMessages checks Handler.BorrowMessages in both modes: every
// message, of every length form, whole or fragmented, reaches OnMessage
// intact and is echoed intact, although its bytes are only lent for the
// call (the handler copies what it keeps, as documented).
func TestBorrowMessages(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 4096, 65535, 65536, 200 << 10}
	for _, mode := range []string{"serve", "loop"} {
		t.Run(mode, func(t *testing.T) {
			cn, sn := tcpPair(t)
			s := conn.New(sn, nil, frame.RoleServer, &conn.Options{ReadLimit: 1 << 20})
			c := conn.New(cn, nil, frame.RoleClient, &conn.Options{ReadLimit: 1 << 20})
			t.Cleanup(func() { _ = c.CloseNow() })
			var (
				mu   sync.Mutex
				kept [][]byte
			)
			closed := make(chan struct{})
			h := conn.Handler{
				BorrowMessages: true,
				OnMessage: func(typ conn.MessageType, b []byte) {
					mu.Lock()
					kept = append(kept, bytes.Clone(b))
					mu.Unlock()
					_ = s.WriteMessage(context.Background(), typ, b)
				},
				OnClose: func(conn.CloseEvent) { close(closed) },
			}
			if mode == "loop" {
				l := newLoop(t, nil)
				require.NoError(t, l.Serve(s, h))
			} else {
				go func() { _ = conn.Serve(context.Background(), s, h) }()
			}
			var sent [][]byte
			for i, n := range sizes {
				msg := bytes.Repeat([]byte{byte('a' + i)}, n)
				sent = append(sent, msg)
				if n > 1000 {
					// In pieces through a writer: past the write buffer
					// it goes as fragments, and grows past its first frame.
					w, err := c.NextWriter(testCtx(t), conn.MessageBinary)
					require.NoError(t, err)
					for p := msg; len(p) > 0; p = p[min(len(p), 1000):] {
						_, err := w.Write(p[:min(len(p), 1000)])
						require.NoError(t, err)
					}
					require.NoError(t, w.Close())
				} else {
					require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageBinary, msg))
				}
			}
			for i, want := range sent {
				_, got, err := c.ReadMessage(testCtx(t))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(want, got), "echo %d: %d bytes, want %d", i, len(got), len(want))
			}
			require.NoError(t, c.Close(frame.CloseNormal, ""))
			<-closed
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, kept, len(sent))
			for i := range sent {
				assert.True(t, bytes.Equal(sent[i], kept[i]), "message %d as delivered", i)
			}
		})
	}
}
