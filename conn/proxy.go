package conn

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"

	"duplex/handshake"
	"duplex/internal/deadline"
)

// ProxyError reports that the HTTP proxy answered the CONNECT request with a
// status other than 2xx, so no tunnel was opened.
type ProxyError struct {
	// Status is the proxy's HTTP status code, such as 407 (authentication
	// required) or 502 (the proxy could not reach the server).
	Status int
	// Reason is the proxy's reason phrase, as sent.
	Reason string
}

// Error implements the error interface.
func (e *ProxyError) Error() string {
	return fmt.Sprintf("conn: proxy refused CONNECT: %d %s", e.Status, e.Reason)
}

// proxyFromEnvironment is the default DialOptions.Proxy. The environment is
// read on every call, so a process may change it between dials.
func proxyFromEnvironment(target *url.URL) (*url.URL, error) {
	return httpproxy.FromEnvironment().ProxyFunc()(target)
}

// dialProxy connects to the proxy and asks it for a tunnel to addr
// (RFC 9110, Section 9.3.6). The returned connection carries the tunnel.
func dialProxy(ctx context.Context, proxyURL *url.URL, addr string, o *DialOptions) (net.Conn, error) {
	if proxyURL.Scheme != "http" {
		return nil, fmt.Errorf("%w: proxy scheme %q (only http is supported)", ErrBadURL, proxyURL.Scheme)
	}
	proxyAddr := proxyURL.Host
	if proxyURL.Port() == "" {
		proxyAddr = net.JoinHostPort(proxyURL.Hostname(), "80")
	}
	nc, err := o.NetDial(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", proxyAddr, err)
	}
	var w deadline.Watch
	w.Init(nc, deadline.Both)
	_ = nc.SetDeadline(deadline.Earliest(ctx, 0))
	w.Arm(ctx)
	tunnel, err := connect(nc, proxyURL, addr, o.Limits)
	if w.Disarm() {
		err = errors.Join(ctx.Err(), err)
	} else if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		_ = nc.Close()
		var pe *ProxyError
		if errors.As(err, &pe) {
			return nil, err // it says what happened; the caller adds the URL
		}
		return nil, fmt.Errorf("proxy %s: %w", proxyAddr, err)
	}
	return tunnel, nil
}

// connect sends the CONNECT request on nc and reads the proxy's reply.
func connect(nc net.Conn, proxyURL *url.URL, addr string, lim handshake.Limits) (net.Conn, error) {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := proxyURL.User; u != nil {
		pass, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
		req += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := handshake.ReadResponse(br, lim)
	if err != nil {
		return nil, err
	}
	// RFC 9110, Section 9.3.6: "Any 2xx (Successful) response indicates that
	// the sender (and all inbound proxies) will switch to tunnel mode".
	if resp.StatusCode/100 != 2 {
		return nil, &ProxyError{Status: resp.StatusCode, Reason: resp.Reason}
	}
	if br.Buffered() == 0 {
		return nc, nil
	}
	// The proxy may already have relayed the server's first bytes; they sit in
	// br and belong to the tunnel.
	return &bufferedConn{Conn: nc, r: br}, nil
}

// bufferedConn reads through r, which holds bytes already read from Conn.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
