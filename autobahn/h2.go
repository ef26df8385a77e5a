package autobahn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// RunClientH2 is [RunClient] over HTTP/2 (RFC 8441): each case's
// connection is an extended CONNECT (:protocol websocket) on a new TLS
// connection that negotiated h2 in ALPN, and the case's frames travel as
// the stream's DATA, byte for byte as over TCP. rawURL is https or wss;
// tlsConfig (cloned; nil for the defaults) sets how the server's
// certificate is checked. A server that does not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL, or refuses the CONNECT, fails every
// case as one that refuses the upgrade does.
//
// The suite's HTTP/2 layer is golang.org/x/net/http2's client: it frames
// the stream, and the suite still writes and reads every WebSocket byte
// itself.
func RunClientH2(ctx context.Context, rawURL, agent string, cases []*Case, tlsConfig *tls.Config, progress io.Writer) (*Report, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("autobahn: bad URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "wss" {
		return nil, fmt.Errorf("autobahn: URL scheme %q is not https or wss", u.Scheme)
	}
	cfg := &tls.Config{}
	if tlsConfig != nil {
		cfg = tlsConfig.Clone()
	}
	cfg.NextProtos = []string{http2.NextProtoTLS}
	return runClient(ctx, u, agent, cases, progress, func(ctx context.Context, u *url.URL, offer []string) (net.Conn, *bufio.Reader, string, string, string, error) {
		return dialH2(ctx, u, offer, cfg)
	})
}

// dialH2 opens one case's stream: TLS with h2, the extended CONNECT, 200.
func dialH2(ctx context.Context, u *url.URL, offer []string, cfg *tls.Config) (net.Conn, *bufio.Reader, string, string, string, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	hctx, hcancel := context.WithTimeout(ctx, handshakeTimeout)
	defer hcancel()
	d := tls.Dialer{Config: cfg}
	nc, err := d.DialContext(hctx, "tcp", host)
	if err != nil {
		return nil, nil, "", "", "", err
	}
	tc := nc.(*tls.Conn)
	if p := tc.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		_ = tc.Close()
		return nil, nil, "", "", "", &HandshakeError{Reason: fmt.Sprintf("ALPN chose %q, not h2", p)}
	}
	cc, err := (&http2.Transport{}).NewClientConn(tc) //nolint:staticcheck // net/http's replacement refuses :protocol
	if err != nil {
		_ = tc.Close()
		return nil, nil, "", "", "", err
	}
	// The stream outlives the handshake's timeout: its own context.
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	path := u.RequestURI()
	req, err := http.NewRequestWithContext(sctx, http.MethodConnect, "https://"+u.Host+path, pr)
	if err != nil {
		cancel()
		_ = cc.Close()
		return nil, nil, "", "", "", err
	}
	// RFC 8441, Section 5: the GET's fields but Upgrade, Connection and the
	// key, which :protocol replaces.
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(offer) > 0 {
		req.Header.Set("Sec-WebSocket-Extensions", strings.Join(offer, ", "))
	}
	req.ContentLength = -1
	reqText := headText("CONNECT "+path+" HTTP/2\r\n:authority: "+u.Host+"\r\n", req.Header)
	stop := context.AfterFunc(hctx, cancel)
	resp, err := cc.RoundTrip(req)
	stopped := stop()
	if err == nil && !stopped {
		_ = resp.Body.Close()
		err = hctx.Err()
	}
	if err != nil {
		cancel()
		_ = pw.Close()
		_ = cc.Close()
		return nil, nil, reqText, "", "", err
	}
	respText := headText(fmt.Sprintf("HTTP/2 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode)), resp.Header)
	// RFC 8441, Section 5: a 2xx status opens the WebSocket.
	if resp.StatusCode/100 != 2 {
		_ = resp.Body.Close()
		cancel()
		_ = pw.Close()
		_ = cc.Close()
		return nil, nil, reqText, respText, "", &HandshakeError{Status: resp.StatusCode, Reason: "status is not 2xx"}
	}
	s := &h2Conn{body: resp.Body, w: pw, local: tc.LocalAddr(), remote: tc.RemoteAddr(), end: func() {
		cancel()
		_ = cc.Close()
	}}
	return s, bufio.NewReader(s), reqText, respText, strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", "), nil
}

// headText renders a head for the report: the first line, then the fields
// in name order.
func headText(first string, h http.Header) string {
	var b strings.Builder
	b.WriteString(first)
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// h2Conn is the net.Conn of a case over an HTTP/2 stream. The session only
// reads, writes and closes; deadlines are not supported.
type h2Conn struct {
	body          io.ReadCloser
	w             *io.PipeWriter
	local, remote net.Addr
	end           func()
	once          sync.Once
}

func (c *h2Conn) Read(p []byte) (int, error)  { return c.body.Read(p) }
func (c *h2Conn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends the sending side (END_STREAM, RFC 8441, Section 5's orderly
// close), stops reading, and closes the TLS connection, which was the
// case's alone.
func (c *h2Conn) Close() error {
	c.once.Do(func() {
		_ = c.w.Close()
		_ = c.body.Close()
		c.end()
	})
	return nil
}

func (c *h2Conn) LocalAddr() net.Addr              { return c.local }
func (c *h2Conn) RemoteAddr() net.Addr             { return c.remote }
func (c *h2Conn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (c *h2Conn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (c *h2Conn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
