package handshake_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// scriptedServer reads one request from c with net/http, answers with what respond returns
// and sends the request on the channel (nil if it could not be read).
func scriptedServer(c net.Conn, respond func(r *http.Request) string) <-chan *http.Request {
	ch := make(chan *http.Request, 1)
	go func() {
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			ch <- nil
			return
		}
		if respond != nil {
			_, _ = io.WriteString(c, respond(r))
		}
		ch <- r
	}()
	return ch
}

// switching answers a request with a valid 101 plus the given header lines.
func switching(extra ...string) func(r *http.Request) string {
	return func(r *http.Request) string {
		fields := append([]string{
			"Upgrade: websocket", "Connection: Upgrade",
			"Sec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")),
		}, extra...)
		return head("HTTP/1.1 101 Switching Protocols", fields...)
	}
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// assertClosed checks that the peer of c closed the connection.
func assertClosed(tb testing.TB, c net.Conn) {
	tb.Helper()
	// net.Pipe refuses a deadline once its peer is closed; the read below still tells.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if err != nil {
		// Closing with unread input makes the kernel reset the connection instead.
		assert.ErrorIs(tb, err, syscall.ECONNRESET)
	}
}

func TestClientRequest(t *testing.T) {
	client, server := tcpPair(t)
	defer server.Close()
	reqs := scriptedServer(server, switching("Sec-WebSocket-Protocol: b", "Sec-WebSocket-Extensions: permessage-deflate"))
	res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com:80/room?id=7#frag"), &handshake.ClientOptions{
		Origin:       "https://example.com",
		Subprotocols: []string{"a", "b"},
		Extensions:   []handshake.Extension{{Name: "permessage-deflate", Params: []handshake.ExtensionParam{p("client_max_window_bits")}}},
		Header:       http.Header{"X-Token": {"t1", "t2"}},
	})
	require.NoError(t, err)
	defer client.Close()
	r := <-reqs
	require.NotNil(t, r)

	// RFC 6455, Section 4.1: "The method of the request MUST be GET, and the HTTP version MUST
	// be at least 1.1."
	assert.Equal(t, "GET", r.Method)
	assert.Equal(t, "HTTP/1.1", r.Proto)
	assert.Equal(t, "/room?id=7", r.RequestURI, "path and query, never the fragment")
	assert.Equal(t, "example.com", r.Host, "the default port is omitted")
	assert.Equal(t, "websocket", r.Header.Get("Upgrade"))
	assert.Equal(t, "Upgrade", r.Header.Get("Connection"))
	assert.Equal(t, "13", r.Header.Get("Sec-WebSocket-Version"))
	key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key"))
	require.NoError(t, err)
	assert.Len(t, key, 16)
	assert.Equal(t, "https://example.com", r.Header.Get("Origin"))
	assert.Equal(t, "a, b", r.Header.Get("Sec-WebSocket-Protocol"))
	assert.Equal(t, "permessage-deflate; client_max_window_bits", r.Header.Get("Sec-WebSocket-Extensions"))
	assert.Equal(t, []string{"t1", "t2"}, r.Header.Values("X-Token"))

	assert.Equal(t, "b", res.Subprotocol)
	assert.Equal(t, []handshake.Extension{{Name: "permessage-deflate"}}, res.Extensions)
	assert.Equal(t, "/room?id=7", res.Request().Target)
	assert.Equal(t, "example.com", res.Request().Host)
	assert.Equal(t, r.Header.Get("Sec-WebSocket-Key"), res.Request().Header.Get("Sec-WebSocket-Key"))
	assert.Equal(t, "example.com", res.RequestHeader("host"))
	assert.Equal(t, "https://example.com", res.RequestHeader("origin"))
	assert.Equal(t, "t1", res.RequestHeader("X-Token"))
	assert.Equal(t, 101, res.Response.StatusCode)
}

func TestClientHost(t *testing.T) {
	tests := []struct{ url, host, target string }{
		{"ws://h", "h", "/"},
		{"ws://h:80/a", "h", "/a"},
		{"ws://h:/a", "h", "/a"},
		{"wss://h:443/a?b", "h", "/a?b"},
		{"ws://h:443", "h:443", "/"},
		{"wss://h:80", "h:80", "/"},
		{"http://h:8080/x", "h:8080", "/x"},
		{"https://H.example:443", "H.example", "/"},
		{"ws://[::1]:80/", "[::1]", "/"},
		{"ws://[::1]:8080/", "[::1]:8080", "/"},
		{"ws://h/a%20b", "h", "/a%20b"},
	}
	for _, tt := range tests {
		t.Run("4.1/"+tt.url, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			reqs := scriptedServer(server, switching())
			res, err := handshake.Client(testContext(t), client, mustURL(t, tt.url), nil)
			require.NoError(t, err)
			defer client.Close()
			r := <-reqs
			require.NotNil(t, r)
			assert.Equal(t, tt.host, r.Host)
			assert.Equal(t, tt.target, r.RequestURI)
			assert.Equal(t, tt.host, res.Request().Host)
		})
	}
}

func TestNewClientKey(t *testing.T) {
	a, err := handshake.NewClientKey()
	require.NoError(t, err)
	b, err := handshake.NewClientKey()
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "each key is a fresh nonce")
	for _, k := range []string{a, b} {
		raw, err := base64.StdEncoding.DecodeString(k)
		require.NoError(t, err)
		assert.Len(t, raw, 16)
	}
}

func TestClientAccepts(t *testing.T) {
	opts := &handshake.ClientOptions{Subprotocols: []string{"chat"}, Extensions: []handshake.Extension{{Name: "x-a"}, {Name: "x-b"}}}
	tests := []struct {
		name    string
		respond func(r *http.Request) string
		sub     string
		exts    []handshake.Extension
	}{
		{name: "4.1/minimal", respond: switching()},
		{name: "4.1/tokens-case-insensitive", respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 OK", "upgrade: WebSocket", "connection: keep-alive, UPGRADE",
				"sec-websocket-accept:   "+handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key"))+"  ")
		}},
		{name: "4.1/offered-subprotocol", respond: switching("Sec-WebSocket-Protocol: chat"), sub: "chat"},
		{name: "4.1/offered-extensions", respond: switching("Sec-WebSocket-Extensions: x-b; p=1", "Sec-WebSocket-Extensions: X-A"),
			exts: []handshake.Extension{{Name: "x-b", Params: []handshake.ExtensionParam{p("p", "1")}}, {Name: "X-A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			reqs := scriptedServer(server, tt.respond)
			res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"), opts)
			require.NoError(t, err)
			defer client.Close()
			require.NotNil(t, <-reqs)
			assert.Equal(t, tt.sub, res.Subprotocol)
			assert.Equal(t, tt.exts, res.Extensions)
		})
	}
}

func TestClientRefusesResponse(t *testing.T) {
	opts := &handshake.ClientOptions{Subprotocols: []string{"chat"}, Extensions: []handshake.Extension{{Name: "x-a"}}}
	accept := func(r *http.Request) string {
		return "Sec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key"))
	}
	tests := []struct {
		name    string
		respond func(r *http.Request) string
		status  int
		cause   error
	}{
		{name: "4.1/status-403", status: 403, cause: handshake.ErrBadStatus, respond: func(*http.Request) string {
			return head("HTTP/1.1 403 Forbidden", "Content-Length: 15", "Connection: close", "Retry-After: 5") + "origin refused\n"
		}},
		{name: "4.1/status-200", status: 200, cause: handshake.ErrBadStatus, respond: func(*http.Request) string {
			return head("HTTP/1.1 200 OK", "Content-Length: 0")
		}},
		{name: "4.1/status-426-gets-version", status: 426, cause: handshake.ErrBadStatus, respond: func(*http.Request) string {
			return head("HTTP/1.1 426 Upgrade Required", "Sec-WebSocket-Version: 8")
		}},
		{name: "4.1/missing-upgrade", status: 101, cause: handshake.ErrNotUpgrade, respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", accept(r))
		}},
		{name: "4.1/upgrade-not-websocket", status: 101, cause: handshake.ErrNotUpgrade, respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: h2c", "Connection: Upgrade", accept(r))
		}},
		{name: "4.1/missing-connection", status: 101, cause: handshake.ErrNotUpgrade, respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", accept(r))
		}},
		{name: "4.1/connection-keep-alive", status: 101, cause: handshake.ErrNotUpgrade, respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: keep-alive", accept(r))
		}},
		{name: "4.1/missing-accept", status: 101, cause: handshake.ErrBadAccept, respond: func(*http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade")
		}},
		{name: "4.1/accept-of-another-key", status: 101, cause: handshake.ErrBadAccept, respond: func(*http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+rfcAccept)
		}},
		{name: "4.1/accept-twice", status: 101, cause: handshake.ErrBadAccept, respond: func(r *http.Request) string {
			return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", accept(r), accept(r))
		}},
		{name: "4.1/subprotocol-not-offered", status: 101, cause: handshake.ErrBadSubprotocol,
			respond: switching("Sec-WebSocket-Protocol: superchat")},
		{name: "4.1/subprotocol-case-differs", status: 101, cause: handshake.ErrBadSubprotocol,
			respond: switching("Sec-WebSocket-Protocol: Chat")},
		{name: "4.1/two-subprotocols", status: 101, cause: handshake.ErrBadSubprotocol,
			respond: switching("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat")},
		{name: "4.1/extension-not-offered", status: 101, cause: handshake.ErrBadExtension,
			respond: switching("Sec-WebSocket-Extensions: x-a, x-b")},
		{name: "9.1/extensions-malformed", status: 101, cause: handshake.ErrBadExtension,
			respond: switching("Sec-WebSocket-Extensions: x-a;")},
		{name: "rfc9112-4/malformed-status-line", status: 0, cause: handshake.ErrMalformedHead, respond: func(*http.Request) string {
			return head("HTTP/1.1 OK")
		}},
		{name: "limits/response-too-large", status: 0, cause: handshake.ErrHeadTooLarge,
			respond: switching("X-Big: " + string(make([]byte, 9000)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			defer server.Close()
			reqs := scriptedServer(server, tt.respond)
			res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"), opts)
			require.ErrorIs(t, err, tt.cause)
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.status, he.Status)
			if tt.status == 0 {
				assert.Nil(t, res, "no response was read")
			} else {
				// The refused response is handed over for its headers; nothing was agreed.
				require.NotNil(t, res)
				require.NotNil(t, res.Response)
				assert.Equal(t, tt.status, res.Response.StatusCode)
				assert.Empty(t, res.Subprotocol)
				assert.Empty(t, res.Extensions)
				assert.Empty(t, res.Rest, "no bytes belong to a connection")
				assert.NotNil(t, res.Request())
			}
			require.NotNil(t, <-reqs)
			assertClosed(t, server)
		})
	}
}

func TestClientServerHangsUp(t *testing.T) {
	client, server := tcpPair(t)
	reqs := scriptedServer(server, nil)
	go func() {
		<-reqs
		server.Close()
	}()
	_, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"), nil)
	require.ErrorIs(t, err, io.EOF)
}

func TestClientKeepsBytesAfterHead(t *testing.T) {
	frame := "\x81\x05Hello" // RFC 6455, Section 5.7: an unmasked text frame from a server
	client, server := net.Pipe()
	defer server.Close()
	reqs := scriptedServer(server, func(r *http.Request) string { return switching()(r) + frame })
	res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"), nil)
	require.NoError(t, err)
	defer client.Close()
	require.NotNil(t, <-reqs)
	got := make([]byte, len(frame))
	_, err = io.ReadFull(afterHead(res, client), got)
	require.NoError(t, err)
	assert.Equal(t, frame, string(got))
}

func TestClientContext(t *testing.T) {
	t.Run("cancel-interrupts", func(t *testing.T) {
		client, server := tcpPair(t)
		defer server.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reqs := scriptedServer(server, nil) // never answers
		go func() {
			<-reqs
			cancel()
		}()
		_, err := handshake.Client(ctx, client, mustURL(t, "ws://example.com/"), nil)
		require.ErrorIs(t, err, context.Canceled)
		assertClosed(t, server)
	})
	t.Run("deadline-bounds", func(t *testing.T) {
		client, server := tcpPair(t)
		defer server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		reqs := scriptedServer(server, nil)
		_, err := handshake.Client(ctx, client, mustURL(t, "ws://example.com/"), nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the connection's deadline fired")
		<-reqs
		assertClosed(t, server)
	})
	t.Run("done-before-start", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := handshake.Client(ctx, client, mustURL(t, "ws://example.com/"), nil)
		require.ErrorIs(t, err, context.Canceled)
		assertClosed(t, server)
	})
	t.Run("deadline-cleared-on-success", func(t *testing.T) {
		client, server := tcpPair(t)
		defer server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		reqs := scriptedServer(server, switching())
		res, err := handshake.Client(ctx, client, mustURL(t, "ws://example.com/"), nil)
		require.NoError(t, err)
		defer client.Close()
		require.NotNil(t, <-reqs)
		cancel() // neither the cancellation nor the passing deadline may touch the connection now
		got := make(chan error, 1)
		go func() {
			_, err := afterHead(res, client).Read(make([]byte, 1))
			got <- err
		}()
		time.Sleep(400 * time.Millisecond)
		_, err = server.Write([]byte{1})
		require.NoError(t, err)
		require.NoError(t, <-got)
	})
}

func TestClientOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts *handshake.ClientOptions
	}{
		{name: "4.1/scheme-ftp", url: "ftp://example.com/"},
		{name: "4.1/no-host", url: "ws:///path"},
		{name: "4.1/header-overrides-key", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"Sec-Websocket-Key": {"x"}}}},
		{name: "4.1/header-overrides-host", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"host": {"x"}}}},
		{name: "4.1/header-overrides-origin", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"Origin": {"x"}}}},
		{name: "4.1/header-overrides-connection", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"Connection": {"close"}}}},
		{name: "rfc9110-5.5/header-value-injection", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"X-A": {"a\r\nX-B: b"}}}},
		{name: "rfc9110-5.1/header-name-invalid", url: "ws://h/", opts: &handshake.ClientOptions{Header: http.Header{"X A": {"a"}}}},
		{name: "4.1/origin-injection", url: "ws://h/", opts: &handshake.ClientOptions{Origin: "http://h\r\nX: y"}},
		{name: "4.1/subprotocol-not-token", url: "ws://h/", opts: &handshake.ClientOptions{Subprotocols: []string{"a b"}}},
		{name: "9.1/extension-name-not-token", url: "ws://h/", opts: &handshake.ClientOptions{Extensions: []handshake.Extension{{Name: "x;y"}}}},
		{name: "9.1/extension-value-not-token", url: "ws://h/",
			opts: &handshake.ClientOptions{Extensions: []handshake.Extension{{Name: "x", Params: []handshake.ExtensionParam{p("a", "b c")}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			_, err := handshake.Client(testContext(t), client, mustURL(t, tt.url), tt.opts)
			require.ErrorIs(t, err, handshake.ErrInvalidOptions)
			assertClosed(t, server)
		})
	}
	t.Run("nil-url", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		_, err := handshake.Client(testContext(t), client, nil, nil)
		require.ErrorIs(t, err, handshake.ErrInvalidOptions)
	})
}

// TestClientRefusalHeaders: a refusal's headers reach the caller along with the error.
func TestClientRefusalHeaders(t *testing.T) {
	client, server := tcpPair(t)
	defer server.Close()
	reqs := scriptedServer(server, func(*http.Request) string {
		return head("HTTP/1.1 401 Unauthorized", `WWW-Authenticate: Basic realm="chat"`, "Content-Length: 0")
	})
	res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"), nil)
	require.ErrorIs(t, err, handshake.ErrBadStatus)
	require.NotNil(t, <-reqs)
	require.NotNil(t, res)
	assert.Equal(t, http.StatusUnauthorized, res.Response.StatusCode)
	assert.Equal(t, `Basic realm="chat"`, res.Response.Header.Get("WWW-Authenticate"))
	assert.Equal(t, "example.com", res.Request().Host)
	assertClosed(t, server)
}

// TestClientRequestWire checks the request's bytes: the handshake's own fields spelled and
// ordered as in RFC 6455, Section 1.3, then the extra fields.
func TestClientRequestWire(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(server)
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		got <- b.String()
		_ = server.Close()
	}()
	_, err := handshake.Client(testContext(t), client, mustURL(t, "ws://server.example.com/chat"), &handshake.ClientOptions{
		Origin: "http://example.com", Subprotocols: []string{"chat", "superchat"},
		Extensions: []handshake.Extension{{Name: "x-a"}}, Header: http.Header{"X-B": {"2"}, "X-A": {"1"}},
	})
	require.Error(t, err, "the server hangs up")
	raw := <-got
	_, after, ok := strings.Cut(raw, "Sec-WebSocket-Key: ")
	require.True(t, ok, raw)
	key, _, _ := strings.Cut(after, "\r\n")
	want := "GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Origin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Extensions: x-a\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"X-A: 1\r\n" +
		"X-B: 2\r\n" +
		"\r\n"
	assert.Equal(t, want, raw)
}
