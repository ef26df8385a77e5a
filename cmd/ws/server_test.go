package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/internal/servertest"
)

var listeningRE = regexp.MustCompile(`listening on (ws://\S+)`)

// startListener runs ws -listen on a free port and returns its URL, its
// standard input, standard output and error, and a channel with its exit
// status.
func startListener(t *testing.T, args ...string) (string, *io.PipeWriter, *lockedBuffer, *lockedBuffer, <-chan int) {
	t.Helper()
	stdin, feed := io.Pipe()
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	exit := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	go func() {
		exit <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), stdin, out, errb)
		cancel()
	}()
	t.Cleanup(func() {
		feed.Close()
		cancel()
	})
	waitFor(t, errb, "listening on")
	m := listeningRE.FindStringSubmatch(errb.String())
	require.NotNil(t, m, errb.String())
	return m[1], feed, out, errb, exit
}

// waitFor waits until b holds s.
func waitFor(t testing.TB, b *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", s, testTimeout, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerPrintsClientsAndBroadcastsStdin(t *testing.T) {
	url, feed, out, errb, exit := startListener(t, "-v", "-subprotocol", "chat",
		"-close-code", "4003", "-close-reason", "server done")
	ctx := context.Background()
	var clients []*conn.Conn
	for range 2 {
		c, _, err := conn.Dial(ctx, url, &conn.DialOptions{ClientOptions: conn.ClientOptions{Subprotocols: []string{"chat"}}})
		require.NoError(t, err)
		defer c.CloseNow()
		assert.Equal(t, "chat", c.Subprotocol())
		clients = append(clients, c)
	}

	// A client joins the broadcast once the server has registered it,
	// which verbose mode reports. Numbers are given as connections are
	// accepted, but handlers register in any order: wait for each.
	waitFor(t, errb, "[1] connected")
	waitFor(t, errb, "[2] connected")
	require.NoError(t, clients[0].WriteMessage(ctx, conn.MessageText, []byte("from a client")))
	_, err := feed.Write([]byte("to all\n"))
	require.NoError(t, err)
	for _, c := range clients {
		typ, b, err := c.ReadMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, conn.MessageText, typ)
		assert.Equal(t, "to all", string(b))
	}

	// Messages that arrive after the server's close frame are discarded:
	// wait for the print before ending the input.
	waitFor(t, out, "from a client\n")
	require.NoError(t, feed.Close())
	for _, c := range clients {
		_, _, err := c.ReadMessage(ctx)
		var ce conn.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, frame.CloseCode(4003), ce.Code)
		assert.Equal(t, "server done", ce.Reason)
	}
	select {
	case code := <-exit:
		assert.Equal(t, exitOK, code)
	case <-time.After(testTimeout):
		t.Fatal("ws -listen did not exit at the end of its input")
	}
	assert.Equal(t, "from a client\n", out.String())
}

func TestServerCannotListen(t *testing.T) {
	res := runWS(t, nil, "-listen", "127.0.0.1:-1")
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "cannot listen")
}

// The listener refuses a request head over the handshake's 8 KiB with 431
// and closes the connection; a head of 8 KiB is served.
func TestServerHeadLimit(t *testing.T) {
	url, feed, _, _, exit := startListener(t)
	addr := strings.TrimPrefix(url, "ws://")
	for _, tc := range []struct {
		name   string
		size   int
		status int
	}{
		{"1MiB", 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
		{"8KiB+1", 8<<10 + 1, http.StatusRequestHeaderFieldsTooLarge},
		{"8KiB", 8 << 10, http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := servertest.Send(addr, servertest.Head(t, addr, "/", tc.size, servertest.UpgradeFields...), testTimeout)
			require.NoError(t, err)
			defer r.Close()
			assert.Equal(t, tc.status, r.Status)
			if tc.status != http.StatusSwitchingProtocols {
				assert.True(t, r.Closed(testTimeout), "closed after 431")
			}
		})
	}
	require.NoError(t, feed.Close())
	select {
	case code := <-exit:
		assert.Equal(t, exitOK, code)
	case <-time.After(testTimeout):
		t.Fatal("ws -listen did not exit at the end of its input")
	}
}
