package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
)

// h2Page opens a WebSocket to its own origin, sends a greeting, answers each
// message with "echo:" and the message, and reports what happens to the
// server through fetch, on the same HTTP/2 connection.
var h2Page = reportingPage("duplex over HTTP/2", `const path = new URLSearchParams(location.search).get('ws') || '/ws';
const ws = new WebSocket('wss://' + location.host + path, ['duplex.v1']);
ws.onopen = () => {
  report({event: 'open', protocol: ws.protocol, extensions: ws.extensions});
  ws.send('hello from the page');
};
ws.onmessage = (e) => { report({event: 'message', data: e.data}); ws.send('echo:' + e.data); };
ws.onerror = () => report({event: 'error'});
ws.onclose = (e) => report({event: 'close', code: e.code, reason: e.reason, clean: e.wasClean});
`)

// h2Event is a report from h2Page.
type h2Event struct {
	Event      string `json:"event"`
	Protocol   string `json:"protocol"`
	Extensions string `json:"extensions"`
	Data       string `json:"data"`
	Code       int    `json:"code"`
	Reason     string `json:"reason"`
	Clean      bool   `json:"clean"`
}

// h2Seen is what the server saw of a request.
type h2Seen struct {
	path, method, protocol string
	major                  int
	remote                 string // the client's address: one per TCP connection
}

// TestChromiumOverHTTP2 loads a page from a duplex TLS server with HTTP/2 in
// headless Chromium; the page's WebSocket to the same origin must arrive as
// an RFC 8441 extended CONNECT on the page's own HTTP/2 connection, then
// carry messages both ways, a ping, and a closing handshake whose code the
// page sees.
func TestChromiumOverHTTP2(t *testing.T) {
	pki := newTestPKI(t)
	browser := startChromium(t, pki)

	seen := make(chan h2Seen, 8)
	events := make(chan h2Event, 16)
	result := make(chan error, 1)
	pongs := make(chan string, 1)
	mux := h2PageMux(events, func(r *http.Request) {
		seen <- h2Seen{r.URL.Path, r.Method, "", r.ProtoMajor, r.RemoteAddr}
	})
	// No method in the pattern: "GET /ws" would not match the CONNECT an
	// HTTP/2 browser sends.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		seen <- h2Seen{r.URL.Path, r.Method, r.Header.Get(":protocol"), r.ProtoMajor, r.RemoteAddr}
		c, err := conn.Upgrade(w, r, &conn.AcceptOptions{
			ServerOptions: conn.ServerOptions{Subprotocols: []string{"duplex.v1"}},
			Options: conn.Options{
				Compression: &conn.CompressionOptions{},
				OnPong: func(p []byte) {
					select {
					case pongs <- string(p):
					default:
					}
				},
			},
		})
		if err != nil {
			result <- err
			return
		}
		defer c.CloseNow()
		// Over HTTP/2 the handler holds the stream: it returns once the
		// connection is closed.
		result <- talkToPage(c, pongs)
	})
	srv := startH2Server(t, pki, mux)
	navigate(t, browser, srv.URL+"/")

	page := recv(t, seen)
	assert.Equal(t, 2, page.major, "the page itself came over HTTP/2")
	ws := recv(t, seen)
	// RFC 8441, Section 5: the browser bootstrapped the WebSocket with an
	// extended CONNECT on an HTTP/2 stream...
	assert.Equal(t, h2Seen{"/ws", http.MethodConnect, "websocket", 2, page.remote}, ws)
	// ... of the page's own connection: same client address and port.
	assert.Equal(t, page.remote, ws.remote, "the WebSocket shares the page's TCP connection")

	require.NoError(t, recv(t, result))
	open := recv(t, events)
	assert.Equal(t, "open", open.Event)
	assert.Equal(t, "duplex.v1", open.Protocol)
	assert.Contains(t, open.Extensions, "permessage-deflate")
	msg := recv(t, events)
	assert.Equal(t, h2Event{Event: "message", Data: "hello from the server"}, msg)
	msg = recv(t, events)
	assert.Equal(t, h2Event{Event: "message", Data: "last"}, msg)
	closed := recv(t, events)
	assert.Equal(t, h2Event{Event: "close", Code: 4000, Reason: "done over h2", Clean: true}, closed)
}

// h2PageMux serves h2Page at / (telling page of each request for it) and
// sends the page's reports to events.
func h2PageMux(events chan<- h2Event, page func(*http.Request)) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, h2Page)
	})
	mux.HandleFunc("POST /event", func(w http.ResponseWriter, r *http.Request) {
		var ev h2Event
		if json.NewDecoder(r.Body).Decode(&ev) == nil {
			events <- ev
		}
	})
	return mux
}

// startH2Server serves h over TLS with HTTP/2 on loopback until the test
// ends.
func startH2Server(t testing.TB, pki *testPKI, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = pki.serverTLS()
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Chromium does not fall back to HTTP/1.1 when a server that advertised
// extended CONNECT refuses one: the WebSocket fails (1006) and no GET
// upgrade follows. A refusal over HTTP/2 is final, as the server meant.
func TestChromiumRefusedOverHTTP2(t *testing.T) {
	pki := newTestPKI(t)
	browser := startChromium(t, pki)
	seen := make(chan h2Seen, 8)
	events := make(chan h2Event, 16)
	mux := h2PageMux(events, func(*http.Request) {})
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, r *http.Request) {
		seen <- h2Seen{r.URL.Path, r.Method, r.Header.Get(":protocol"), r.ProtoMajor, r.RemoteAddr}
		_, err := conn.Upgrade(w, r, nil)
		if err == nil {
			t.Error("Upgrade accepted a request it was set up to refuse")
		}
	})
	// The refusal is the origin policy's 403, for a request made to look
	// as if it came from another site.
	srv := startH2Server(t, pki, originRefusing(mux))
	navigate(t, browser, srv.URL+"/?ws=/refuse")

	first := recv(t, seen)
	assert.Equal(t, http.MethodConnect, first.method)
	assert.Equal(t, 2, first.major)
	ev := recv(t, events)
	assert.Equal(t, "error", ev.Event)
	ev = recv(t, events)
	assert.Equal(t, h2Event{Event: "close", Code: 1006}, ev)
	select {
	case again := <-seen:
		t.Fatalf("the browser tried again: %+v", again)
	case <-time.After(300 * time.Millisecond):
	}
}

// originRefusing makes requests to /refuse look as if they came from
// another site, so that the default origin policy refuses them.
func originRefusing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			r.Header.Set("Origin", "https://attacker.example")
		}
		h.ServeHTTP(w, r)
	})
}

// talkToPage runs the server's side of TestChromiumOverHTTP2.
func talkToPage(c *conn.Conn, pongs <-chan string) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	expect := func(want string) error {
		_, b, err := c.ReadMessage(ctx)
		if err != nil {
			return err
		}
		if string(b) != want {
			return fmt.Errorf("got %q, want %q", b, want)
		}
		return nil
	}
	if err := expect("hello from the page"); err != nil {
		return err
	}
	if err := c.WriteMessage(ctx, conn.MessageText, []byte("hello from the server")); err != nil {
		return err
	}
	if err := expect("echo:hello from the server"); err != nil {
		return err
	}
	// The browser answers the ping before it echoes the message after it,
	// so the pong has come (and OnPong ran) once the echo is read.
	if err := c.Ping(ctx, []byte("h2 ping")); err != nil {
		return err
	}
	if err := c.WriteMessage(ctx, conn.MessageText, []byte("last")); err != nil {
		return err
	}
	if err := expect("echo:last"); err != nil {
		return err
	}
	select {
	case p := <-pongs:
		if p != "h2 ping" {
			return fmt.Errorf("pong %q, want %q", p, "h2 ping")
		}
	default:
		return fmt.Errorf("no pong before the echo that followed the ping")
	}
	// The closing handshake completes when the page answers the close.
	if err := c.Close(4000, "done over h2"); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if c.State() != conn.StateClosed {
		return fmt.Errorf("state %v after Close", c.State())
	}
	return nil
}

// recv waits for a value on ch within waitTimeout.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %T", *new(T))
	}
	panic("unreachable")
}
