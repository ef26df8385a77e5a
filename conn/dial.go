package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"duplex/frame"
	"duplex/handshake"
	"duplex/internal/deadline"
)

// ErrBadURL reports a URL Dial cannot connect to: a scheme other than ws, wss,
// http or https, a missing host, or a fragment; or a proxy URL whose scheme
// is not http.
var ErrBadURL = errors.New("conn: bad WebSocket URL")

// DialOptions configures Dial. A nil *DialOptions means the defaults; the
// options are copied, so the caller may reuse or change them after the call
// returns.
type DialOptions struct {
	// ClientOptions configure the opening handshake: the Origin header, the
	// subprotocols offered, extra request headers (Authorization, Cookie, ...),
	// the head limits (which apply to a proxy's reply too) and the timeout,
	// which bounds the whole of Dial: TCP, proxy, TLS and handshake
	// ([handshake.DefaultClientTimeout] when ctx has no deadline). Extensions
	// must stay nil: the connection offers what it can apply from
	// Options.Compression.
	ClientOptions

	// NetDial opens the TCP connection, to the server or to the proxy. The
	// default is a net.Dialer's DialContext; pass (&net.Dialer{...}).DialContext
	// to set a local address, keep-alive or a resolver.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig configures the client side of TLS for wss and https URLs. It is
	// cloned; an empty ServerName defaults to the URL's host, and NextProtos is
	// always set to "http/1.1" because the opening handshake is an HTTP/1.1
	// request (RFC 6455, Section 4.1), or to "h2", "http/1.1" with HTTP2.
	TLSConfig *tls.Config

	// Proxy returns the HTTP proxy to tunnel through with CONNECT, or nil for a
	// direct connection. It receives the target URL with its scheme mapped to
	// http (ws) or https (wss), the form environment-based proxy functions
	// expect. The default honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY (see
	// golang.org/x/net/http/httpproxy); like net/http it never proxies
	// localhost or loopback addresses. Proxy URLs must have the http scheme;
	// their user info, if any, is sent as Basic Proxy-Authorization.
	Proxy func(target *url.URL) (*url.URL, error)

	// HTTP2, for a wss or https URL, opens the connection on an HTTP/2
	// stream with an extended CONNECT (RFC 8441) when the server allows it:
	// TLS offers h2 in ALPN, and if the server picks it and its SETTINGS
	// carry SETTINGS_ENABLE_CONNECT_PROTOCOL, the handshake is a CONNECT
	// with :protocol websocket answered by 200. A server that picks
	// http/1.1 gets the HTTP/1.1 upgrade on the same connection; one that
	// speaks HTTP/2 without the setting, the upgrade on a new connection.
	// The response head Dial returns tells which (ProtoMajor 2 or 1). The
	// HTTP/2 connection carries this one WebSocket. Proxy and NetDial apply
	// as for HTTP/1.1; ws and http URLs ignore HTTP2.
	HTTP2 bool

	// Options configures the connection once it is open.
	Options
}

// Dial opens a WebSocket connection to rawURL (ws, wss, or the equivalent http,
// https): it connects over TCP, through the proxy if one applies, runs TLS for
// wss, then the opening handshake (RFC 6455, Section 4.1).
//
// ctx bounds all of it; the returned Conn is not tied to ctx. The server's
// response head is returned whenever one was read: on success, and when the
// server refused the handshake, for headers such as WWW-Authenticate or
// Retry-After. A refusal is reported as a *handshake.Error carrying the HTTP
// status (errors.As); a proxy refusing the tunnel as a *ProxyError. On error
// every connection Dial opened is closed.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *handshake.Response, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if o.Extensions != nil {
		return nil, nil, fmt.Errorf("conn: dial %s: %w", u.Redacted(), errOwnExtensions)
	}
	if o.NetDial == nil {
		o.NetDial = (&net.Dialer{}).DialContext
	}
	if o.Proxy == nil {
		o.Proxy = proxyFromEnvironment
	}
	// One bound for every step, as the handshake would compute it.
	if d := deadline.Bound(ctx, o.Timeout, handshake.DefaultClientTimeout); !d.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}

	if o.HTTP2 && secure(u) {
		return dialConnect(ctx, u, &o)
	}
	nc, err := dialTransport(ctx, u, &o, alpnHTTP1)
	if err != nil {
		return nil, nil, err
	}
	return dialUpgrade(ctx, u, nc, &o)
}

// dialUpgrade runs the HTTP/1.1 opening handshake on nc and opens the
// connection.
func dialUpgrade(ctx context.Context, u *url.URL, nc net.Conn, o *DialOptions) (*Conn, *handshake.Response, error) {
	// The handshake honours ctx itself and closes nc on error.
	co := o.ClientOptions
	co.Extensions = o.Compression.clientOffer()
	res, err := handshake.Client(ctx, nc, u, &co)
	if err != nil {
		return nil, response(res), fmt.Errorf("conn: dial %s: %w", u.Redacted(), err)
	}
	c, err := openConn(nc, res, frame.RoleClient, &o.Options)
	if err != nil {
		return nil, res.Response, err
	}
	return c, res.Response, nil
}

func response(res *handshake.Result) *handshake.Response {
	if res == nil {
		return nil
	}
	return res.Response
}

// parseURL checks the URL's form. RFC 6455, Section 3: "Fragment identifiers
// are meaningless in the context of WebSocket URIs and MUST NOT be used".
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	switch u.Scheme { // url.Parse lowercases it
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("%w: scheme %q", ErrBadURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: no host in %q", ErrBadURL, u.Redacted())
	}
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return nil, fmt.Errorf("%w: fragment in %q", ErrBadURL, u.Redacted())
	}
	return u, nil
}

// secure reports whether u's scheme asks for TLS.
func secure(u *url.URL) bool { return u.Scheme == "wss" || u.Scheme == "https" }

// hostPort returns u's host with the scheme's default port when it has none
// (RFC 6455, Section 3: 80 for ws, 443 for wss).
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if secure(u) {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialTransport returns the connection the handshake runs on: TCP to the
// server or a CONNECT tunnel through the proxy, with TLS on top for wss.
func dialTransport(ctx context.Context, u *url.URL, o *DialOptions, alpn []string) (net.Conn, error) {
	proxyURL, err := o.Proxy(httpURL(u))
	if err != nil {
		return nil, fmt.Errorf("conn: dial %s: proxy: %w", u.Redacted(), err)
	}
	var nc net.Conn
	if proxyURL != nil {
		nc, err = dialProxy(ctx, proxyURL, hostPort(u), o)
	} else {
		nc, err = o.NetDial(ctx, "tcp", hostPort(u))
	}
	if err != nil {
		return nil, fmt.Errorf("conn: dial %s: %w", u.Redacted(), err)
	}
	if !secure(u) {
		return nc, nil
	}
	var cfg *tls.Config
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	// ALPN offers h2 only for an extended CONNECT: the upgrade needs an
	// HTTP/1.1 connection.
	cfg.NextProtos = alpn
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("conn: dial %s: tls: %w", u.Redacted(), err)
	}
	return tc, nil
}

// httpURL returns a copy of u with ws mapped to http and wss to https.
func httpURL(u *url.URL) *url.URL {
	h := *u
	h.User = nil
	switch u.Scheme {
	case "ws":
		h.Scheme = "http"
	case "wss":
		h.Scheme = "https"
	}
	return &h
}
