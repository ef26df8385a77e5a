package conn_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
	"duplex/internal/godebug"
)

// h2Request is what a server handler saw of the request it upgraded.
type h2Request struct {
	proto    int
	method   string
	protocol string
}

// h2Server runs an httptest TLS server with HTTP/2 whose handler upgrades
// with opts, records the request, and runs fn on the connection until it
// returns; over HTTP/2 the handler must wait, since the stream ends with it.
func h2Server(t testing.TB, opts *conn.AcceptOptions, fn func(*conn.Conn)) (*httptest.Server, <-chan h2Request) {
	t.Helper()
	return h2ServerWith(t, nil, opts, fn)
}

// h2ServerWith is h2Server with setup applied to the http.Server before it
// starts.
func h2ServerWith(t testing.TB, setup func(*http.Server), opts *conn.AcceptOptions, fn func(*conn.Conn)) (*httptest.Server, <-chan h2Request) {
	t.Helper()
	reqs := make(chan h2Request, 16)
	var wg sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		reqs <- h2Request{r.ProtoMajor, r.Method, r.Header.Get(":protocol")}
		c, err := conn.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		fn(c)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	if setup != nil {
		setup(srv.Config)
	}
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv, reqs
}

// dialH2 dials srv with DialOptions.HTTP2 and opts.
func dialH2(t testing.TB, srv *httptest.Server, opts *conn.DialOptions) (*conn.Conn, *handshake.Response) {
	t.Helper()
	o := conn.DialOptions{}
	if opts != nil {
		o = *opts
	}
	o.HTTP2 = true
	o.TLSConfig = trustingConfig(t, srv.Certificate())
	c, resp, err := conn.Dial(testCtx(t), wsURL(srv), &o)
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return c, resp
}

// echo sends every message back until the connection ends.
func echo(c *conn.Conn) {
	ctx := context.Background()
	for {
		typ, b, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if c.WriteMessage(ctx, typ, b) != nil {
			return
		}
	}
}

// The handshake runs as an extended CONNECT on HTTP/2 (RFC 8441, Section
// 5), and the connection carries messages of every size both ways.
func TestH2Echo(t *testing.T) {
	srv, reqs := h2Server(t, nil, echo)
	c, resp := dialH2(t, srv, nil)

	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, h2Request{2, http.MethodConnect, "websocket"}, <-reqs)

	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 200 << 10} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		typ, got := roundTrip(t, c, conn.MessageBinary, msg)
		assert.Equal(t, conn.MessageBinary, typ)
		assert.Equal(t, msg, got, "size %d", size)
	}
	typ, got := roundTrip(t, c, conn.MessageText, []byte("héllo"))
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, "héllo", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	assert.Equal(t, conn.StateClosed, c.State())
}

// The http.Server's read and write timeouts bound the extended CONNECT,
// not the WebSocket on its stream: on HTTP/2 they are deadlines of the
// stream, which would reset it mid-conversation, so Upgrade clears them as
// an HTTP/1.1 upgrade leaves net/http's deadlines behind.
func TestH2ServerTimeoutsEndWithTheHandshake(t *testing.T) {
	// The timeouts also bound the TLS handshake and the CONNECT's head, so they must leave a loaded
	// machine time for those; the sleeps then outlast them twice over.
	const timeout = 750 * time.Millisecond
	srv, _ := h2ServerWith(t, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout = timeout, timeout
	}, nil, echo)
	c, _ := dialH2(t, srv, nil)
	for i := range 2 {
		time.Sleep(2 * timeout)
		msg := fmt.Appendf(nil, "still here %d", i)
		_, got := roundTrip(t, c, conn.MessageText, msg)
		assert.Equal(t, string(msg), string(got))
	}
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A ping is answered with its payload (RFC 6455, Section 5.5.3) over the
// stream, both ways.
func TestH2Ping(t *testing.T) {
	serverPong := make(chan string, 1)
	srv, _ := h2Server(t, &conn.AcceptOptions{Options: conn.Options{
		OnPong: func(p []byte) { serverPong <- string(p) },
	}}, func(c *conn.Conn) {
		_ = c.Ping(context.Background(), []byte("from server"))
		echo(c)
	})
	clientPong := make(chan string, 1)
	c, _ := dialH2(t, srv, &conn.DialOptions{Options: conn.Options{
		OnPong: func(p []byte) { clientPong <- string(p) },
	}})
	require.NoError(t, c.Ping(testCtx(t), []byte("from client")))
	// Reading runs the control frames.
	roundTrip(t, c, conn.MessageText, []byte("x"))
	select {
	case p := <-clientPong:
		assert.Equal(t, "from client", p)
	case <-time.After(waitTimeout):
		t.Fatal("no pong for the client's ping")
	}
	select {
	case p := <-serverPong:
		assert.Equal(t, "from server", p)
	case <-time.After(waitTimeout):
		t.Fatal("no pong for the server's ping")
	}
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// The closing handshake carries its code and reason both ways, and ends
// the stream (RFC 8441, Section 5: END_STREAM stands for the TCP close).
func TestH2CloseCodes(t *testing.T) {
	t.Run("client-closes", func(t *testing.T) {
		got := make(chan error, 1)
		srv, _ := h2Server(t, nil, func(c *conn.Conn) {
			_, _, err := c.ReadMessage(context.Background())
			got <- err
		})
		c, _ := dialH2(t, srv, nil)
		require.NoError(t, c.Close(4001, "bye"), "the server answered")
		var ce conn.CloseError
		select {
		case err := <-got:
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, frame.CloseCode(4001), ce.Code)
			assert.Equal(t, "bye", ce.Reason)
		case <-time.After(waitTimeout):
			t.Fatal("the server did not see the close")
		}
		assert.Equal(t, conn.StateClosed, c.State())
	})
	t.Run("server-closes", func(t *testing.T) {
		srv, _ := h2Server(t, nil, func(c *conn.Conn) {
			_ = c.Close(frame.CloseGoingAway, "restart")
		})
		c, _ := dialH2(t, srv, nil)
		_, _, err := c.ReadMessage(testCtx(t))
		var ce conn.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, frame.CloseGoingAway, ce.Code)
		assert.Equal(t, "restart", ce.Reason)
		assert.Eventually(t, func() bool { return c.State() == conn.StateClosed }, waitTimeout, time.Millisecond)
	})
}

// permessage-deflate is negotiated on the CONNECT as on the GET (RFC 8441,
// Section 5 keeps Sec-WebSocket-Extensions) and compresses over the stream.
func TestH2Deflate(t *testing.T) {
	comp := &conn.CompressionOptions{}
	var serverDeflates atomic.Bool
	srv, _ := h2Server(t, &conn.AcceptOptions{Options: conn.Options{Compression: comp}}, func(c *conn.Conn) {
		_, ok := c.Compression()
		serverDeflates.Store(ok)
		echo(c)
	})
	c, resp := dialH2(t, srv, &conn.DialOptions{Options: conn.Options{Compression: comp}})
	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Contains(t, resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	_, ok := c.Compression()
	assert.True(t, ok)
	msg := bytes.Repeat([]byte("compress me "), 5000)
	_, got := roundTrip(t, c, conn.MessageText, msg)
	assert.Equal(t, msg, got)
	assert.True(t, serverDeflates.Load())
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// Subprotocols and the origin policy apply as over HTTP/1.1; a refusal is
// an HTTP/2 response whose status reaches the client.
func TestH2Negotiation(t *testing.T) {
	srv, _ := h2Server(t, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Subprotocols: []string{"v2", "v1"}}}, echo)
	c, _ := dialH2(t, srv, &conn.DialOptions{ClientOptions: conn.ClientOptions{Subprotocols: []string{"v1", "v2"}}})
	assert.Equal(t, "v2", c.Subprotocol())
	require.NoError(t, c.Close(frame.CloseNormal, ""))

	_, resp, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{
		HTTP2:         true,
		TLSConfig:     trustingConfig(t, srv.Certificate()),
		ClientOptions: conn.ClientOptions{Origin: "https://evil.example"},
	})
	var herr *handshake.Error
	require.ErrorAs(t, err, &herr)
	require.ErrorIs(t, err, handshake.ErrBadStatus)
	assert.Equal(t, http.StatusForbidden, herr.Status)
	require.NotNil(t, resp)
	assert.Equal(t, 2, resp.ProtoMajor, "refused on HTTP/2, not retried on HTTP/1.1")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// Keepalive pings on the server's read deadline: the stream's deadlines
// expire and the connection reads on, which net/http's own stream deadlines
// would not allow.
func TestH2KeepaliveDeadlines(t *testing.T) {
	pings := make(chan struct{}, 16)
	// A long PongTimeout: a loaded machine must not fail the client, only
	// the pings' deadlines are under test.
	srv, _ := h2Server(t, &conn.AcceptOptions{Options: conn.Options{PingInterval: 20 * time.Millisecond, PongTimeout: waitTimeout}}, echo)
	c, _ := dialH2(t, srv, &conn.DialOptions{Options: conn.Options{
		OnPing: func([]byte) {
			select {
			case pings <- struct{}{}:
			default:
			}
		},
	}})
	go func() { _, _, _ = c.ReadMessage(context.Background()) }()
	for range 3 {
		select {
		case <-pings:
		case <-time.After(waitTimeout):
			t.Fatal("keepalive stopped pinging")
		}
	}
	assert.Equal(t, conn.StateOpen, c.State())
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A read whose context ends between frames returns and leaves the
// connection usable (see the package documentation's Errors): the stream's
// read deadline expires without breaking the stream, which net/http's own
// would.
func TestH2ReadContextDeadline(t *testing.T) {
	release := make(chan struct{})
	srv, _ := h2Server(t, nil, func(c *conn.Conn) {
		<-release
		echo(c)
	})
	c, _ := dialH2(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.ReadMessage(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), waitTimeout)
	close(release)
	assert.Equal(t, conn.StateOpen, c.State())
	_, got := roundTrip(t, c, conn.MessageText, []byte("still here"))
	assert.Equal(t, "still here", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A peer that stops reading holds a writer only until WriteTimeout: the
// blocked write on the stream ends by resetting it.
func TestH2WriteTimeout(t *testing.T) {
	done := make(chan error, 1)
	srv, _ := h2Server(t, &conn.AcceptOptions{Options: conn.Options{WriteTimeout: 200 * time.Millisecond}}, func(c *conn.Conn) {
		msg := make([]byte, 64<<10)
		for i := 0; ; i++ {
			if err := c.WriteMessage(context.Background(), conn.MessageBinary, msg); err != nil {
				done <- err
				return
			}
			if i > 4096 { // 256 MiB: flow control never held the writer
				done <- nil
				return
			}
		}
	})
	c, _ := dialH2(t, srv, nil) // never reads
	select {
	case err := <-done:
		require.Error(t, err, "the writer was never blocked")
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed), "%v", err)
	case <-time.After(waitTimeout):
		t.Fatal("the write was not bounded by WriteTimeout")
	}
	c.CloseNow()
}

// A handler that returns while the connection runs ends the stream: the
// connection then fails like one whose TCP connection closed, and a write
// after that returns an error, never a panic from net/http.
func TestH2HandlerReturnsEarly(t *testing.T) {
	late := make(chan error, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			late <- err
			return
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			late <- c.WriteMessage(context.Background(), conn.MessageText, []byte("too late"))
			c.CloseNow()
		}()
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c, resp, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{HTTP2: true, TLSConfig: trustingConfig(t, srv.Certificate())})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, 2, resp.ProtoMajor)
	select {
	case err := <-late:
		require.Error(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("the late write hung")
	}
	_, _, err = c.ReadMessage(testCtx(t))
	require.Error(t, err, "the stream ended with the handler")
}

// A server that speaks only HTTP/1.1 picks it in ALPN: Dial upgrades on
// that connection.
func TestH2FallbackALPN(t *testing.T) {
	srv := wsServer(t, serveTLS, nil, echoOnce)
	c, resp, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{HTTP2: true, TLSConfig: trustingConfig(t, srv.Certificate())})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, 1, resp.ProtoMajor)
	_, got := roundTrip(t, c, conn.MessageText, []byte("h1"))
	assert.Equal(t, "h1", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A server that speaks HTTP/2 without SETTINGS_ENABLE_CONNECT_PROTOCOL (as
// net/http's does without GODEBUG=http2xconnect=1) gets no extended CONNECT
// (RFC 8441, Section 3): Dial reads its SETTINGS and upgrades on a new
// HTTP/1.1 connection.
func TestH2FallbackNoSetting(t *testing.T) {
	cert := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate
	cert.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: cert.TLS.Certificates,
		NextProtos:   []string{"h2", "http/1.1"},
	})
	require.NoError(t, err)
	var h2Conns, h2Streams atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			tc := nc.(*tls.Conn)
			if err := tc.HandshakeContext(testCtx(t)); err != nil {
				tc.Close()
				continue
			}
			if tc.ConnectionState().NegotiatedProtocol == "h2" {
				h2Conns.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer tc.Close()
					fakeH2WithoutConnect(tc, &h2Streams)
				}()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := conn.Accept(context.Background(), tc, nil)
				if err == nil {
					echoOnce(c)
					c.CloseNow()
				}
			}()
		}
	}()
	defer func() {
		ln.Close()
		wg.Wait()
	}()
	cfg := &tls.Config{RootCAs: trustingConfig(t, cert.Certificate()).RootCAs, ServerName: "example.com"}
	c, resp, err := conn.Dial(testCtx(t), "wss://"+ln.Addr().String(), &conn.DialOptions{HTTP2: true, TLSConfig: cfg})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, 1, resp.ProtoMajor)
	assert.EqualValues(t, 1, h2Conns.Load(), "HTTP/2 was tried first")
	assert.EqualValues(t, 0, h2Streams.Load(), "no CONNECT without the setting")
	_, got := roundTrip(t, c, conn.MessageText, []byte("fell back"))
	assert.Equal(t, "fell back", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// fakeH2WithoutConnect plays an HTTP/2 server that advertises no extended
// CONNECT: its preface is SETTINGS without SETTINGS_ENABLE_CONNECT_PROTOCOL.
// It counts the HEADERS frames (requests) it gets, and reads until the
// client goes.
func fakeH2WithoutConnect(nc net.Conn, streams *atomic.Int32) {
	fr := http2.NewFramer(nc, nc)
	if fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}) != nil {
		return
	}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			streams.Add(1)
		}
	}
}

// A server on a raw listener negotiates h2 in ALPN and hands HTTP/2
// connections to x/net's http2.Server.ServeConn, whose handler upgrades;
// HTTP/1.1 connections go to Accept.
func TestH2RawListener(t *testing.T) {
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cert.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: cert.TLS.Certificates,
		NextProtos:   []string{"h2", "http/1.1"},
	})
	require.NoError(t, err)
	protos := make(chan int, 4)
	h2srv := &http2.Server{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		protos <- r.ProtoMajor
		echoOnce(c)
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := nc.(*tls.Conn)
				if err := tc.HandshakeContext(context.Background()); err != nil {
					tc.Close()
					return
				}
				if tc.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS {
					h2srv.ServeConn(tc, &http2.ServeConnOpts{Handler: handler})
					return
				}
				c, err := conn.Accept(context.Background(), tc, nil)
				if err != nil {
					return
				}
				defer c.CloseNow()
				protos <- 1
				echoOnce(c)
			}()
		}
	}()
	defer func() {
		ln.Close()
		wg.Wait()
	}()
	cfg := &tls.Config{RootCAs: trustingConfig(t, cert.Certificate()).RootCAs, ServerName: "example.com"}
	for _, useH2 := range []bool{true, false} {
		c, resp, err := conn.Dial(testCtx(t), "wss://"+ln.Addr().String(), &conn.DialOptions{HTTP2: useH2, TLSConfig: cfg})
		require.NoError(t, err)
		want := map[bool]int{true: 2, false: 1}[useH2]
		assert.Equal(t, want, resp.ProtoMajor)
		assert.Equal(t, want, <-protos)
		_, got := roundTrip(t, c, conn.MessageText, []byte("raw"))
		assert.Equal(t, "raw", string(got))
		require.NoError(t, c.Close(frame.CloseNormal, ""))
	}
}

// A context that ends while the server sits on the CONNECT ends Dial.
func TestH2DialContextDuringHandshake(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := conn.Dial(ctx, wsURL(srv), &conn.DialOptions{HTTP2: true, TLSConfig: trustingConfig(t, srv.Certificate())})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Without GODEBUG=http2xconnect=1 at its start, a process's net/http
// HTTP/2 server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL, so
// Dial falls back to HTTP/1.1, which Upgrade serves on the same handler.
// The check runs in a process started without the setting, since this one
// has it.
func TestH2WithoutGODEBUG(t *testing.T) {
	out, err := godebug.RunWithout(godebug.XConnect, "TestH2WithoutGODEBUGChild")
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestH2WithoutGODEBUGChild")
}

func TestH2WithoutGODEBUGChild(t *testing.T) {
	if !godebug.Without(godebug.XConnect) {
		t.Skip("runs in the process TestH2WithoutGODEBUG starts")
	}
	srv, reqs := h2Server(t, nil, echo)
	c, resp := dialH2(t, srv, nil)
	assert.Equal(t, 1, resp.ProtoMajor, "no extended CONNECT without the setting")
	assert.Equal(t, h2Request{1, http.MethodGet, ""}, <-reqs)
	_, got := roundTrip(t, c, conn.MessageText, []byte("h1"))
	assert.Equal(t, "h1", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A server that failed the connection and can no longer follow the
// client's frames ends the stream at once (its CloseWrite), rather than
// waiting for the client to end it: over TCP it half-closes so that the
// client reads the close frame and ends its side; an HTTP/2 response
// cannot half-close, and ending the stream loses nothing already sent.
func TestH2ServerEndsUnfollowableStream(t *testing.T) {
	srv, _ := h2Server(t, &conn.AcceptOptions{Options: conn.Options{CloseTimeout: 5 * time.Second}}, echo)
	tc, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{
		RootCAs: trustingConfig(t, srv.Certificate()).RootCAs, ServerName: "example.com", NextProtos: []string{"h2"},
	})
	require.NoError(t, err)
	cc, err := (&http2.Transport{}).NewClientConn(tc) //nolint:staticcheck // the only client that sends :protocol
	require.NoError(t, err)
	defer cc.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodConnect, "https://"+srv.Listener.Addr().String()+"/", pr)
	require.NoError(t, err)
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	resp, err := cc.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A masked text frame of 21 bytes whose first 4 are invalid UTF-8: the
	// server fails the connection with 1007 before the frame ends...
	bad := []byte{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 'x', 'x', 'x'}
	head := []byte{0x81, 0x80 | byte(len(bad)+4), 0, 0, 0, 0}
	_, err = pw.Write(append(head, bad...))
	require.NoError(t, err)
	// ... then the rest of it and bytes that are no frame header (RSV bits,
	// a reserved opcode), after which the frames cannot be followed.
	start := time.Now()
	rest := append([]byte("xxxx"), bytes.Repeat([]byte{0xff}, 16)...)
	go func() { _, _ = pw.Write(rest) }()
	got, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	require.GreaterOrEqual(t, len(got), 4, "the close frame")
	assert.Equal(t, []byte{0x88, byte(len(got) - 2), 0x03, 0xef}, got[:4], "close 1007 (RFC 6455, Section 7.4.1)")
	// Once the frames are lost only the stream's end or CloseTimeout (5 s)
	// ends the server's discarding: half of it tells them apart.
	assert.Less(t, elapsed, 2500*time.Millisecond, "the stream did not end at once (err %v)", err)
}
