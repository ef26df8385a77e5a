package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/internal/servertest"
)

var listening = regexp.MustCompile(`msg=listening addr=ws://(\S+)`)

// TestBinary runs the built command as a process, as a user, a conformance suite or a hostile client
// meets it.
func TestBinary(t *testing.T) {
	bin := servertest.Build(t, "duplex/cmd/wsecho")

	t.Run("usage", func(t *testing.T) {
		servertest.CheckUsage(t, bin, "usage: wsecho", []string{"-read-limit", "-ping-interval", "-write-timeout"},
			[]string{"-read-limit", "0"}, "-read-limit 0: must be positive")
	})
	t.Run("idle-http-connections-closed", func(t *testing.T) { testIdleConnections(t, bin) })
	t.Run("large-heads-431", func(t *testing.T) {
		p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0")
		servertest.CheckHeadLimits(t, p.Addr, "/", healthPath)
		require.NoError(t, p.Stop(time.Minute))
	})
}

// testIdleConnections: a thousand keep-alive connections that made one request each and then sent
// nothing are all closed by the idle timeout, not before it, while echo clients connected before and
// during are served, and stay served past net/http's idle and write timeouts.
func testIdleConnections(t *testing.T, bin string) {
	const idle = time.Second
	p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0", "-idle-timeout", idle.String(), "-write-timeout", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := dialEcho(ctx, t, p.Addr)

	s, err := servertest.OpenIdle(p.Addr, 1000, "GET "+healthPath+" HTTP/1.1\r\nHost: "+p.Addr+"\r\n\r\n", time.Minute)
	require.NoError(t, err)
	during := dialEcho(ctx, t, p.Addr)
	for _, c := range []*conn.Conn{before, during} {
		roundTrip(ctx, t, c, "served while a thousand connections idle")
	}
	closed, shortest := s.Wait()
	assert.Equal(t, 1000, closed, "every idle connection is closed by the server")
	assert.GreaterOrEqual(t, shortest, idle, "by the idle timeout, not before it")

	// Both WebSocket connections are older than the idle and write timeouts by now.
	for _, c := range []*conn.Conn{before, during} {
		roundTrip(ctx, t, c, "still served")
		require.NoError(t, c.Close(conn.CloseNormal, ""))
	}
	require.NoError(t, p.Stop(time.Minute))
}

func dialEcho(ctx context.Context, t *testing.T, addr string) *conn.Conn {
	t.Helper()
	c, _, err := conn.Dial(ctx, "ws://"+addr+"/", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func roundTrip(ctx context.Context, t *testing.T, c *conn.Conn, text string) {
	t.Helper()
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, []byte(text)))
	_, got, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, text, string(got))
}
