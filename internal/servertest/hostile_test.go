package servertest_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"duplex/internal/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs an http.Server with srv's settings on loopback until the test ends.
func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestHeadSizes(t *testing.T) {
	for _, size := range []int{200, 8192, 1 << 20} {
		h := servertest.Head(t, "127.0.0.1:1", "/ws", size, servertest.UpgradeFields...)
		assert.Len(t, h, size)
		assert.True(t, strings.HasSuffix(h, "\r\n\r\n"))
		assert.Equal(t, 1, strings.Count(h, "\r\n\r\n"), "one end of head")
	}
	h := servertest.HeadLines("h", "/", 3)
	assert.Equal(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Pad-0: x\r\nX-Pad-1: x\r\nX-Pad-2: x\r\n\r\n", h)
}

func TestIdleClosedByIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr := serve(t, &http.Server{IdleTimeout: idle})
	s, err := servertest.OpenIdle(addr, 20, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 20*time.Second)
	require.NoError(t, err)
	closed, shortest := s.Wait()
	assert.Equal(t, 20, closed)
	assert.GreaterOrEqual(t, shortest, idle)
}

func TestIdleLeftOpenWithoutIdleTimeout(t *testing.T) {
	addr := serve(t, &http.Server{})
	s, err := servertest.OpenIdle(addr, 5, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 500*time.Millisecond)
	require.NoError(t, err)
	closed, _ := s.Wait()
	assert.Zero(t, closed)
}

func TestIdleRefusesAClosingResponse(t *testing.T) {
	addr := serve(t, &http.Server{})
	_, err := servertest.OpenIdle(addr, 5, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10*time.Second)
	require.Error(t, err)
}

func TestSendLargeHead(t *testing.T) {
	addr := serve(t, &http.Server{MaxHeaderBytes: 4096})
	r, err := servertest.Send(addr, servertest.Head(t, "x", "/", 1<<20), 10*time.Second)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, r.Status)
	assert.True(t, r.Closed(10*time.Second))

	r, err = servertest.Send(addr, servertest.Head(t, "x", "/", 100), 10*time.Second)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, http.StatusOK, r.Status)
	assert.False(t, r.Closed(200*time.Millisecond), "a keep-alive connection stays open")
}
