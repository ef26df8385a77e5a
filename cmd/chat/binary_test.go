package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
	"duplex/internal/servertest"
)

var listening = regexp.MustCompile(`msg="chat: listening" addr=(\S+)`)

// TestBinary runs the built command as a process, as a user or a hostile client meets it.
func TestBinary(t *testing.T) {
	bin := servertest.Build(t, "duplex/cmd/chat")

	t.Run("usage", func(t *testing.T) {
		servertest.CheckUsage(t, bin, "usage: chat [flags]", []string{"-allowed-hosts", "-ping-interval", "-idle-timeout"},
			[]string{"-idle-timeout", "0"}, "-idle-timeout 0s: must be positive")
	})
	t.Run("idle-http-connections-closed", func(t *testing.T) { testIdleConnections(t, bin) })
	t.Run("large-heads-431", func(t *testing.T) {
		p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0")
		servertest.CheckHeadLimits(t, p.Addr, "/ws", "/healthz")
		require.NoError(t, p.Stop(time.Minute))
	})
	t.Run("allowed-hosts-421", func(t *testing.T) { testAllowedHosts(t, bin) })
	t.Run("http2-websockets", func(t *testing.T) { testHTTP2(t, bin) })
	t.Run("event", func(t *testing.T) { testEvent(t, bin) })
}

// testEvent: with -event the members are served readiness-driven, and the chat is the same: messages
// both ways, a leave announced, a shutdown that closes with 1001.
func testEvent(t *testing.T, bin string) {
	p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0", "-event")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ada := joinChat(ctx, t, p.Addr, "ada")
	bob := joinChat(ctx, t, p.Addr, "bob")
	say(ctx, t, ada, bob, "served by a loop")
	say(ctx, t, bob, ada, "and back")
	require.NoError(t, bob.Close(frame.CloseNormal, ""))
	nextEvent(ctx, t, ada, func(ev chat.Event) bool { return ev.Type == chat.KindLeft && ev.Nick == "bob" })
	require.NoError(t, p.Stop(time.Minute))
	_, _, err := ada.ReadMessage(ctx)
	for err == nil {
		_, _, err = ada.ReadMessage(ctx)
	}
	assert.Equal(t, frame.CloseGoingAway, conn.CloseStatus(err), "%v", err)
}

// testHTTP2: started over TLS without GODEBUG=http2xconnect=1, the command starts itself again with it,
// and WebSockets then arrive as extended CONNECTs on HTTP/2 (RFC 8441) and outlive net/http's write
// timeout; with -h2=false the same client falls back to an HTTP/1.1 upgrade.
func testHTTP2(t *testing.T, bin string) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	t.Setenv("GODEBUG", "") // as a user's shell starts it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := &conn.DialOptions{HTTP2: true, TLSConfig: &tls.Config{RootCAs: pool}}
	for _, tc := range []struct {
		h2    string
		proto int
	}{{"true", 2}, {"false", 1}} {
		p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile,
			"-write-timeout", "1s", "-h2="+tc.h2)
		url := "wss://" + p.Addr + "/ws"
		ada, resp := joinChatAt(ctx, t, url, opts, "ada")
		assert.Equal(t, tc.proto, resp.ProtoMajor, "-h2=%s", tc.h2)
		bob, _ := joinChatAt(ctx, t, url, opts, "bob")
		say(ctx, t, ada, bob, "over HTTP/"+strconv.Itoa(tc.proto))
		time.Sleep(1500 * time.Millisecond) // past -write-timeout, which bounds HTTP responses only
		say(ctx, t, bob, ada, "still here")
		require.NoError(t, p.Stop(time.Minute))
	}
}

// testIdleConnections: a thousand keep-alive connections that made one request each and then sent
// nothing are all closed by the idle timeout, not before it, while WebSocket clients connected before
// and during are served, and stay served past net/http's idle and write timeouts.
func testIdleConnections(t *testing.T, bin string) {
	const idle = time.Second
	p := servertest.Start(t, bin, listening, "-addr", "127.0.0.1:0", "-idle-timeout", idle.String(),
		"-write-timeout", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := joinChat(ctx, t, p.Addr, "before")

	s, err := servertest.OpenIdle(p.Addr, 1000, "GET /healthz HTTP/1.1\r\nHost: "+p.Addr+"\r\n\r\n", time.Minute)
	require.NoError(t, err)
	during := joinChat(ctx, t, p.Addr, "during")
	say(ctx, t, during, before, "served while a thousand connections idle")
	closed, shortest := s.Wait()
	assert.Equal(t, 1000, closed, "every idle connection is closed by the server")
	assert.GreaterOrEqual(t, shortest, idle, "by the idle timeout, not before it")

	// Both WebSocket connections are older than the idle and write timeouts by now.
	say(ctx, t, before, during, "still served")
	for _, c := range []*conn.Conn{before, during} {
		require.NoError(t, c.Close(conn.CloseNormal, ""))
	}
	require.NoError(t, p.Stop(time.Minute))
}

// testAllowedHosts: requests for a host the server does not answer for get 421 on every path, with
// -allowed-hosts and, on a loopback address, without it.
func testAllowedHosts(t *testing.T, bin string) {
	for _, tc := range []struct {
		name    string
		args    []string
		allowed string // a Host the server answers for; the port is added
	}{
		{"flag", []string{"-allowed-hosts", "chat.example.com"}, "chat.example.com"},
		{"loopback-default", nil, "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := servertest.Start(t, bin, listening, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
			port := p.Addr[strings.LastIndex(p.Addr, ":"):]
			for _, path := range []string{"/", "/healthz", "/ws"} {
				for host, status := range map[string]int{
					"rebound.example" + port: http.StatusMisdirectedRequest,
					tc.allowed + port:        http.StatusSwitchingProtocols,
				} {
					if path != "/ws" && status != http.StatusMisdirectedRequest {
						status = http.StatusOK
					}
					r, err := servertest.Send(p.Addr, servertest.HeadLines(host, path, 0, servertest.UpgradeFields...), time.Minute)
					require.NoError(t, err)
					assert.Equal(t, status, r.Status, "%s for host %s", path, host)
					r.Close()
				}
			}
			require.NoError(t, p.Stop(time.Minute))
		})
	}
}

// joinChat connects to the chat at addr and joins the default room as nick.
func joinChat(ctx context.Context, t *testing.T, addr, nick string) *conn.Conn {
	t.Helper()
	c, _ := joinChatAt(ctx, t, "ws://"+addr+"/ws", nil, nick)
	return c
}

// joinChatAt is joinChat for any URL and dial options; it returns the handshake's response too.
func joinChatAt(ctx context.Context, t *testing.T, url string, opts *conn.DialOptions, nick string) (*conn.Conn, *conn.Response) {
	t.Helper()
	c, resp, err := conn.Dial(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	b, err := json.Marshal(chat.Event{Type: chat.KindJoin, Nick: nick})
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, b))
	nextEvent(ctx, t, c, func(ev chat.Event) bool { return ev.Type == chat.KindWelcome })
	return c, resp
}

// say sends text from one member and waits for the other to receive it.
func say(ctx context.Context, t *testing.T, from, to *conn.Conn, text string) {
	t.Helper()
	b, err := json.Marshal(chat.Event{Type: chat.KindSend, Text: text})
	require.NoError(t, err)
	require.NoError(t, from.WriteMessage(ctx, conn.MessageText, b))
	nextEvent(ctx, t, to, func(ev chat.Event) bool { return ev.Type == chat.KindMessage && ev.Text == text })
}

// nextEvent reads events from c until one satisfies ok.
func nextEvent(ctx context.Context, t *testing.T, c *conn.Conn, ok func(chat.Event) bool) {
	t.Helper()
	for {
		_, b, err := c.ReadMessage(ctx)
		require.NoError(t, err)
		var ev chat.Event
		require.NoError(t, json.Unmarshal(b, &ev))
		if ok(ev) {
			return
		}
		if ev.Type == chat.KindError {
			require.NoError(t, errors.New(ev.Text), "refused: %s", ev.Code)
		}
	}
}
