package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
)

// compressingServer accepts permessage-deflate and compresses every
// message it echoes, however short.
func compressingServer(t *testing.T) *testServer {
	return newTestServer(t, &conn.AcceptOptions{Options: conn.Options{
		Compression: &conn.CompressionOptions{Threshold: -1},
	}}, nil)
}

// repetitiveLine is a line far over conn.DefaultCompressionThreshold that
// compresses well.
var repetitiveLine = strings.Repeat("compress me, ", 40)

// frameLen finds the length of the first frame line matching prefix
// ("> frame text fin rsv1") in verbose output.
func frameLen(t *testing.T, stderr, prefix string) int {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + ` len=(\d+)`).FindStringSubmatch(stderr)
	require.NotNil(t, m, "no %q line in:\n%s", prefix, stderr)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// RFC 7692, Section 6: a compressed message has RSV1 on its first frame;
// verbose mode shows it on the frames that crossed the wire.
func TestClientCompressesByDefault(t *testing.T) {
	s := compressingServer(t)
	s.Start()
	res := runWS(t, strings.NewReader(repetitiveLine+"\nhi\n"), "-v", s.wsURL())
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, repetitiveLine+"\nhi\n", res.out)
	assert.Contains(t, res.stderr, "> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n")
	assert.Contains(t, res.stderr, "< Sec-WebSocket-Extensions: permessage-deflate\n")
	sent := frameLen(t, res.stderr, "> frame text fin rsv1")
	assert.Less(t, sent, len(repetitiveLine)/4, "the long line went out compressed")
	assert.Contains(t, res.stderr, "> frame text fin len=2 masked\n",
		"a line under the threshold goes out as it is")
	assert.Contains(t, res.stderr, "< frame text fin rsv1 len=", "the server's compressed echo")

	e := s.end(t)
	_, ok := e.c.Compression()
	assert.True(t, ok, "the server agreed to compress")
	require.Len(t, e.msgs, 2)
	assert.Equal(t, repetitiveLine, string(e.msgs[0].data))
}

func TestClientCompressOff(t *testing.T) {
	s := compressingServer(t)
	s.Start()
	res := runWS(t, strings.NewReader(repetitiveLine+"\n"), "-v", "-compress=false", s.wsURL())
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, repetitiveLine+"\n", res.out)
	assert.NotContains(t, res.stderr, "Sec-WebSocket-Extensions")
	assert.NotContains(t, res.stderr, "rsv1")
	assert.Contains(t, res.stderr, "> frame text fin len="+strconv.Itoa(len(repetitiveLine))+" masked\n")

	e := s.end(t)
	assert.Empty(t, e.req.Header.Values("Sec-WebSocket-Extensions"), "nothing offered")
	_, ok := e.c.Compression()
	assert.False(t, ok)
}

// Under TLS the wire is ciphertext: verbose mode states the agreement.
func TestClientCompressionOverTLS(t *testing.T) {
	s := compressingServer(t)
	s.StartTLS()
	res := runWS(t, strings.NewReader("secure\n"), "-v", "-insecure", "wss"+s.URL[len("https"):])
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "* compression: permessage-deflate\n")
	assert.Equal(t, "secure\n", res.out)
	s.end(t)
}

// In server mode verbose output shows each client's wire under its number.
func TestServerCompresses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		compress bool
	}{
		{"7692-7/default-on", []string{"-v"}, true},
		{"7692-7/off", []string{"-v", "-compress=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, feed, out, errb, exit := startListener(t, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, _, err := conn.Dial(ctx, url, &conn.DialOptions{Options: conn.Options{
				Compression: &conn.CompressionOptions{Threshold: -1},
			}})
			require.NoError(t, err)
			defer c.CloseNow()
			_, ok := c.Compression()
			assert.Equal(t, tc.compress, ok, "agreed to compress")

			require.NoError(t, c.WriteMessage(ctx, conn.MessageText, []byte(repetitiveLine)))
			waitFor(t, out, repetitiveLine+"\n")
			_, err = feed.Write([]byte(repetitiveLine + "\n"))
			require.NoError(t, err)
			typ, b, err := c.ReadMessage(ctx)
			require.NoError(t, err)
			assert.Equal(t, conn.MessageText, typ)
			assert.Equal(t, repetitiveLine, string(b))
			require.NoError(t, feed.Close())
			_, _, err = c.ReadMessage(ctx)
			var ce conn.CloseError
			require.ErrorAs(t, err, &ce)
			select {
			case code := <-exit:
				assert.Equal(t, exitOK, code)
			case <-time.After(testTimeout):
				t.Fatal("ws -listen did not exit at the end of its input")
			}

			stderr := errb.String()
			assert.Contains(t, stderr, "[1] < GET / HTTP/1.1\n", "the request head")
			if tc.compress {
				assert.Contains(t, stderr, "[1] connected from ")
				assert.Contains(t, stderr, "compression: permessage-deflate\n")
				assert.Contains(t, stderr, "[1] < frame text fin rsv1 len=")
				sent := frameLen(t, stderr, "[1] > frame text fin rsv1")
				assert.Less(t, sent, len(repetitiveLine)/4, "the broadcast went out compressed")
			} else {
				assert.Contains(t, stderr, "compression: none\n")
				assert.NotContains(t, stderr, "rsv1")
				assert.Contains(t, stderr, "[1] > frame text fin len="+strconv.Itoa(len(repetitiveLine))+"\n")
			}
		})
	}
}

// A connection the server accepted and that closed before its request was
// served leaves no number behind in verbose mode.
func TestServerTapForgetsClosedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	h := &hub{p: &printer{out: io.Discard, errw: io.Discard, verbose: true}, ids: make(map[string]int)}
	tl := &tapListener{Listener: ln, h: h}
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := tl.Accept()
	require.NoError(t, err)
	h.mu.Lock()
	assert.Equal(t, map[string]int{client.LocalAddr().String(): 1}, h.ids)
	h.mu.Unlock()
	require.NoError(t, server.Close())
	h.mu.Lock()
	assert.Empty(t, h.ids)
	h.mu.Unlock()
}
