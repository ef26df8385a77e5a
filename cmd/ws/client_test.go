package main

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

func TestClientEchoesLinesThroughAPipe(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	res := runWS(t, strings.NewReader("hello\nwörld\r\n\n"), s.wsURL())
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "hello\nwörld\n\n", res.out, "each message on a line of its own")
	assert.Empty(t, res.stderr, "a normal run is quiet")

	e := s.end(t)
	require.Len(t, e.msgs, 3)
	for _, m := range e.msgs {
		assert.Equal(t, conn.MessageText, m.typ)
	}
	assert.Equal(t, "wörld", string(e.msgs[1].data), "the CR of a CRLF line end is not sent")
	var ce conn.CloseError
	require.ErrorAs(t, e.err, &ce)
	assert.Equal(t, frame.CloseNormal, ce.Code, "default close code")
}

func TestClientBinaryMode(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	res := runWS(t, strings.NewReader("\xff\xfe\n"), "-binary", s.wsURL())
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "\xff\xfe\n", res.out)
	e := s.end(t)
	require.Len(t, e.msgs, 1)
	assert.Equal(t, conn.MessageBinary, e.msgs[0].typ)
}

// RFC 6455, Section 5.6: a text message carries UTF-8, so a line that is not
// UTF-8 is refused before it is sent.
func TestClientRefusesInvalidUTF8AsText(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	res := runWS(t, strings.NewReader("\xff\n"), s.wsURL())
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "-binary")
	assert.Empty(t, s.end(t).msgs)
}

func TestClientSendsHeadersOriginAndSubprotocols(t *testing.T) {
	s := newTestServer(t, &conn.AcceptOptions{
		ServerOptions: conn.ServerOptions{
			Subprotocols:   []string{"chat.v2", "chat.v1"},
			OriginPatterns: []string{"example.com"},
		},
	}, nil)
	s.Start()
	res := runWS(t, strings.NewReader("hi\n"), "-v",
		"-H", "Authorization: Bearer token", "-H", "X-Trace: 1",
		"-origin", "https://example.com", "-subprotocol", "chat.v1, chat.v2", s.wsURL())
	require.Equal(t, exitOK, res.code, res.stderr)
	e := s.end(t)
	assert.Equal(t, "Bearer token", e.req.Header.Get("Authorization"))
	assert.Equal(t, "1", e.req.Header.Get("X-Trace"))
	assert.Equal(t, "https://example.com", e.req.Header.Get("Origin"))
	assert.Equal(t, "chat.v1, chat.v2", e.req.Header.Get("Sec-WebSocket-Protocol"))
	assert.Equal(t, "chat.v2", e.c.Subprotocol())
	assert.Contains(t, res.stderr, "< Sec-WebSocket-Protocol: chat.v2", "verbose mode prints the response")
}

func TestClientCloseCodeAndReason(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	res := runWS(t, strings.NewReader(""), "-close-code", "4001", "-close-reason", "done here", s.wsURL())
	assert.Equal(t, exitOK, res.code, res.stderr)
	var ce conn.CloseError
	require.ErrorAs(t, s.end(t).err, &ce)
	assert.Equal(t, frame.CloseCode(4001), ce.Code)
	assert.Equal(t, "done here", ce.Reason)
}

func TestClientInterruptCloses(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	stdin, feed := io.Pipe()
	defer feed.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The line's echo shows the connection is up; then interrupt.
		_, _ = feed.Write([]byte("up\n"))
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	var out, errb lockedBuffer
	code := run(ctx, []string{"-close-reason", "interrupted", s.wsURL()}, stdin, &out, &errb)
	assert.Equal(t, exitOK, code, errb.String())
	var ce conn.CloseError
	require.ErrorAs(t, s.end(t).err, &ce)
	assert.Equal(t, "interrupted", ce.Reason)
}

// The close code the server sends decides the exit status (RFC 6455,
// Section 7.4.1: 1000 is a normal closure).
func TestClientReportsServerClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   frame.CloseCode
		reason string
		exit   int
		stderr string
	}{
		{"7.4.1/normal", frame.CloseNormal, "", exitOK, ""},
		{"7.4.1/going-away", frame.CloseGoingAway, "restart", exitOK, ""},
		{"7.4.1/policy-violation", frame.ClosePolicyViolation, "no thanks", exitPeerCode, `1008 (policy violation): "no thanks"`},
		{"7.4.2/application-4002", 4002, "bye", exitPeerCode, `4002`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, nil, func(e *peerEnd) {
				e.err = e.c.Close(tc.code, tc.reason)
			})
			s.Start()
			stdin, feed := io.Pipe()
			defer feed.Close()
			res := runWS(t, stdin, s.wsURL())
			assert.Equal(t, tc.exit, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.stderr)
			require.NoError(t, s.end(t).err, "the client answered the close")
		})
	}
}

func TestClientPings(t *testing.T) {
	pinged := make(chan struct{}, 1)
	s := newTestServer(t, &conn.AcceptOptions{Options: conn.Options{OnPing: func([]byte) {
		select {
		case pinged <- struct{}{}:
		default:
		}
	}}}, nil)
	s.Start()
	stdin, feed := io.Pipe()
	sawPing := make(chan bool, 1)
	go func() {
		select {
		case <-pinged:
			sawPing <- true
		case <-time.After(testTimeout):
			sawPing <- false
		}
		feed.Close()
	}()
	res := runWS(t, stdin, "-ping", "20ms", "-wait", "0", s.wsURL())
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.True(t, <-sawPing, "the server saw a ping")
	s.end(t)
}

func TestClientHandshakeRefused(t *testing.T) {
	s := newTestServer(t, nil, nil) // default origin policy: only its own host
	s.Start()
	res := runWS(t, strings.NewReader(""), "-origin", "https://evil.example", s.wsURL())
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "refused the WebSocket handshake: HTTP 403 Forbidden")

	plain := newTestServer(t, nil, nil)
	plain.Config.Handler = http.NotFoundHandler()
	plain.Start()
	res = runWS(t, strings.NewReader(""), plain.wsURL())
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "HTTP 404 Not Found")
}

func TestClientCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	res := runWS(t, strings.NewReader(""), "ws://"+addr+"/")
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "cannot connect to ws://"+addr)
}

func TestClientTLS(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.StartTLS()
	wss := "wss" + s.URL[len("https"):]
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600))

	res := runWS(t, strings.NewReader("secure\n"), wss)
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "not trusted")
	assert.Contains(t, res.stderr, "-cacert FILE")

	res = runWS(t, strings.NewReader("secure\n"), "-cacert", caFile, wss)
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "secure\n", res.out)

	res = runWS(t, strings.NewReader("insecure\n"), "-insecure", wss)
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "insecure\n", res.out)

	res = runWS(t, strings.NewReader(""), "wss://"+s.Listener.Addr().String()+"/", "-cacert", "/nonexistent")
	assert.Equal(t, exitUsage, res.code)

	plain := newTestServer(t, nil, nil)
	plain.Start()
	res = runWS(t, strings.NewReader(""), "-insecure", "wss"+plain.URL[len("http"):])
	assert.Equal(t, exitFailed, res.code)
	assert.Contains(t, res.stderr, "does not speak TLS")
}

// Over ws:// verbose mode shows the wire: the heads as sent and received
// and every frame, masks included (RFC 6455, Section 5.3: a client masks).
func TestClientVerbosePrintsHandshakeAndFrames(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.Start()
	res := runWS(t, strings.NewReader("hello\n"), "-v", "-close-reason", "bye", s.wsURL()+"/path")
	require.Equal(t, exitOK, res.code, res.stderr)
	for _, want := range []string{
		"> GET /path HTTP/1.1\n",
		"> Upgrade: websocket\n",
		"> Sec-WebSocket-Key: ",
		"> Sec-WebSocket-Version: 13\n",
		"< HTTP/1.1 101 Switching Protocols\n",
		"< Sec-WebSocket-Accept: ",
		"> frame text fin len=5 masked\n",
		"< frame text fin len=5\n",
		`> frame close fin len=5 masked: 1000 "bye"` + "\n",
		`< frame close fin len=2: 1000 ""` + "\n",
		"* OPEN -> CLOSING\n",
	} {
		assert.Contains(t, res.stderr, want)
	}
	assert.NotContains(t, res.stderr, "> text (5 bytes)", "no message-level lines beside the frames")
	assert.Equal(t, "hello\n", res.out, "verbose output stays off standard output")
}

// Under TLS the frames are ciphertext: verbose mode shows the response head
// and the messages and control frames the connection reports.
func TestClientVerboseOverTLSPrintsMessages(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.StartTLS()
	res := runWS(t, strings.NewReader("hello\n"), "-v", "-insecure", "wss"+s.URL[len("https"):]+"/path")
	require.Equal(t, exitOK, res.code, res.stderr)
	for _, want := range []string{
		"> GET wss://",
		"< HTTP/1.1 101 Switching Protocols\n",
		"< Upgrade: websocket\n",
		"> text (5 bytes)\n",
		"< text (5 bytes)\n",
		`> close 1000 ""` + "\n",
		"< close 1000",
		"* OPEN -> CLOSING\n",
	} {
		assert.Contains(t, res.stderr, want)
	}
	assert.Equal(t, "hello\n", res.out)
}
