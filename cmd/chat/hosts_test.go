package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []string
		listen   string
		allowed  []string
		refused  []string
	}{
		{
			name:    "loopback-listen-default",
			listen:  "localhost:8080",
			allowed: []string{"localhost:8080", "LOCALHOST:9000", "localhost", "localhost.:8080", "chat.localhost:8080", "127.0.0.1:8080", "127.0.0.2", "[::1]:8080", "[::1]"},
			refused: []string{"evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example:8080", "192.168.1.2:8080", "[::2]:8080", ""},
		},
		{
			name:    "loopback-ip-listen-default",
			listen:  "127.0.0.1:0",
			allowed: []string{"localhost:8080", "127.0.0.1:45678"},
			refused: []string{"rebound.example:45678"},
		},
		{
			name:    "ipv6-loopback-listen-default",
			listen:  "[::1]:8080",
			allowed: []string{"[::1]:8080", "localhost:8080"},
			refused: []string{"rebound.example:8080"},
		},
		{
			name:    "other-listen-default-any",
			listen:  ":8080",
			allowed: []string{"evil.example:8080", "anything", ""},
		},
		{
			name:     "patterns",
			patterns: []string{"chat.example.com", "*.example.org:8443", "[::1]:8080", "10.0.0.1"},
			listen:   "localhost:8080",
			allowed:  []string{"chat.example.com", "Chat.Example.Com:8080", "a.example.org:8443", "[::1]:8080", "10.0.0.1:80"},
			refused:  []string{"localhost:8080", "example.com", "a.example.org", "a.example.org:443", "[::1]:9090", "evil.example", ""},
		},
		{
			name:     "star",
			patterns: []string{"*"},
			listen:   "localhost:8080",
			allowed:  []string{"evil.example:8080", "localhost"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hp := newHostPolicy(tc.patterns, tc.listen)
			for _, h := range tc.allowed {
				assert.True(t, hp.allows(h), "%q must be allowed", h)
			}
			for _, h := range tc.refused {
				assert.False(t, hp.allows(h), "%q must be refused", h)
			}
		})
	}
}

func TestParseHostPattern(t *testing.T) {
	for _, ok := range []string{"example.com", "*.example.com", "example.com:*", "[::1]", "::1", "[::1]:80", "h:80[0-9]"} {
		_, err := parseHostPattern(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"[bad", "host:[x", ":80", "host:", "[]"} {
		_, err := parseHostPattern(bad)
		assert.Error(t, err, bad)
	}
}

// The guard refuses every path, page and WebSocket endpoint alike, with 421, and passes the others on.
func TestHostGuard(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served") })
	h := newHostPolicy([]string{"chat.example.com"}, ":8080").guard(next, slog.New(slog.DiscardHandler))
	for _, path := range []string{"/", "/ws", "/healthz", "/metrics", "/chat.js"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "rebound.example:8080"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMisdirectedRequest, rec.Code, path)
		assert.Equal(t, []string{"nosniff"}, rec.Header().Values("X-Content-Type-Options"), path)

		req.Host = "chat.example.com"
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, path)
		assert.Equal(t, "served", rec.Body.String(), path)
	}
}
