package handshake_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// TestAcceptContext checks that Accept, like Client, gives up when its
// context ends, whatever the client does.
func TestAcceptContext(t *testing.T) {
	t.Run("cancel-interrupts", func(t *testing.T) {
		client, server := tcpPair(t)
		defer client.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := handshake.Accept(ctx, server, &handshake.ServerOptions{Timeout: -1})
			done <- err
		}()
		_, err := client.Write([]byte("GET /chat HTTP/1.1\r\nHost: exa")) // and nothing more
		require.NoError(t, err)
		cancel()
		err = <-done
		require.ErrorIs(t, err, context.Canceled)
		assertClosed(t, client)
	})
	t.Run("deadline-bounds", func(t *testing.T) {
		client, server := tcpPair(t)
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := handshake.Accept(ctx, server, nil) // the context's deadline, not the 10 s default
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("done-before-start", func(t *testing.T) {
		client, server := tcpPair(t)
		defer client.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := handshake.Accept(ctx, server, nil)
		require.ErrorIs(t, err, context.Canceled)
	})
}

// TestClientTimeout checks the client's own bound: a server that accepts
// TCP and never answers does not hold the client past Timeout, even with a
// context that never ends.
func TestClientTimeout(t *testing.T) {
	client, server := tcpPair(t)
	defer server.Close()
	_, err := handshake.Client(context.Background(), client, mustURL(t, "ws://example.com/"),
		&handshake.ClientOptions{Timeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assertClosed(t, server)
}

// TestUpgradeHeadLimits checks that Upgrade refuses the heads Accept
// refuses, although net/http, with its 1 MiB default, read them whole.
func TestUpgradeHeadLimits(t *testing.T) {
	tests := []struct {
		name   string
		opts   *handshake.ServerOptions
		fields []string
		status int
	}{
		{name: "security/head-over-8KiB-gets-431", fields: append(validFields, "Cookie: "+strings.Repeat("a", 8<<10)), status: 431},
		{name: "security/65-lines-gets-431", fields: append(validFields, manyLines(60)...), status: 431},
		{name: "security/64-lines-accepted", fields: append(validFields, manyLines(59)...), status: 101},
		{name: "security/own-limit", opts: &handshake.ServerOptions{Limits: handshake.Limits{MaxHeadBytes: 300}},
			fields: append(validFields, "X-Pad: "+strings.Repeat("a", 200)), status: 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ch := upgradeServer(t, tt.opts)
			c := dialServer(t, srv)
			x := sendRaw(t, c, head(getLine, tt.fields...))
			u := <-ch
			if tt.status == http.StatusSwitchingProtocols {
				require.NoError(t, u.err)
				u.conn.Close()
				return
			}
			assertRefusal(t, x, tt.status)
			require.ErrorIs(t, u.err, handshake.ErrHeadTooLarge)
		})
	}
}

// manyLines returns n distinct header lines.
func manyLines(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "X-Line-" + strings.Repeat("a", i%7) + string(rune('a'+i%26)) + ": v"
	}
	return lines
}

// TestUpgradeRefusalHeadersOnce checks that a refusal through net/http
// replaces the fields a handler set already rather than repeating them.
func TestUpgradeRefusalHeadersOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/html")
		_, _, _ = handshake.Upgrade(w, r, nil)
	}))
	t.Cleanup(srv.Close)
	x := sendRaw(t, dialServer(t, srv), head(getLine, append(validFields, "Origin: https://evil.test")...))
	assertRefusal(t, x, http.StatusForbidden)
	assert.Equal(t, []string{"nosniff"}, x.raw.Values("X-Content-Type-Options"))
	assert.Equal(t, []string{"text/plain; charset=utf-8"}, x.raw.Values("Content-Type"))
}

// TestOriginScheme checks that the origin policy compares the scheme too
// (RFC 6455, Section 10.2): over TLS only an https page of the same host is
// the server's own; without TLS, http and https both are (TLS may end at a
// proxy). A pattern with a scheme matches it, one without any scheme.
func TestOriginScheme(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		origin  string
		pattern string
		status  int
	}{
		{name: "10.2/tls-https-same-host", tls: true, origin: "https://HOST", status: 101},
		{name: "10.2/tls-http-same-host-gets-403", tls: true, origin: "http://HOST", status: 403},
		{name: "10.2/plain-http-same-host", origin: "http://HOST", status: 101},
		{name: "10.2/plain-https-same-host", origin: "https://HOST", status: 101},
		{name: "10.2/plain-other-scheme-gets-403", origin: "ftp://HOST", status: 403},
		{name: "10.2/pattern-with-scheme", tls: true, origin: "https://app.example", pattern: "https://*.example", status: 101},
		{name: "10.2/pattern-scheme-differs-gets-403", tls: true, origin: "http://app.example", pattern: "https://*.example", status: 403},
		{name: "10.2/pattern-without-scheme", tls: true, origin: "http://app.example", pattern: "*.example", status: 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var patterns []string
			if tt.pattern != "" {
				patterns = []string{tt.pattern}
			}
			ch := make(chan error, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _, err := handshake.Upgrade(w, r, &handshake.ServerOptions{OriginPatterns: patterns})
				if err == nil {
					c.Close()
				}
				ch <- err
			})
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			t.Cleanup(srv.Close)
			host := srv.Listener.Addr().String()
			var c net.Conn = dialServer(t, srv)
			if tt.tls {
				tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
				require.NoError(t, tc.Handshake())
				c = tc
			}
			fields := append(without("Host", "Host: "+host), "Origin: "+strings.ReplaceAll(tt.origin, "HOST", host))
			x := sendRaw(t, c, head(getLine, fields...))
			err := <-ch
			if tt.status == http.StatusSwitchingProtocols {
				require.NoError(t, err)
				assert.Equal(t, tt.status, x.resp.StatusCode)
				return
			}
			assertRefusal(t, x, tt.status)
			require.ErrorIs(t, err, handshake.ErrOriginRefused)
		})
	}
}
