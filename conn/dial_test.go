package conn_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

func TestDialBadURL(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"3/scheme-ftp", "ftp://127.0.0.1/"},
		{"3/no-scheme", "127.0.0.1:80"},
		{"3/no-host", "ws:///chat"},
		{"3/fragment", "ws://127.0.0.1/chat#frag"},
		{"3/empty-fragment", "ws://127.0.0.1/chat#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dialed := false
			c, resp, err := conn.Dial(testCtx(t), tc.url, &conn.DialOptions{
				NetDial: func(context.Context, string, string) (net.Conn, error) {
					dialed = true
					return nil, io.ErrUnexpectedEOF
				},
			})
			require.ErrorIs(t, err, conn.ErrBadURL)
			assert.Nil(t, c)
			assert.Nil(t, resp)
			assert.False(t, dialed, "nothing is dialed for a bad URL")
		})
	}
}

// Dial accepts the http and https spellings of ws and wss.
func TestDialSchemes(t *testing.T) {
	srv := wsServer(t, servePlain, nil, echoOnce)
	for _, u := range []string{wsURL(srv), srv.URL, strings.ToUpper(wsURL(srv)[:2]) + wsURL(srv)[2:]} {
		c, _, err := conn.Dial(testCtx(t), u, nil)
		require.NoError(t, err, u)
		_, got := roundTrip(t, c, conn.MessageText, []byte(u))
		assert.Equal(t, u, string(got))
		require.NoError(t, c.Close(frame.CloseNormal, ""))
	}
}

// A refusal carries its status in the error, and its headers in the
// response.
func TestDialRefusedStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, resp, err := conn.Dial(testCtx(t), wsURL(srv), nil)
	var he *handshake.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusServiceUnavailable, he.Status)
	assert.ErrorIs(t, err, handshake.ErrBadStatus)
	assert.Nil(t, c)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "120", resp.Header.Get("Retry-After"))
}

func TestDialNetDialHook(t *testing.T) {
	srv := wsServer(t, servePlain, nil, echoOnce)
	var addrs []string
	d := &net.Dialer{}
	c, _, err := conn.Dial(testCtx(t), "ws://duplex.test/", &conn.DialOptions{
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			addrs = append(addrs, network+" "+addr)
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
		Proxy: noProxy,
	})
	require.NoError(t, err)
	defer c.CloseNow()
	// RFC 6455, Section 3: the port defaults to 80 for ws.
	assert.Equal(t, []string{"tcp duplex.test:80"}, addrs)
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// rawServer accepts one connection on a loopback listener and runs fn on it
// in a goroutine that cleanup waits for.
func rawServer(t testing.TB, fn func(nc net.Conn)) net.Listener {
	t.Helper()
	ln := listen(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		fn(nc)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln
}

// A server may send its first frame right behind the 101 response, in the
// same segment; it must be read as the first frame.
func TestDialKeepsBytesAfterResponse(t *testing.T) {
	ln := rawServer(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		req, err := handshake.ReadRequest(br, handshake.Limits{})
		if err != nil {
			return
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		_, _ = nc.Write(append([]byte(resp), frameBytes(frame.OpBinary, []byte("first"), false)...))
		_, _ = io.Copy(io.Discard, br) // until the client goes
	})
	c, _, err := conn.Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	typ, got, err := c.ReadMessage(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, conn.MessageBinary, typ)
	assert.Equal(t, "first", string(got))
}

func TestDialContextCancelledDuringHandshake(t *testing.T) {
	requested := make(chan struct{})
	serverSaw := make(chan error, 1)
	ln := rawServer(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		if _, err := handshake.ReadRequest(br, handshake.Limits{}); err != nil {
			serverSaw <- err
			return
		}
		close(requested)
		// Never answer: only the client's ctx ends the handshake.
		_, err := br.ReadByte()
		serverSaw <- err
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-requested
		cancel()
	}()
	c, _, err := conn.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, c)
	// Dial closed the connection: the server reads EOF.
	require.ErrorIs(t, receive(t, serverSaw), io.EOF)
}

// trustingConfig returns a TLS config that trusts the test server's
// certificate only.
func trustingConfig(t testing.TB, cert *x509.Certificate) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool}
}

func TestDialTLS(t *testing.T) {
	srv := wsServer(t, serveTLS, nil, echoOnce)
	cfg := trustingConfig(t, srv.Certificate())
	c, _, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{TLSConfig: cfg})
	require.NoError(t, err)
	defer c.CloseNow()
	_, got := roundTrip(t, c, conn.MessageText, []byte("over tls"))
	assert.Equal(t, "over tls", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	assert.Empty(t, cfg.ServerName, "the caller's config is cloned, not modified")
}

// A server that speaks HTTP/2 picks h2 from an offer that has it; Dial
// offers only http/1.1, whatever the caller's config says.
func TestDialTLSOffersOnlyHTTP11(t *testing.T) {
	srv := wsServer(t, serveTLSWithH2, nil, echoOnce)
	cfg := trustingConfig(t, srv.Certificate())
	cfg.NextProtos = []string{"h2", "http/1.1"}
	var proto string
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		proto = cs.NegotiatedProtocol
		return nil
	}
	c, _, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{TLSConfig: cfg})
	require.NoError(t, err)
	defer c.CloseNow()
	// The server lists only h2 and lets an http/1.1-only client in without
	// ALPN (crypto/tls's fallback), so "" is what a correct offer gets.
	assert.Empty(t, proto)
	_, got := roundTrip(t, c, conn.MessageText, []byte("h1"))
	assert.Equal(t, "h1", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

func TestDialTLSUntrusted(t *testing.T) {
	srv := wsServer(t, serveTLS, nil, echoOnce)
	c, _, err := conn.Dial(testCtx(t), wsURL(srv), nil)
	var cve *tls.CertificateVerificationError
	require.ErrorAs(t, err, &cve)
	assert.Nil(t, c)
}

// noProxy is a DialOptions.Proxy that never proxies.
func noProxy(*url.URL) (*url.URL, error) { return nil, nil }

// connectProxy is an HTTP CONNECT proxy on loopback that tunnels every
// request to target, whatever host it names, and records what it was asked.
type connectProxy struct {
	ln     net.Listener
	target string
	status int // reply status; 200 when zero

	mu      sync.Mutex
	hosts   []string // CONNECT request targets
	auths   []string // Proxy-Authorization values
	tunnels atomic.Int32
	wg      sync.WaitGroup
}

func newConnectProxy(t testing.TB, target string) *connectProxy {
	t.Helper()
	p := &connectProxy{ln: listen(t), target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		p.ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) url() *url.URL { return &url.URL{Scheme: "http", Host: p.ln.Addr().String()} }

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer nc.Close()
			p.handle(nc)
		}()
	}
}

func (p *connectProxy) handle(nc net.Conn) {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, req.Host)
	p.auths = append(p.auths, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.status != 0 && p.status != http.StatusOK {
		_, _ = fmt.Fprintf(nc, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", p.status, http.StatusText(p.status))
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_, _ = io.WriteString(nc, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	p.tunnels.Add(1)
	_, _ = io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, br)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(nc, up)
	_ = nc.(*net.TCPConn).CloseWrite()
	<-done
}

func (p *connectProxy) requests() (hosts, auths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...), append([]string(nil), p.auths...)
}

func TestDialProxy(t *testing.T) {
	for _, mode := range []serverMode{servePlain, serveTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := wsServer(t, mode, nil, echoOnce)
			p := newConnectProxy(t, srv.Listener.Addr().String())
			proxyURL := p.url()
			proxyURL.User = url.UserPassword("alice", "s3cret")
			var seen *url.URL
			opts := &conn.DialOptions{Proxy: func(u *url.URL) (*url.URL, error) {
				seen = u
				return proxyURL, nil
			}}
			if mode == serveTLS {
				opts.TLSConfig = trustingConfig(t, srv.Certificate())
			}
			c, _, err := conn.Dial(testCtx(t), wsURL(srv)+"/path?q=1", opts)
			require.NoError(t, err)
			defer c.CloseNow()
			_, got := roundTrip(t, c, conn.MessageText, []byte("tunnelled"))
			assert.Equal(t, "tunnelled", string(got))
			require.NoError(t, c.Close(frame.CloseNormal, ""))

			assert.Equal(t, int32(1), p.tunnels.Load())
			hosts, auths := p.requests()
			assert.Equal(t, []string{srv.Listener.Addr().String()}, hosts)
			assert.Equal(t, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))}, auths)
			// The proxy function sees the target with the http scheme mapping.
			require.NotNil(t, seen)
			assert.Equal(t, strings.Replace(wsURL(srv), "ws", "http", 1)+"/path?q=1", seen.String())
		})
	}
}

func TestDialProxyRefused(t *testing.T) {
	srv := wsServer(t, servePlain, nil, echoOnce)
	p := newConnectProxy(t, srv.Listener.Addr().String())
	p.status = http.StatusProxyAuthRequired
	c, _, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{
		Proxy: func(*url.URL) (*url.URL, error) { return p.url(), nil },
	})
	var pe *conn.ProxyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusProxyAuthRequired, pe.Status)
	assert.Nil(t, c)
	assert.Equal(t, int32(0), p.tunnels.Load())
}

// The default proxy comes from the environment and honours NO_PROXY. A
// non-loopback host name is needed (the environment never proxies loopback);
// the proxy and the NetDial hook both lead to the loopback server.
func TestDialProxyFromEnvironment(t *testing.T) {
	srv := wsServer(t, servePlain, nil, echoOnce)
	p := newConnectProxy(t, srv.Listener.Addr().String())
	for _, tc := range []struct {
		name    string
		noProxy string
		tunnels int32
		direct  []string
	}{
		{"proxied", "", 1, nil},
		{"no-proxy", "duplex.test", 0, []string{"duplex.test:80"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.tunnels.Store(0)
			t.Setenv("HTTP_PROXY", p.url().String())
			t.Setenv("NO_PROXY", tc.noProxy)
			t.Setenv("http_proxy", "")
			t.Setenv("no_proxy", "")
			var direct []string
			d := &net.Dialer{}
			c, _, err := conn.Dial(testCtx(t), "ws://duplex.test/", &conn.DialOptions{
				NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					if addr != p.ln.Addr().String() {
						direct = append(direct, addr)
						addr = srv.Listener.Addr().String()
					}
					return d.DialContext(ctx, network, addr)
				},
			})
			require.NoError(t, err)
			defer c.CloseNow()
			_, got := roundTrip(t, c, conn.MessageText, []byte("env"))
			assert.Equal(t, "env", string(got))
			require.NoError(t, c.Close(frame.CloseNormal, ""))
			assert.Equal(t, tc.tunnels, p.tunnels.Load())
			assert.Equal(t, tc.direct, direct)
		})
	}
}

// ctx also bounds the CONNECT exchange with the proxy.
func TestDialProxyContextCancelled(t *testing.T) {
	asked := make(chan struct{})
	ln := rawServer(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		close(asked)
		_, _ = io.Copy(io.Discard, br) // never reply
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-asked
		cancel()
	}()
	c, _, err := conn.Dial(ctx, "ws://duplex.test/", &conn.DialOptions{
		Proxy: func(*url.URL) (*url.URL, error) { return &url.URL{Scheme: "http", Host: ln.Addr().String()}, nil },
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, c)
}

// The TLS server name defaults to the URL's host: the test certificate is
// valid for example.com, which the NetDial hook maps to the loopback server.
func TestDialTLSServerNameFromHost(t *testing.T) {
	srv := wsServer(t, serveTLS, nil, echoOnce)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	d := &net.Dialer{}
	cfg := trustingConfig(t, srv.Certificate())
	var serverName string
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		serverName = cs.ServerName
		return nil
	}
	c, _, err := conn.Dial(testCtx(t), fmt.Sprintf("wss://example.com:%d/", port), &conn.DialOptions{
		TLSConfig: cfg,
		NetDial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
		Proxy: noProxy,
	})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, "example.com", serverName)
	_, got := roundTrip(t, c, conn.MessageText, []byte("named"))
	assert.Equal(t, "named", string(got))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}
