package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs([]string{"-v", "ws://h/", "-H", "A: 1", "-H", "A:2", "-subprotocol", "x, y,",
		"-ping", "5s", "-close-code", "4000", "-close-reason", "bye"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "ws://h/", cfg.url, "flags may follow the URL")
	assert.True(t, cfg.verbose)
	assert.Equal(t, http.Header{"A": {"1", "2"}}, cfg.header)
	assert.Equal(t, []string{"x", "y"}, cfg.subprotocols)
	assert.Equal(t, 5*time.Second, cfg.ping)
	assert.Equal(t, time.Second, cfg.wait, "default -wait")
	assert.Equal(t, frame.CloseCode(4000), cfg.closeCode)
	assert.Equal(t, "bye", cfg.closeReason)
}

func TestParseArgsRefusesBadUsage(t *testing.T) {
	long := string(make([]byte, 124))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-url", nil},
		{"two-urls", []string{"ws://a/", "ws://b/"}},
		{"url-and-listen", []string{"-listen", ":0", "ws://a/"}},
		{"header-without-colon", []string{"-H", "NoColon", "ws://a/"}},
		// RFC 6455, Section 4.1: the handshake writes these headers itself.
		{"4.1/header-origin", []string{"-H", "Origin: http://a", "ws://a/"}},
		{"4.1/header-subprotocol", []string{"-H", "sec-websocket-protocol: x", "ws://a/"}},
		{"4.1/header-key", []string{"-H", "Sec-WebSocket-Key: x", "ws://a/"}},
		{"4.1/header-upgrade", []string{"-H", "Upgrade: h2c", "ws://a/"}},
		{"unknown-flag", []string{"-nope", "ws://a/"}},
		{"negative-ping", []string{"-ping", "-1s", "ws://a/"}},
		// RFC 6455, Section 7.4.1: 1005 and 1006 "MUST NOT be set as a status
		// code in a Close control frame by an endpoint".
		{"7.4.1/close-code-1005", []string{"-close-code", "1005", "ws://a/"}},
		{"7.4.1/close-code-1006", []string{"-close-code", "1006", "ws://a/"}},
		{"7.4.2/close-code-999", []string{"-close-code", "999", "ws://a/"}},
		{"7.4.2/close-code-over-16-bits", []string{"-close-code", "70000", "ws://a/"}},
		// RFC 6455, Section 5.5: "All control frames MUST have a payload
		// length of 125 bytes or less".
		{"5.5/close-reason-124-bytes", []string{"-close-reason", long, "ws://a/"}},
		{"5.6/close-reason-not-utf8", []string{"-close-reason", "\xff", "ws://a/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr lockedBuffer
			_, err := parseArgs(tc.args, &stderr)
			require.ErrorIs(t, err, errUsage)
			assert.Contains(t, stderr.String(), "usage: ws")
		})
	}
}

func TestRunExitStatusForUsage(t *testing.T) {
	assert.Equal(t, exitUsage, runWS(t, nil).code)
	assert.Equal(t, exitOK, runWS(t, nil, "-h").code, "-h prints the usage and succeeds")
	res := runWS(t, nil, "ftp://h/")
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "bad WebSocket URL")
	assert.NotContains(t, res.stderr, "did you mean", "a URL with a scheme is not second-guessed")
}

// A URL without a scheme is refused with the URL to type instead, never
// dialled as a guess.
func TestRunSuggestsScheme(t *testing.T) {
	for target, want := range map[string]string{
		"localhost:8080/ws": "ws://localhost:8080/ws",
		"127.0.0.1:8080/ws": "ws://127.0.0.1:8080/ws",
		"example.com/chat":  "ws://example.com/chat",
		"//example.com/":    "ws://example.com/",
	} {
		res := runWS(t, nil, target)
		assert.Equal(t, exitUsage, res.code, target)
		assert.Contains(t, res.stderr, "bad WebSocket URL", target)
		assert.Contains(t, res.stderr, "did you mean "+want+"?", target)
	}
}
