package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// startEcho serves the echo handler in an httptest server; cleanup shuts it
// down as main does and waits for the echo loops.
func startEcho(t testing.TB) string {
	t.Helper()
	es, err := newEchoServer(quietLog(), defaultSettings())
	require.NoError(t, err)
	srv := httptest.NewServer(es)
	t.Cleanup(func() {
		srv.Close()
		es.closeAll()
		es.wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestEchoPreservesTypeAndBytes(t *testing.T) { bothModes(t, testEchoPreservesTypeAndBytes) }

func testEchoPreservesTypeAndBytes(t *testing.T, startEcho func(testing.TB) string) {
	u := startEcho(t)
	// 16 MiB each way under the race detector on a busy machine: be patient.
	ctx, cancel := context.WithTimeout(context.Background(), 6*waitTimeout)
	defer cancel()
	// Any path, any Origin.
	c, _, err := conn.Dial(ctx, u+"/some/path", &conn.DialOptions{
		ClientOptions: conn.ClientOptions{
			Origin: "https://elsewhere.example",
		},
		Options: conn.Options{ReadLimit: 32 << 20},
	})
	require.NoError(t, err)
	defer c.CloseNow()

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB, the Autobahn maximum
	for _, tc := range []struct {
		name string
		typ  conn.MessageType
		msg  []byte
	}{
		{"5.6/text", conn.MessageText, []byte("héllo")},
		{"5.6/binary", conn.MessageBinary, []byte{0, 0xff, 0x80}},
		{"5.6/empty-text", conn.MessageText, []byte{}},
		{"5.2/binary-16MiB", conn.MessageBinary, big},
	} {
		// The echo streams back while the message still arrives: write and
		// read at once, or both directions' buffers fill up.
		wrote := make(chan error, 1)
		go func() { wrote <- c.WriteMessage(ctx, tc.typ, tc.msg) }()
		typ, got, err := c.ReadMessage(ctx)
		require.NoError(t, err, tc.name)
		require.NoError(t, <-wrote, tc.name)
		assert.Equal(t, tc.typ, typ, tc.name)
		assert.True(t, bytes.Equal(tc.msg, got), tc.name)
	}
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// Streamed fragments of a message come back as one message of the same type.
func TestEchoStreamedMessage(t *testing.T) { bothModes(t, testEchoStreamedMessage) }

func testEchoStreamedMessage(t *testing.T, startEcho func(testing.TB) string) {
	u := startEcho(t)
	ctx := testCtx(t)
	c, _, err := conn.Dial(ctx, u, &conn.DialOptions{Options: conn.Options{FragmentSize: 7}})
	require.NoError(t, err)
	defer c.CloseNow()
	w, err := c.NextWriter(ctx, conn.MessageText)
	require.NoError(t, err)
	for _, part := range []string{"stream", "ed ", "in ", "fragments"} {
		_, err := w.Write([]byte(part))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	typ, got, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, "streamed in fragments", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// RFC 6455, Section 8.1: invalid UTF-8 in a text message fails the
// connection with 1007. Streaming keeps that fail-fast: the message is never
// finished, yet the server fails as soon as the bad fragment arrives.
func TestEchoInvalidUTF8FailsFast(t *testing.T) { bothModes(t, testEchoInvalidUTF8FailsFast) }

func testEchoInvalidUTF8FailsFast(t *testing.T, startEcho func(testing.TB) string) {
	u, err := url.Parse(startEcho(t))
	require.NoError(t, err)
	nc, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer nc.Close()
	res, err := handshake.Client(testCtx(t), nc, u, nil)
	require.NoError(t, err)

	key := [4]byte{1, 2, 3, 4}
	for _, f := range []struct {
		op      frame.Opcode
		payload []byte
	}{
		{frame.OpText, []byte("valid ")},
		{frame.OpContinuation, []byte{0xff, 'x'}}, // 0xff never occurs in UTF-8
	} {
		h := frame.Header{Opcode: f.op, Masked: true, MaskKey: key, Length: int64(len(f.payload))}
		b := frame.AppendHeader(nil, h)
		p := append([]byte(nil), f.payload...)
		frame.Mask(key, 0, p)
		_, err := nc.Write(append(b, p...))
		require.NoError(t, err)
	}

	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(res.Rest), nc))
	for {
		h, err := frame.ReadHeader(br)
		require.NoError(t, err)
		payload := make([]byte, h.Length)
		_, err = io.ReadFull(br, payload)
		require.NoError(t, err)
		if h.Opcode != frame.OpClose {
			continue // the echo of the valid start may come first
		}
		code, _, err := frame.ParseClosePayload(payload)
		require.NoError(t, err)
		assert.Equal(t, frame.CloseInvalidPayload, code)
		return
	}
}

// On shutdown every open connection is closed with 1001 and serve returns.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, quietLog(), defaultSettings(), ln) }()

	c, _, err := conn.Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("before")))
	_, got, err := c.ReadMessage(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "before", string(got))

	cancel()
	_, _, err = c.ReadMessage(testCtx(t))
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, frame.CloseGoingAway, ce.Code)
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-testCtx(t).Done():
		require.FailNow(t, "serve did not return")
	}
}

// RFC 7692: the echo server negotiates permessage-deflate with a client
// that offers it, compresses its echoes, and serves one that does not.
func TestEchoCompression(t *testing.T) { bothModes(t, testEchoCompression) }

func testEchoCompression(t *testing.T, startEcho func(testing.TB) string) {
	u := startEcho(t)
	for _, tc := range []struct {
		name  string
		offer *conn.CompressionOptions
	}{
		{"7/offered", &conn.CompressionOptions{}},
		{"7/small-windows-no-takeover", &conn.CompressionOptions{NoContextTakeover: true, PeerNoContextTakeover: true,
			MaxWindowBits: 9, PeerMaxWindowBits: 8}},
		{"7/not-offered", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c, _, err := conn.Dial(ctx, u, &conn.DialOptions{Options: conn.Options{Compression: tc.offer}})
			require.NoError(t, err)
			defer c.CloseNow()
			_, ok := c.Compression()
			assert.Equal(t, tc.offer != nil, ok)
			msg := bytes.Repeat([]byte("compress me please "), 1000)
			for range 3 {
				require.NoError(t, c.WriteMessage(ctx, conn.MessageText, msg))
				_, got, err := c.ReadMessage(ctx)
				require.NoError(t, err)
				assert.Equal(t, msg, got)
			}
			require.NoError(t, c.Close(frame.CloseNormal, ""))
		})
	}
}

// startEchoWith serves the echo server with set on loopback, as serve does, until the test ends.
func startEchoWith(t testing.TB, set settings) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, quietLog(), set, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-served)
	})
	return "ws://" + ln.Addr().String() + "/"
}

// RFC 6455, Section 7.4.1: 1009 for a message over -read-limit.
func TestServeReadLimit(t *testing.T) {
	set := defaultSettings()
	set.readLimit = 100
	u := startEchoWith(t, set)
	ctx := testCtx(t)
	c, _, err := conn.Dial(ctx, u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, bytes.Repeat([]byte("x"), 100)))
	_, got, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 100, "a message of the limit is echoed")
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, bytes.Repeat([]byte("x"), 101)))
	_, _, err = c.ReadMessage(ctx)
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, frame.CloseTooBig, ce.Code)
}

// -ping-interval: a peer that reads answers the pings and stays; one that stops reading is failed and
// sent 1001 within the interval and the pong timeout.
func TestServeKeepalive(t *testing.T) {
	const interval = 50 * time.Millisecond
	set := defaultSettings()
	set.pingInterval, set.pongTimeout = interval, 500*time.Millisecond
	u := startEchoWith(t, set)
	ctx := testCtx(t)

	pinged := make(chan struct{}, 1)
	reader, _, err := conn.Dial(ctx, u, &conn.DialOptions{Options: conn.Options{OnPing: func([]byte) {
		select {
		case pinged <- struct{}{}:
		default:
		}
	}}})
	require.NoError(t, err)
	defer reader.CloseNow()
	read := make(chan error, 1)
	go func() {
		_, _, err := reader.ReadMessage(ctx)
		read <- err
	}()
	silent, _, err := conn.Dial(ctx, u, nil)
	require.NoError(t, err)
	defer silent.CloseNow()

	select {
	case <-pinged:
	case <-ctx.Done():
		require.FailNow(t, "no ping")
	}
	// Far past the interval and the pong timeout; the silent peer has been failed by now.
	time.Sleep(2 * time.Second)
	require.NoError(t, reader.WriteMessage(ctx, conn.MessageText, []byte("still here")))
	require.NoError(t, <-read, "the reading peer is still served")
	_, _, err = silent.ReadMessage(ctx)
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce, "the silent peer's connection ended")
	// A reset may overtake the close frame: the server closes TCP at once.
	assert.Contains(t, []frame.CloseCode{frame.CloseGoingAway, frame.CloseAbnormal}, ce.Code)
	require.NoError(t, reader.Close(frame.CloseNormal, ""))
}

// -write-timeout: a peer that sends but never reads fills the echo's way back; the write that the kernel
// no longer takes fails the connection instead of holding it for ever.
func TestServeWriteTimeout(t *testing.T) {
	set := defaultSettings()
	set.compress, set.writeTimeout = false, 200*time.Millisecond
	u := startEchoWith(t, set)
	ctx := testCtx(t)
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, _, err := conn.Dial(ctx, u, &conn.DialOptions{NetDial: small.DialContext})
	require.NoError(t, err)
	defer c.CloseNow()
	msg := make([]byte, 1<<20)
	_, _ = rand.Read(msg)
	// The socket buffers on the way hold some MiB; the bound keeps the test finite if nothing failed.
	for range 256 {
		if err = c.WriteMessage(ctx, conn.MessageBinary, msg); err != nil {
			break
		}
	}
	require.Error(t, err, "the server failed the connection")
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the server, not the test's deadline, ended it")
}

// bothModes runs an echo test against the server in each of its modes: a
// goroutine per connection, and readiness-driven (-event).
func bothModes(t *testing.T, test func(t *testing.T, start func(testing.TB) string)) {
	t.Run("goroutines", func(t *testing.T) { test(t, startEcho) })
	t.Run("event", func(t *testing.T) {
		test(t, func(tb testing.TB) string {
			set := defaultSettings()
			set.event = true
			return startEchoWith(tb, set)
		})
	})
}
