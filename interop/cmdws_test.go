package interop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// wsBin is the ws command, built once for the tests that run it; TestMain
// removes its directory.
var wsBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildWS returns the path of the ws command, building it on first use.
func buildWS(t *testing.T) string {
	t.Helper()
	wsBin.once.Do(func() {
		wsBin.dir, wsBin.err = os.MkdirTemp("", "duplex-ws-")
		if wsBin.err != nil {
			return
		}
		wsBin.path = filepath.Join(wsBin.dir, "ws")
		out, err := exec.Command("go", "build", "-o", wsBin.path, "duplex/cmd/ws").CombinedOutput()
		if err != nil {
			wsBin.err = fmt.Errorf("go build duplex/cmd/ws: %w\n%s", err, out)
		}
	})
	require.NoError(t, wsBin.err)
	return wsBin.path
}

// removeWS removes the directory of the ws command, if one was built.
func removeWS() {
	if wsBin.dir != "" {
		_ = os.RemoveAll(wsBin.dir)
	}
}

// wsRun is one run of the ws binary.
type wsRun struct {
	code        int
	out, stderr string
}

// runBinary runs bin with args, feeding it stdin, to its end.
func runBinary(t testing.TB, bin string, stdin io.Reader, args ...string) wsRun {
	t.Helper()
	cmd, out, errb := wsCommand(t, bin, stdin, args...)
	require.NoError(t, cmd.Start())
	return waitBinary(t, cmd, out, errb)
}

// wsCommand prepares a run of bin bounded by waitTimeout. An input that
// stays open must be an *os.File: exec waits for the copy of any other
// reader to end, which an open pipe never does.
func wsCommand(t testing.TB, bin string, stdin io.Reader, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = stdin
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	return cmd, out, errb
}

func waitBinary(t testing.TB, cmd *exec.Cmd, out, errb *lockedBuffer) wsRun {
	t.Helper()
	err := cmd.Wait()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return wsRun{code: code, out: out.String(), stderr: errb.String()}
}

// openStdin is a pipe whose read end is a standard input that stays open
// until the test closes the write end.
func openStdin(t testing.TB) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = r.Close()
		_ = w.Close()
	})
	return r, w
}

// TestCmdWSAgainstNode drives the ws binary against Node's ws server.
func TestCmdWSAgainstNode(t *testing.T) {
	node := nodePeer(t)
	bin := buildWS(t)
	r := newRouter()
	pki := newTestPKI(t)
	plain := startProc(t, r, nil, node, "node/peer.js", "server", "0").port(t)
	secure := startProc(t, r, nil, node, "node/peer.js", "server", "0", pki.certFile, pki.keyFile).port(t)
	target := func(id string) string { return fmt.Sprintf("ws://127.0.0.1:%d/?id=%s", plain, id) }

	t.Run("echo-through-a-pipe", func(t *testing.T) {
		id := newID()
		peer := r.watch(id)
		res := runBinary(t, bin, strings.NewReader("hello\nwörld\n"), target(id))
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "hello\nwörld\n", res.out)
		ev := nextEvent(t, peer, "close")
		assert.Equal(t, 1000, ev.Code, "default close code, as the server saw it")
	})

	t.Run("binary", func(t *testing.T) {
		res := runBinary(t, bin, strings.NewReader("\x00\xff\n"), "-binary", target(newID()))
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "\x00\xff\n", res.out)
	})

	t.Run("4.2.2/subprotocol", func(t *testing.T) {
		id := newID()
		peer := r.watch(id)
		res := runBinary(t, bin, strings.NewReader(""), "-v", "-wait", "0",
			"-subprotocol", "duplex.v1,duplex.v2", target(id))
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stderr, "< Sec-WebSocket-Protocol: duplex.v2")
		assert.Equal(t, "duplex.v2", nextEvent(t, peer, "open").Protocol)
	})

	t.Run("5.5.2/ping-interval", func(t *testing.T) {
		stdin, feed := openStdin(t)
		cmd, out, errb := wsCommand(t, bin, stdin, "-v", "-ping", "20ms", target(newID()))
		require.NoError(t, cmd.Start())
		// Node answers pings by itself; verbose mode shows the frames.
		waitFor(t, errb, "< frame pong fin len=0")
		require.NoError(t, feed.Close())
		res := waitBinary(t, cmd, out, errb)
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stderr, "> frame ping fin len=0 masked")
	})

	t.Run("7/close-code-from-ws", func(t *testing.T) {
		id := newID()
		peer := r.watch(id)
		res := runBinary(t, bin, strings.NewReader(""), "-wait", "0",
			"-close-code", "4001", "-close-reason", "cli bye", target(id))
		assert.Equal(t, 0, res.code, res.stderr)
		ev := nextEvent(t, peer, "close")
		assert.Equal(t, 4001, ev.Code)
		assert.Equal(t, "cli bye", ev.Reason)
	})

	t.Run("7/close-code-from-server", func(t *testing.T) {
		stdin, feed := openStdin(t)
		_, err := feed.Write([]byte(`!{"cmd":"close","code":4002,"reason":"peer bye"}` + "\n"))
		require.NoError(t, err)
		// Standard input stays open: the server's close ends the run.
		res := runBinary(t, bin, stdin, target(newID()))
		assert.Equal(t, 3, res.code, "exit status for a close code other than 1000")
		assert.Contains(t, res.stderr, `the peer closed the connection: 4002`)
		assert.Contains(t, res.stderr, `"peer bye"`)
	})

	t.Run("4.2.2/refused-handshake", func(t *testing.T) {
		res := runBinary(t, bin, strings.NewReader(""), fmt.Sprintf("ws://127.0.0.1:%d/refuse", plain))
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "refused the WebSocket handshake: HTTP 403 Forbidden")
	})

	wss := func(id string) string { return fmt.Sprintf("wss://127.0.0.1:%d/?id=%s", secure, id) }
	t.Run("wss/untrusted", func(t *testing.T) {
		res := runBinary(t, bin, strings.NewReader("x\n"), wss(newID()))
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "not trusted")
	})
	t.Run("wss/cacert", func(t *testing.T) {
		res := runBinary(t, bin, strings.NewReader("secure\n"), "-cacert", pki.caFile, wss(newID()))
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "secure\n", res.out)
	})
	t.Run("wss/insecure", func(t *testing.T) {
		res := runBinary(t, bin, strings.NewReader("insecure\n"), "-insecure", wss(newID()))
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "insecure\n", res.out)
	})
}

// waitFor waits until b holds s.
func waitFor(t testing.TB, b *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", s, waitTimeout, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startListen starts ws -listen on a free port with the extra args and
// returns it with the write end of its standard input, its outputs and the
// address it listens on.
func startListen(t *testing.T, bin string, args ...string) (*exec.Cmd, *os.File, *lockedBuffer, *lockedBuffer, string) {
	t.Helper()
	stdin, feed := openStdin(t)
	cmd, out, errb := wsCommand(t, bin, stdin, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	require.NoError(t, cmd.Start())
	waitFor(t, errb, "listening on ws://")
	rest := strings.SplitAfter(errb.String(), "listening on ws://")[1]
	addr, _, _ := strings.Cut(rest, "\n")
	return cmd, feed, out, errb, strings.TrimSpace(addr)
}

// TestCmdWSListenWithNodeClient drives ws -listen with Node's ws client,
// which echoes what the server broadcasts.
func TestCmdWSListenWithNodeClient(t *testing.T) {
	node := nodePeer(t)
	bin := buildWS(t)
	r := newRouter()

	cmd, feed, out, errb, addr := startListen(t, bin, "-close-code", "4005", "-close-reason", "bye all")

	id := newID()
	peer := r.watch(id)
	startProc(t, r, nil, node, "node/peer.js", "client", "ws://"+addr+"/?id="+id, id)
	nextEvent(t, peer, "open")

	_, err := feed.Write([]byte("hello node\n"))
	require.NoError(t, err)
	waitFor(t, out, "hello node\n") // broadcast, echoed by the client, printed

	require.NoError(t, feed.Close())
	ev := nextEvent(t, peer, "close")
	assert.Equal(t, 4005, ev.Code)
	assert.Equal(t, "bye all", ev.Reason)
	res := waitBinary(t, cmd, out, errb)
	assert.Equal(t, 0, res.code, res.stderr)
}

// TestCmdWSAgainstDuplex drives the ws binary against a duplex server.
func TestCmdWSAgainstDuplex(t *testing.T) {
	bin := buildWS(t)
	r := newRouter()
	srv := startDuplexServer(t, r, newTestPKI(t))

	t.Run("echo-through-a-pipe", func(t *testing.T) {
		id := newID()
		ch := srv.expect(id, conn.Options{})
		cmd, out, errb := wsCommand(t, bin, strings.NewReader("hello duplex\n"), srv.url(false, id))
		require.NoError(t, cmd.Start())
		var c *conn.Conn
		select {
		case a := <-ch:
			c = a.c
		case <-time.After(waitTimeout):
			t.Fatalf("ws did not connect within %v", waitTimeout)
		}
		defer c.CloseNow()
		typ, b, err := c.ReadMessage(ctxFor(t))
		require.NoError(t, err)
		require.NoError(t, c.WriteMessage(ctxFor(t), typ, b))
		_, _, err = c.ReadMessage(ctxFor(t))
		var ce conn.CloseError
		require.ErrorAs(t, err, &ce, "ws closes at the end of its input")
		assert.Equal(t, frame.CloseNormal, ce.Code)
		res := waitBinary(t, cmd, out, errb)
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "hello duplex\n", res.out)
	})
}
