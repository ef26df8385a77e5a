package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// startServer runs a chat.Server on loopback; the hub is shut down and the listener closed with the test.
func startServer(t testing.TB, cfg *chat.Config) (*chat.Server, *httptest.Server) {
	t.Helper()
	srv := chat.NewServer(quiet(withTestLoop(cfg)))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		hs.Close()
	})
	return srv, hs
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws" }

// dial connects a client, which is closed with the test.
func dial(t testing.TB, url string, opts *conn.DialOptions) *conn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := conn.Dial(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func write(t testing.TB, c *conn.Conn, ev chat.Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, b))
}

func read(t testing.TB, c *conn.Conn) (chat.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := c.ReadMessage(ctx)
	if err != nil {
		return chat.Event{}, err
	}
	return decodeEvent(t, b), nil
}

func readOf(t testing.TB, c *conn.Conn, k chat.Kind) chat.Event {
	t.Helper()
	for {
		ev, err := read(t, c)
		require.NoError(t, err)
		if ev.Type == k {
			return ev
		}
	}
}

// closeStatus reads until the server closes c and returns the close frame's code and reason.
func closeStatus(t testing.TB, c *conn.Conn) conn.CloseError {
	t.Helper()
	for {
		_, err := read(t, c)
		if err != nil {
			var ce conn.CloseError
			require.ErrorAs(t, err, &ce)
			return ce
		}
	}
}

func TestServerChatOverWebSocket(t *testing.T) {
	srv, hs := startServer(t, nil)
	a := dial(t, wsURL(hs), nil)
	write(t, a, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	w := readOf(t, a, chat.KindWelcome)
	assert.Equal(t, "lobby", w.Room)

	b := dial(t, wsURL(hs), nil)
	write(t, b, chat.Event{Type: chat.KindJoin, Nick: "bob"})
	assert.Equal(t, []string{"ada", "bob"}, readOf(t, b, chat.KindWelcome).Users)
	write(t, b, chat.Event{Type: chat.KindSend, Text: "hi ada"})
	m := readOf(t, a, chat.KindMessage)
	assert.Equal(t, "bob", m.Nick)
	assert.Equal(t, "hi ada", m.Text)

	require.NoError(t, b.Close(frame.CloseNormal, ""))
	assert.Equal(t, "bob", readOf(t, a, chat.KindLeft).Nick)

	st := srv.Hub().Stats()
	assert.Equal(t, int64(2), st.ConnectionsTotal)
	assert.GreaterOrEqual(t, st.MessagesIn, int64(3))
	assert.GreaterOrEqual(t, st.MessagesOut, int64(6))
}

func TestServerPageHealthAndMetrics(t *testing.T) {
	_, hs := startServer(t, nil)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(hs.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}

	resp, body := get("/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `<script src="chat.js"`)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	for _, asset := range []string{"/chat.js", "/chat.css"} {
		resp, _ := get(asset)
		assert.Equal(t, http.StatusOK, resp.StatusCode, asset)
	}

	resp, body = get("/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", body)

	c := dial(t, wsURL(hs), nil)
	write(t, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	readOf(t, c, chat.KindWelcome)
	_, body = get("/metrics")
	for _, line := range []string{
		"# TYPE chat_connections_active gauge\nchat_connections_active 1\n",
		"chat_connections_total 1\n",
		"chat_messages_in_total 1\n",
		"chat_slow_clients_dropped_total 0\n",
		"# TYPE chat_room_full_total counter\nchat_room_full_total 0\n",
		"chat_sessions_resumed_total 0\n",
	} {
		assert.Contains(t, body, line)
	}
}

// TestServerOrigin checks the origin policy of RFC 6455, Section 10.2: "servers that are not intended to
// process input from any web page but only for certain sites SHOULD verify the |Origin| field".
func TestServerOrigin(t *testing.T) {
	cases := []struct {
		name   string
		cfg    chat.Config
		host   string // how the client names the server: its URL's host (the Host header)
		origin string // "" sends no Origin, as non-browser clients do
		ok     bool
	}{
		{"10.2/page-on-127.0.0.1", chat.Config{}, "127.0.0.1", "http://127.0.0.1:PORT", true},
		{"10.2/page-on-localhost", chat.Config{}, "localhost", "http://localhost:PORT", true},
		{"10.2/no-origin", chat.Config{}, "127.0.0.1", "", true},
		{"10.2/other-site-refused", chat.Config{}, "127.0.0.1", "http://evil.example", false},
		{"10.2/other-port-refused", chat.Config{}, "127.0.0.1", "http://127.0.0.1:1", false},
		{"10.2/allowed-pattern", chat.Config{OriginPatterns: []string{"*.example.com"}}, "127.0.0.1", "https://chat.example.com", true},
		{"10.2/any-origin", chat.Config{InsecureSkipOriginCheck: true}, "127.0.0.1", "http://evil.example", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, hs := startServer(t, &tc.cfg)
			port := hs.URL[strings.LastIndex(hs.URL, ":")+1:]
			url := "ws://" + tc.host + ":" + port + "/ws"
			opts := &conn.DialOptions{ClientOptions: conn.ClientOptions{Origin: strings.ReplaceAll(tc.origin, "PORT", port)}}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, _, err := conn.Dial(ctx, url, opts)
			if !tc.ok {
				var he *handshake.Error
				require.ErrorAs(t, err, &he)
				assert.Equal(t, http.StatusForbidden, he.Status)
				return
			}
			require.NoError(t, err)
			defer c.CloseNow()
			write(t, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
			readOf(t, c, chat.KindWelcome)
		})
	}
}

func TestServerLimits(t *testing.T) {
	t.Run("7.4.1/1009-message-over-read-limit", func(t *testing.T) {
		srv, hs := startServer(t, &chat.Config{MaxMessageSize: 256})
		c := dial(t, wsURL(hs), nil)
		write(t, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
		readOf(t, c, chat.KindWelcome)
		// Over the limit but readable: refused, and the connection stays.
		write(t, c, chat.Event{Type: chat.KindSend, ID: "long", Text: strings.Repeat("x", 300)})
		e := readOf(t, c, chat.KindError)
		assert.Equal(t, chat.ErrCodeTooLong, e.Code)
		assert.Equal(t, "long", e.ID)
		// Over the read limit: the frame header is enough to close with 1009.
		write(t, c, chat.Event{Type: chat.KindSend, Text: strings.Repeat("x", chat.ReadLimitFactor*256)})
		assert.Equal(t, frame.CloseTooBig, closeStatus(t, c).Code)
		assert.Eventually(t, func() bool { return srv.Hub().Stats().TooBig == 1 }, wait, tick)
	})
	t.Run("7.4.1/1003-binary", func(t *testing.T) {
		_, hs := startServer(t, nil)
		c := dial(t, wsURL(hs), nil)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, c.WriteMessage(ctx, conn.MessageBinary, []byte{1, 2, 3}))
		assert.Equal(t, frame.CloseUnsupportedData, closeStatus(t, c).Code)
	})
	t.Run("7.4.1/1008-rate-ignored", func(t *testing.T) {
		_, hs := startServer(t, &chat.Config{Rate: 0.001, Burst: 2})
		c := dial(t, wsURL(hs), nil)
		write(t, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
		readOf(t, c, chat.KindWelcome)
		write(t, c, chat.Event{Type: chat.KindSend, Text: "one"})
		readOf(t, c, chat.KindMessage)
		write(t, c, chat.Event{Type: chat.KindSend, ID: "x", Text: "spam"})
		e := readOf(t, c, chat.KindError)
		assert.Equal(t, chat.ErrCodeRateLimited, e.Code, "refused first, the connection open")
		assert.Positive(t, e.RetryMS)
		for range chat.AbuseRefusals {
			write(t, c, chat.Event{Type: chat.KindSend, Text: "spam"})
		}
		ce := closeStatus(t, c)
		assert.Equal(t, frame.ClosePolicyViolation, ce.Code)
		assert.Equal(t, "rate limit exceeded", ce.Reason)
	})
	t.Run("7.4.1/1008-connections-per-address", func(t *testing.T) {
		_, hs := startServer(t, &chat.Config{MaxConnsPerIP: 2})
		for _, nick := range []string{"a", "b"} {
			// A welcome proves the hub counted the connection before the next one dials.
			c := dial(t, wsURL(hs), nil)
			write(t, c, chat.Event{Type: chat.KindJoin, Nick: nick})
			readOf(t, c, chat.KindWelcome)
		}
		ce := closeStatus(t, dial(t, wsURL(hs), nil))
		assert.Equal(t, frame.ClosePolicyViolation, ce.Code)
		assert.Equal(t, "too many connections from your address", ce.Reason)
	})
}

func TestServerShutdownSaysGoingAway(t *testing.T) {
	srv, hs := startServer(t, nil)
	c := dial(t, wsURL(hs), nil)
	write(t, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	readOf(t, c, chat.KindWelcome)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	ce := closeStatus(t, c)
	assert.Equal(t, frame.CloseGoingAway, ce.Code)
	assert.Equal(t, "server shutting down", ce.Reason)
	require.NoError(t, <-done)

	resp, err := http.Get(hs.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestServerStalledReaderOverTCP is the slow-client test over real sockets: a client that never reads
// fills its TCP buffers, then its queue, and is dropped, while the others receive every message.
func TestServerStalledReaderOverTCP(t *testing.T) {
	srv, hs := startServer(t, &chat.Config{QueueSize: 8, MaxMessageSize: 64 << 10, Rate: 1e6, Burst: 1e6, Grace: -1})
	// A small receive buffer on the stuck side makes its connection fill after a few messages rather than MiBs.
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	stuck := dial(t, wsURL(hs), &conn.DialOptions{NetDial: small.DialContext})
	write(t, stuck, chat.Event{Type: chat.KindJoin, Nick: "stuck"})
	var others []*conn.Conn
	for _, nick := range []string{"ada", "bob"} {
		c := dial(t, wsURL(hs), nil)
		write(t, c, chat.Event{Type: chat.KindJoin, Nick: nick})
		readOf(t, c, chat.KindWelcome)
		others = append(others, c)
	}

	// 32 KiB messages until the stuck client is dropped; the bound keeps the test finite if dropping were broken.
	text := strings.Repeat("x", 32<<10)
	sawLeft := make([]bool, len(others))
	sent := 0
	for ; sent < 2000 && !(sawLeft[0] && sawLeft[1]); sent++ {
		write(t, others[0], chat.Event{Type: chat.KindSend, Text: text})
		// Every other client gets each message before the next is sent.
		for i, c := range others {
			for {
				ev, err := read(t, c)
				require.NoError(t, err)
				if ev.Type == chat.KindLeft && ev.Nick == "stuck" {
					sawLeft[i] = true
				}
				if ev.Type == chat.KindMessage {
					break
				}
			}
		}
	}
	t.Logf("dropped after %d messages", sent)
	assert.Equal(t, []bool{true, true}, sawLeft, "the others are told the stuck client left")
	assert.Equal(t, int64(1), srv.Hub().Stats().SlowDropped, "dropped after %d messages", sent)
}

// pump reads c on a goroutine of its own, as a browser does, so that c answers pings, and hands over each
// event; the channel closes when the connection ends. The goroutine ends with the test.
func pump(t testing.TB, c *conn.Conn) <-chan chat.Event {
	t.Helper()
	events := make(chan chat.Event, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		for {
			_, b, err := c.ReadMessage(context.Background())
			if err != nil {
				return
			}
			if ev, err := jsonEvent(b); err == nil {
				events <- ev
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.CloseNow()
		<-done
	})
	return events
}

// nextOf returns the next event of kind k from events, failing the test if the connection ends first.
func nextOf(t testing.TB, events <-chan chat.Event, k chat.Kind) chat.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the connection ended before a %s event", k)
			if ev.Type == k {
				return ev
			}
		case <-timeout:
			require.FailNow(t, "no event", "no %s event within %v", k, wait)
		}
	}
}

// TestServerKeepaliveRemovesSilentMember: a member whose client stops reading answers none of the
// server's pings; keepalive ends its connection and the room sees it leave, while a member whose client
// keeps reading (so its pongs go out) stays for many intervals.
func TestServerKeepaliveRemovesSilentMember(t *testing.T) {
	const interval = 100 * time.Millisecond
	// A long pong timeout keeps the reading member safe on a loaded machine; the silent one is still
	// removed within about a second.
	// A short grace: the silent member leaves once it is over.
	srv, hs := startServer(t, &chat.Config{PingInterval: interval, PongTimeout: time.Second, Grace: 50 * time.Millisecond})
	ada := dial(t, wsURL(hs), nil)
	events := pump(t, ada)
	write(t, ada, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	nextOf(t, events, chat.KindWelcome)

	bob := dial(t, wsURL(hs), nil)
	write(t, bob, chat.Event{Type: chat.KindJoin, Nick: "bob"})
	readOf(t, bob, chat.KindWelcome)
	// bob now neither reads nor sends.
	for nextOf(t, events, chat.KindJoined).Nick != "bob" {
	}
	assert.Equal(t, "bob", nextOf(t, events, chat.KindLeft).Nick, "keepalive removed the silent member")
	assert.Eventually(t, func() bool { return srv.Hub().Stats().ConnectionsActive == 1 }, wait, tick)
	// The server sent 1001 (going away) and closed TCP; a reset may overtake the close frame.
	assert.Contains(t, []frame.CloseCode{frame.CloseGoingAway, frame.CloseAbnormal}, closeStatus(t, bob).Code)

	// Fifteen intervals, each with a ping answered by ada's reader.
	time.Sleep(15 * interval)
	write(t, ada, chat.Event{Type: chat.KindSend, Text: "still here"})
	assert.Equal(t, "still here", nextOf(t, events, chat.KindMessage).Text)
	assert.Equal(t, int64(1), srv.Hub().Stats().ConnectionsActive)
}
