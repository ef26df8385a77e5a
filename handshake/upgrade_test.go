package handshake_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// upgraded is what the handler of an upgradeServer got from Upgrade.
type upgraded struct {
	conn net.Conn
	res  *handshake.Result
	err  error
}

// upgradeServer starts an HTTP server on loopback whose handler calls Upgrade and reports
// the outcome on the channel. The test closes the server and any upgraded connection.
func upgradeServer(t *testing.T, opts *handshake.ServerOptions) (*httptest.Server, <-chan upgraded) {
	t.Helper()
	ch := make(chan upgraded, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, res, err := handshake.Upgrade(w, r, opts)
		ch <- upgraded{c, res, err}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func dialServer(t *testing.T, srv *httptest.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUpgradeKeepsBytesAfterHead sends the request and a first frame in one write: the
// frame, already buffered by net/http, must come out of Result.Rest or the connection.
func TestUpgradeKeepsBytesAfterHead(t *testing.T) {
	srv, ch := upgradeServer(t, &handshake.ServerOptions{Subprotocols: []string{"chat"}, Header: http.Header{"X-Server": {"duplex"}}})
	c := dialServer(t, srv)
	frame := "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" // RFC 6455, Section 5.7
	raw := head(getLine, append(without("Host", "Host: "+srv.Listener.Addr().String()), "Sec-WebSocket-Protocol: chat")...)
	x := sendRaw(t, c, raw+frame)
	assert.Equal(t, http.StatusSwitchingProtocols, x.resp.StatusCode)
	assert.Equal(t, rfcAccept, x.raw.Get("Sec-WebSocket-Accept"))
	assert.Equal(t, "chat", x.raw.Get("Sec-WebSocket-Protocol"))
	assert.Equal(t, "duplex", x.raw.Get("X-Server"))

	u := <-ch
	require.NoError(t, u.err)
	defer u.conn.Close()
	assert.Equal(t, "chat", u.res.Subprotocol)
	assert.Equal(t, "/chat", u.res.Request().Target)
	assert.Equal(t, "chat", u.res.RequestHeader("sec-websocket-protocol"))
	assert.Equal(t, srv.Listener.Addr().String(), u.res.RequestHeader("Host"))
	assert.Empty(t, u.res.RequestHeader("Cookie"))
	got := make([]byte, len(frame))
	_, err := io.ReadFull(afterHead(u.res, u.conn), got)
	require.NoError(t, err)
	assert.Equal(t, frame, string(got))
}

func TestUpgradeClientRoundTrip(t *testing.T) {
	srv, ch := upgradeServer(t, nil)
	c := dialServer(t, srv)
	res, err := handshake.Client(testContext(t), c, mustURL(t, srv.URL+"/echo"), nil)
	require.NoError(t, err)
	u := <-ch
	require.NoError(t, u.err)
	defer u.conn.Close()

	_, err = u.conn.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(afterHead(res, c), got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))
}

func TestUpgradeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		opts    *handshake.ServerOptions
		line    string
		fields  []string
		status  int
		cause   error
		headers map[string]string
	}{
		{name: "4.2.1/method-post", line: "POST /chat HTTP/1.1", fields: validFields,
			status: 405, cause: handshake.ErrBadMethod, headers: map[string]string{"Allow": "GET"}},
		{name: "4.2.1/http-1.0", line: "GET /chat HTTP/1.0", fields: validFields, status: 400, cause: handshake.ErrBadHTTPVersion},
		{name: "4.2.1/missing-upgrade", line: getLine, fields: without("Upgrade"),
			status: 426, cause: handshake.ErrNotUpgrade, headers: map[string]string{"Upgrade": "websocket"}},
		{name: "4.2.1/missing-key", line: getLine, fields: without("Sec-WebSocket-Key"), status: 400, cause: handshake.ErrBadKey},
		{name: "4.2.2/version-8-gets-426", line: getLine, fields: without("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
			status: 426, cause: handshake.ErrBadVersion, headers: map[string]string{"Sec-WebSocket-Version": "13"}},
		{name: "10.2/cross-origin-gets-403", line: getLine, fields: append(validFields, "Origin: https://evil.test"),
			status: 403, cause: handshake.ErrOriginRefused},
		{name: "options/reserved-header-gets-500", opts: &handshake.ServerOptions{Header: http.Header{"Connection": {"close"}}},
			line: getLine, fields: validFields, status: 500, cause: handshake.ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ch := upgradeServer(t, tt.opts)
			c := dialServer(t, srv)
			x := sendRaw(t, c, head(tt.line, tt.fields...))
			assertRefusal(t, x, tt.status)
			for k, v := range tt.headers {
				assert.Equal(t, v, x.raw.Get(k), k)
			}
			u := <-ch
			require.ErrorIs(t, u.err, tt.cause)
			var he *handshake.Error
			require.ErrorAs(t, u.err, &he)
			assert.Equal(t, tt.status, he.Status)
			assert.Nil(t, u.conn)
			assert.Nil(t, u.res)
		})
	}
}

// TestUpgradeNotHijackable uses a ResponseWriter that cannot hand over its connection.
func TestUpgradeNotHijackable(t *testing.T) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head(getLine, validFields...))))
	require.NoError(t, err)
	w := httptest.NewRecorder()
	c, res, err := handshake.Upgrade(w, r, nil)
	require.ErrorIs(t, err, handshake.ErrNotHijackable)
	var he *handshake.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusInternalServerError, he.Status)
	assert.Nil(t, c)
	assert.Nil(t, res)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "close", w.Header().Get("Connection"))
}

// wrappedWriter is a middleware's ResponseWriter: it hides Hijack but unwraps.
type wrappedWriter struct{ http.ResponseWriter }

func (w wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestUpgradeThroughWrapper: a ResponseWriter wrapped by middleware still hijacks, through
// its Unwrap method.
func TestUpgradeThroughWrapper(t *testing.T) {
	ch := make(chan upgraded, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, res, err := handshake.Upgrade(wrappedWriter{w}, r, nil)
		ch <- upgraded{c, res, err}
	}))
	defer srv.Close()
	_, isHijacker := any(wrappedWriter{}).(http.Hijacker)
	require.False(t, isHijacker)

	c := dialServer(t, srv)
	_, err := handshake.Client(testContext(t), c, mustURL(t, srv.URL), nil)
	require.NoError(t, err)
	u := <-ch
	require.NoError(t, u.err)
	require.NoError(t, u.conn.Close())
}

// TestUpgradeAllocs: Upgrade allocates nothing of its own for a caller that does not keep
// the Result, as conn.Upgrade: the checks gather in the pooled scratch and the Result is on
// the caller's stack. net/http's own work (reading the request, the hijack) is left out, as
// in BenchmarkUpgrade. Under the race detector sync.Pool drops some of what is put back:
// raceAllocs allows for that.
func TestUpgradeAllocs(t *testing.T) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(browserRequest)))
	require.NoError(t, err)
	w := &hijackWriter{header: http.Header{}, brw: bufio.NewReadWriter(bufio.NewReader(nil), bufio.NewWriter(nil))}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	allocs := testing.AllocsPerRun(200, func() {
		if _, _, err := handshake.Upgrade(w, r, nil); err != nil {
			t.Error(err)
		}
	})
	assert.LessOrEqual(t, allocs, float64(raceAllocs))
}
