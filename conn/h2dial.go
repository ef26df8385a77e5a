package conn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"

	"golang.org/x/net/http2"

	"duplex/frame"
	"duplex/handshake"
)

// ALPN protocol lists (RFC 7301) for the TLS handshake of Dial.
var (
	alpnHTTP1 = []string{"http/1.1"}
	alpnH2    = []string{"h2", "http/1.1"}
)

// dialConnect is Dial over HTTP/2 (DialOptions.HTTP2): TLS offering h2,
// then an extended CONNECT on the new HTTP/2 connection (RFC 8441), or the
// HTTP/1.1 upgrade when the server chose http/1.1 in ALPN or did not
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL.
func dialConnect(ctx context.Context, u *url.URL, o *DialOptions) (*Conn, *handshake.Response, error) {
	nc, err := dialTransport(ctx, u, o, alpnH2)
	if err != nil {
		return nil, nil, err
	}
	tc, ok := nc.(*tls.Conn)
	if !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
		// No HTTP/2 at this server: the upgrade runs on this connection.
		return dialUpgrade(ctx, u, nc, o)
	}
	sn := &settingsSniffer{Conn: tc, seen: make(chan error, 1)}
	// x/net's Transport, not net/http's: only it sends :protocol (net/http's
	// refuses the pseudo-header), and NewClientConn runs it on the connection
	// just dialled, which this one WebSocket has to itself.
	cc, err := (&http2.Transport{}).NewClientConn(sn) //nolint:staticcheck // see above
	if err != nil {
		_ = tc.Close()
		return nil, nil, fmt.Errorf("conn: dial %s: http2: %w", u.Redacted(), err)
	}
	select {
	case err := <-sn.seen:
		if errors.Is(err, errNoConnectProtocol) {
			_ = cc.Close()
			// RFC 8441, Section 3: without the setting "a client MUST NOT
			// use" extended CONNECT; the WebSocket then needs a connection
			// of its own, over HTTP/1.1.
			nc, err := dialTransport(ctx, u, o, alpnHTTP1)
			if err != nil {
				return nil, nil, err
			}
			return dialUpgrade(ctx, u, nc, o)
		}
		if err != nil {
			_ = cc.Close()
			return nil, nil, fmt.Errorf("conn: dial %s: http2: %w", u.Redacted(), err)
		}
	case <-ctx.Done():
		_ = cc.Close()
		return nil, nil, fmt.Errorf("conn: dial %s: %w", u.Redacted(), ctx.Err())
	}
	return connectStream(ctx, u, cc, tc, o)
}

// connectStream sends the extended CONNECT on cc and opens the connection on
// its stream.
func connectStream(ctx context.Context, u *url.URL, cc *http2.ClientConn, tc *tls.Conn, o *DialOptions) (*Conn, *handshake.Response, error) {
	co := o.ClientOptions
	co.Extensions = o.Compression.clientOffer()
	// The stream lives as long as the connection; ctx bounds the handshake
	// only, as it does for HTTP/1.1.
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	cleanup := func() {
		cancel()
		_ = pw.Close()
		_ = cc.Close()
	}
	req, err := handshake.NewConnectRequest(sctx, u, pr, &co)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("conn: dial %s: %w", u.Redacted(), err)
	}
	stop := context.AfterFunc(ctx, cancel)
	resp, err := cc.RoundTrip(req)
	if !stop() {
		if err == nil {
			_ = resp.Body.Close()
		}
		cleanup()
		return nil, nil, fmt.Errorf("conn: dial %s: %w", u.Redacted(), ctx.Err())
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("conn: dial %s: http2: %w", u.Redacted(), err)
	}
	res, err := handshake.CheckConnectResponse(resp, &co)
	if err != nil {
		_ = resp.Body.Close()
		cleanup()
		return nil, response(res), fmt.Errorf("conn: dial %s: %w", u.Redacted(), err)
	}
	abort := func() {
		// Cancelling the request resets the stream (RST_STREAM, CANCEL):
		// RFC 8441, Section 5 maps a TCP reset to it.
		cancel()
		pw.CloseWithError(net.ErrClosed)
	}
	// Closing the request body ends the sending side (END_STREAM), the
	// orderly end of RFC 8441, Section 5; the HTTP/2 connection was this
	// WebSocket's alone.
	st := newH2Stream(resp.Body, pw.Write, abort, cleanup, func() { _ = pw.Close() }, tc.LocalAddr(), tc.RemoteAddr())
	c, err := openConn(st, res, frame.RoleClient, &o.Options)
	if err != nil {
		return nil, res.Response, err
	}
	return c, res.Response, nil
}

// errNoConnectProtocol reports a server whose SETTINGS lack
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441, Section 3).
var errNoConnectProtocol = errors.New("conn: server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL")

// settingsSniffer passes the HTTP/2 connection through to x/net's client and
// reads, on the way, the server's first frame: RFC 9113, Section 3.4: "The
// server connection preface consists of a potentially empty SETTINGS frame
// ... that MUST be the first frame the server sends". It reports on seen,
// once, nil when the frame holds SETTINGS_ENABLE_CONNECT_PROTOCOL = 1,
// errNoConnectProtocol when it does not, or why it could not tell.
// x/net's client exposes no way to ask, and trying the CONNECT to find out
// would mean matching its error's text.
type settingsSniffer struct {
	net.Conn
	head  [frameHeaderLen]byte
	nhead int
	body  []byte
	done  bool
	seen  chan error
}

const (
	frameHeaderLen = 9       // RFC 9113, Section 4.1
	frameSettings  = 0x4     // RFC 9113, Section 6.5
	flagAck        = 0x1     // RFC 9113, Section 6.5
	settingConnect = 0x8     // RFC 8441, Section 3: SETTINGS_ENABLE_CONNECT_PROTOCOL
	maxPrefaceLen  = 1 << 14 // SETTINGS_MAX_FRAME_SIZE's initial value
)

func (s *settingsSniffer) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if !s.done {
		s.sniff(p[:n], err)
	}
	return n, err
}

func (s *settingsSniffer) sniff(b []byte, err error) {
	if s.nhead < frameHeaderLen {
		k := copy(s.head[s.nhead:], b)
		s.nhead += k
		b = b[k:]
		if s.nhead == frameHeaderLen {
			h := s.head
			length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
			stream := binary.BigEndian.Uint32(h[5:]) &^ (1 << 31)
			if h[3] != frameSettings || h[4]&flagAck != 0 || stream != 0 || length%6 != 0 || length > maxPrefaceLen {
				s.report(fmt.Errorf("conn: http2: server preface is not a SETTINGS frame (type %#x, length %d)", h[3], length))
				return
			}
			s.body = make([]byte, 0, length)
		}
	}
	if s.nhead == frameHeaderLen {
		s.body = append(s.body, b[:min(len(b), cap(s.body)-len(s.body))]...)
		if len(s.body) == cap(s.body) {
			s.report(connectSetting(s.body))
			return
		}
	}
	if err != nil {
		s.report(fmt.Errorf("conn: http2: before the server's SETTINGS: %w", err))
	}
}

// connectSetting reads the settings of a SETTINGS frame's payload (RFC 9113,
// Section 6.5.1: 16-bit identifier, 32-bit value).
func connectSetting(p []byte) error {
	for ; len(p) >= 6; p = p[6:] {
		if binary.BigEndian.Uint16(p) == settingConnect && binary.BigEndian.Uint32(p[2:]) == 1 {
			return nil
		}
	}
	return errNoConnectProtocol
}

func (s *settingsSniffer) report(err error) {
	s.done = true
	s.body = nil
	s.seen <- err
}
