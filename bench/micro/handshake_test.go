package micro_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/handshake"
)

// requests are the handshakes the benchmarks replay, both with the key of
// RFC 6455, Section 4.2.2: "minimal" holds only the fields Section 4.1
// requires; "browser" is what Chromium sends, with an Origin of the same
// host (which every contender's default origin policy accepts) and a
// permessage-deflate offer (which all decline: none enables compression
// here).
var requests = []struct {
	name string
	req  []byte
}{
	{"minimal", crlf(`GET /chat HTTP/1.1
Host: server.example.com
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Version: 13

`)},
	{"browser", crlf(`GET /chat HTTP/1.1
Host: server.example.com
Connection: Upgrade
Pragma: no-cache
Cache-Control: no-cache
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36
Upgrade: websocket
Origin: http://server.example.com
Sec-WebSocket-Version: 13
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits

`)},
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// acceptKey is the Sec-WebSocket-Accept for request's key (Section 4.2.2).
const acceptKey = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// rawAccepter runs the server handshake on a connection no HTTP server has
// read.
type rawAccepter struct {
	name   string
	accept func(nc net.Conn) error
}

// rawAccepters are the contenders of BenchmarkHandshakeRaw.
var rawAccepters = []rawAccepter{
	{"duplex-handshake", func(nc net.Conn) error {
		_, err := handshake.Accept(context.Background(), nc, nil)
		return err
	}},
	{"duplex-conn", func(nc net.Conn) error {
		_, err := conn.Accept(context.Background(), nc, nil)
		return err
	}},
	{"gobwas", func(nc net.Conn) error {
		_, err := ws.Upgrade(nc)
		return err
	}},
}

// serverOptions are options a demanding server sets: a subprotocol (that
// the requests do not offer), an origin pattern, an extra response field,
// and a hook that authorises the request from its target and a field
// (Host, which the requests have) before the 101.
var serverOptions = handshake.ServerOptions{
	Subprotocols:   []string{"chat"},
	OriginPatterns: []string{"*.example.com"},
	Header:         http.Header{"X-Server": {"bench"}},
	Authorize: func(_ context.Context, r handshake.Result) error {
		if r.RequestTarget() != "/chat" || r.RequestHeader("Host") == "" {
			return errRefused
		}
		return nil
	},
}

var errRefused = errors.New("refused")

var connOptions = conn.AcceptOptions{ServerOptions: serverOptions}

// gobwasOptions does with gobwas's callbacks what serverOptions does:
// gobwas has no origin policy, so no pattern either.
var gobwasOptions = ws.Upgrader{
	Protocol: func(p []byte) bool { return string(p) == "chat" },
	Header:   ws.HandshakeHeaderHTTP(http.Header{"X-Server": {"bench"}}),
	OnRequest: func(uri []byte) error {
		if string(uri) != "/chat" {
			return ws.RejectConnectionError(ws.RejectionStatus(http.StatusForbidden))
		}
		return nil
	},
	OnHost: func(host []byte) error {
		if len(host) == 0 {
			return ws.RejectConnectionError(ws.RejectionStatus(http.StatusForbidden))
		}
		return nil
	},
}

// optionAccepters are the contenders of BenchmarkHandshakeRawOptionsRatio:
// rawAccepters with serverOptions and gobwasOptions.
var optionAccepters = []rawAccepter{
	{"duplex-handshake", func(nc net.Conn) error {
		_, err := handshake.Accept(context.Background(), nc, &serverOptions)
		return err
	}},
	{"duplex-conn", func(nc net.Conn) error {
		_, err := conn.Accept(context.Background(), nc, &connOptions)
		return err
	}},
	{"gobwas", func(nc net.Conn) error {
		_, err := gobwasOptions.Upgrade(nc)
		return err
	}},
}

// httpUpgraders are the contenders of BenchmarkHandshakeHTTP: each
// upgrades a request net/http has read.
var httpUpgraders = []struct {
	name    string
	upgrade func(w http.ResponseWriter, r *http.Request) error
}{
	{"duplex", func(w http.ResponseWriter, r *http.Request) error {
		_, err := conn.Upgrade(w, r, nil)
		return err
	}},
	{"gorilla", func(w http.ResponseWriter, r *http.Request) error {
		var u websocket.Upgrader
		_, err := u.Upgrade(w, r, nil)
		return err
	}},
}

// httpServer is a real http.Server whose connections are memConns handed
// over a channel: the whole net/http path, without TCP.
type httpServer struct {
	ln   *chanListener
	done chan error
}

func startHTTP(tb testing.TB, upgrade func(http.ResponseWriter, *http.Request) error) *httpServer {
	tb.Helper()
	s := &httpServer{ln: newChanListener(), done: make(chan error, 1)}
	srv := &http.Server{
		Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.done <- upgrade(w, r) }),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	return s
}

// handshake serves one connection and returns the handler's error.
func (s *httpServer) handshake(c *memConn) error {
	s.ln.conns <- c
	return <-s.done
}

// requireSwitched checks that out is a 101 response accepting request's
// key, with no extension.
func requireSwitched(t *testing.T, out []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, acceptKey, resp.Header.Get("Sec-WebSocket-Accept"))
	assert.Empty(t, resp.Header.Get("Sec-WebSocket-Extensions"))
}

// TestHandshakesSwitch checks that every contender completes each
// handshake the benchmarks replay, so that they time a success.
func TestHandshakesSwitch(t *testing.T) {
	for _, rq := range requests {
		for _, a := range rawAccepters {
			t.Run("raw/"+rq.name+"/"+a.name, func(t *testing.T) {
				c := newMemConn(rq.req, false)
				for range 2 { // the benchmark reuses the connection
					c.reset()
					require.NoError(t, a.accept(c))
					requireSwitched(t, c.written())
				}
			})
		}
		for _, a := range optionAccepters {
			t.Run("options/"+rq.name+"/"+a.name, func(t *testing.T) {
				c := newMemConn(rq.req, false)
				for range 2 {
					c.reset()
					require.NoError(t, a.accept(c))
					requireSwitched(t, c.written())
					assert.Contains(t, string(c.written()), "\r\nX-Server: bench\r\n")
				}
			})
		}
		for _, u := range httpUpgraders {
			t.Run("http/"+rq.name+"/"+u.name, func(t *testing.T) {
				s := startHTTP(t, u.upgrade)
				c := newMemConn(rq.req, true)
				require.NoError(t, s.handshake(c))
				requireSwitched(t, c.written())
			})
		}
	}
}

// TestConnAcceptAuthorizeRefuses: conn.Accept answers a refusal of the
// Authorize hook with its status before any Conn exists.
func TestConnAcceptAuthorizeRefuses(t *testing.T) {
	opts := &conn.AcceptOptions{ServerOptions: handshake.ServerOptions{
		Authorize: func(_ context.Context, r handshake.Result) error {
			if r.RequestHeader("Authorization") == "" {
				return &handshake.Error{Status: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {"Basic"}}}
			}
			return nil
		},
	}}
	c := newMemConn(requests[0].req, false)
	_, err := conn.Accept(context.Background(), c, opts)
	var herr *handshake.Error
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusUnauthorized, herr.Status)
	require.ErrorIs(t, err, handshake.ErrRefused)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.written())), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "Basic", resp.Header.Get("Www-Authenticate"))
}

func BenchmarkHandshakeRaw(b *testing.B) {
	for _, rq := range requests {
		for _, a := range rawAccepters {
			b.Run(rq.name+"/"+a.name, func(b *testing.B) {
				c := newMemConn(rq.req, false)
				b.ReportAllocs()
				for b.Loop() {
					c.reset()
					if err := a.accept(c); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkHandshakeHTTP(b *testing.B) {
	for _, rq := range requests {
		for _, u := range httpUpgraders {
			b.Run(rq.name+"/"+u.name, func(b *testing.B) {
				s := startHTTP(b, u.upgrade)
				b.ReportAllocs()
				for b.Loop() {
					if err := s.handshake(newMemConn(rq.req, true)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
