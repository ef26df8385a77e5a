package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http/httpguts"

	"duplex/handshake"
)

// rfcKey is the sample nonce of RFC 6455, Section 4.2.2 and rfcAccept its accept value.
const (
	rfcKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// head builds a request head from a request line and header lines, CRLF-terminated.
func head(requestLine string, fields ...string) string {
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// validFields are the header lines of a minimal valid handshake for host example.com.
var validFields = []string{
	"Host: example.com",
	"Upgrade: websocket",
	"Connection: Upgrade",
	"Sec-WebSocket-Key: " + rfcKey,
	"Sec-WebSocket-Version: 13",
}

// without returns validFields minus the line starting with prefix, plus extra lines.
func without(prefix string, extra ...string) []string {
	var out []string
	for _, f := range validFields {
		if !strings.HasPrefix(f, prefix) {
			out = append(out, f)
		}
	}
	return append(out, extra...)
}

const getLine = "GET /chat HTTP/1.1"

// rawExchange is what a client saw of a handshake, and what Accept returned.
type rawExchange struct {
	resp   *http.Response
	raw    http.Header // the response's header as sent: net/http drops Connection: close
	body   string
	closed bool // the read after a refusal saw EOF
	res    *handshake.Result
	err    error
}

// exchangeRaw sends raw over loopback TCP to Accept.
func exchangeRaw(t *testing.T, opts *handshake.ServerOptions, raw string) rawExchange {
	t.Helper()
	client, server := tcpPair(t)
	defer client.Close()
	srv := acceptAsync(server, opts)
	x := sendRaw(t, client, raw)
	s := <-srv
	x.res, x.err = s.res, s.err
	if x.res != nil {
		server.Close()
	}
	return x
}

// sendRaw writes raw on client and reads the response as net/http parses it. After a
// refusal it also reads the body, checks whether the server closed the connection, and
// closes client (which ends the server's lingering close).
func sendRaw(t *testing.T, client net.Conn, raw string) rawExchange {
	t.Helper()
	_, err := client.Write([]byte(raw))
	require.NoError(t, err)
	require.NoError(t, client.SetDeadline(time.Now().Add(10*time.Second)))
	var sent bytes.Buffer
	br := bufio.NewReader(io.TeeReader(client, &sent))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	x := rawExchange{resp: resp, raw: sentHeader(t, sent.Bytes())}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		x.body = string(b)
		_, err = br.ReadByte()
		x.closed = errors.Is(err, io.EOF)
		client.Close()
	}
	return x
}

// assertRefusal checks that x is a complete refusal with the status, then the end of the
// connection.
func assertRefusal(t *testing.T, x rawExchange, status int) {
	t.Helper()
	assert.Equal(t, status, x.resp.StatusCode)
	assert.Equal(t, 1, x.resp.ProtoMajor)
	assert.True(t, x.resp.Close, "Connection: close")
	assert.True(t, httpguts.HeaderValuesContainsToken(x.raw.Values("Connection"), "close"), "Connection: close")
	assert.Equal(t, "text/plain; charset=utf-8", x.resp.Header.Get("Content-Type"))
	assert.Equal(t, []string{"nosniff"}, x.raw.Values("X-Content-Type-Options"))
	assert.Equal(t, int64(len(x.body)), x.resp.ContentLength)
	assert.NotEmpty(t, strings.TrimSpace(x.body), "the body says why")
	assert.True(t, x.closed, "the server closes the connection after a refusal")
	if status == http.StatusUpgradeRequired {
		// RFC 9110, Section 7.8: a sender of Upgrade "MUST also send an "upgrade" connection option".
		assert.True(t, httpguts.HeaderValuesContainsToken(x.raw.Values("Connection"), "upgrade"), "Connection: upgrade")
		assert.Equal(t, "websocket", x.raw.Get("Upgrade"))
		assert.Equal(t, "13", x.raw.Get("Sec-WebSocket-Version"))
	}
}

// sentHeader parses the header fields of the response head at the start of raw.
func sentHeader(tb testing.TB, raw []byte) http.Header {
	tb.Helper()
	_, rest, ok := bytes.Cut(raw, []byte("\r\n"))
	require.True(tb, ok)
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(rest))).ReadMIMEHeader()
	require.NoError(tb, err)
	return http.Header(h)
}

func TestAcceptRefusals(t *testing.T) {
	long := strings.Repeat("a", 9000)
	many := make([]string, 0, 70)
	for range 70 {
		many = append(many, "X-Filler: 1")
	}
	tests := []struct {
		name   string
		opts   *handshake.ServerOptions
		raw    string
		status int
		cause  error
		header map[string]string // fields the refusal must carry
	}{
		{name: "4.2.1/method-post", raw: head("POST /chat HTTP/1.1", validFields...),
			status: 405, cause: handshake.ErrBadMethod, header: map[string]string{"Allow": "GET"}},
		{name: "4.2.1/http-1.0", raw: head("GET /chat HTTP/1.0", validFields...),
			status: 400, cause: handshake.ErrBadHTTPVersion},
		{name: "4.2.1/http-2.0-gets-505", raw: head("GET /chat HTTP/2.0", validFields...),
			status: 505, cause: handshake.ErrBadHTTPVersion},
		{name: "4.2.1/missing-host", raw: head(getLine, without("Host")...),
			status: 400, cause: handshake.ErrMissingHost},
		{name: "4.2.1/empty-host", raw: head(getLine, without("Host", "Host: ")...),
			status: 400, cause: handshake.ErrMissingHost},
		{name: "4.2.1/missing-upgrade", raw: head(getLine, without("Upgrade")...),
			status: 426, cause: handshake.ErrNotUpgrade, header: map[string]string{"Upgrade": "websocket"}},
		{name: "4.2.1/upgrade-h2c", raw: head(getLine, without("Upgrade", "Upgrade: h2c")...),
			status: 426, cause: handshake.ErrNotUpgrade},
		{name: "4.2.1/upgrade-websocket-as-substring", raw: head(getLine, without("Upgrade", "Upgrade: websockets")...),
			status: 426, cause: handshake.ErrNotUpgrade},
		{name: "4.2.1/missing-connection", raw: head(getLine, without("Connection")...),
			status: 426, cause: handshake.ErrNotUpgrade},
		{name: "4.2.1/connection-keep-alive-only", raw: head(getLine, without("Connection", "Connection: keep-alive")...),
			status: 426, cause: handshake.ErrNotUpgrade},
		{name: "4.2.1/missing-key", raw: head(getLine, without("Sec-WebSocket-Key")...),
			status: 400, cause: handshake.ErrBadKey},
		{name: "4.2.1/key-15-bytes", raw: head(getLine, without("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0O")...),
			status: 400, cause: handshake.ErrBadKey},
		{name: "4.2.1/key-17-bytes", raw: head(getLine, without("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODxA=")...),
			status: 400, cause: handshake.ErrBadKey},
		{name: "4.2.1/key-not-base64", raw: head(getLine, without("Sec-WebSocket-Key", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==")...),
			status: 400, cause: handshake.ErrBadKey},
		{name: "11.3.1/key-twice", raw: head(getLine, append(validFields, "Sec-WebSocket-Key: "+rfcKey)...),
			status: 400, cause: handshake.ErrBadKey},
		{name: "4.2.2/version-8-gets-426", raw: head(getLine, without("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")...),
			status: 426, cause: handshake.ErrBadVersion, header: map[string]string{"Sec-WebSocket-Version": "13"}},
		{name: "4.2.2/missing-version-gets-426", raw: head(getLine, without("Sec-WebSocket-Version")...),
			status: 426, cause: handshake.ErrBadVersion, header: map[string]string{"Sec-WebSocket-Version": "13", "Upgrade": "websocket"}},
		{name: "11.3.5/version-twice", raw: head(getLine, append(validFields, "Sec-WebSocket-Version: 13")...),
			status: 426, cause: handshake.ErrBadVersion},
		{name: "10.2/cross-origin-gets-403", raw: head(getLine, append(validFields, "Origin: https://evil.test")...),
			status: 403, cause: handshake.ErrOriginRefused},
		{name: "10.2/null-origin-gets-403", raw: head(getLine, append(validFields, "Origin: null")...),
			status: 403, cause: handshake.ErrOriginRefused},
		{name: "10.2/origin-port-differs", raw: head(getLine, append(validFields, "Origin: http://example.com:8080")...),
			status: 403, cause: handshake.ErrOriginRefused},
		{name: "10.2/pattern-does-not-match", opts: &handshake.ServerOptions{OriginPatterns: []string{"*.example.com"}},
			raw:    head(getLine, append(validFields, "Origin: https://example.com.evil.test")...),
			status: 403, cause: handshake.ErrOriginRefused},
		{name: "4.1/subprotocol-not-a-token", raw: head(getLine, append(validFields, "Sec-WebSocket-Protocol: chat, a/b")...),
			status: 400, cause: handshake.ErrBadSubprotocol},
		{name: "9.1/extensions-malformed", raw: head(getLine, append(validFields, "Sec-WebSocket-Extensions: foo;;")...),
			status: 400, cause: handshake.ErrBadExtension},
		{name: "9.1/browser-offer-malformed-after", raw: head(getLine, append(validFields, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits;")...),
			status: 400, cause: handshake.ErrBadExtension},
		{name: "9.1/second-line-malformed", raw: head(getLine, append(validFields, "Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: ;")...),
			status: 400, cause: handshake.ErrBadExtension},
		{name: "rfc9112-2.2/bare-lf", raw: strings.ReplaceAll(head(getLine, validFields...), "\r\n", "\n"),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/request-line-two-spaces", raw: head("GET  /chat HTTP/1.1", validFields...),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3.2/two-hosts", raw: head(getLine, append(validFields, "Host: other.test")...),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5.1/space-before-colon", raw: head(getLine, append(validFields, "X-A : b")...),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5.2/obs-fold", raw: head(getLine, append(validFields, "X-A: b", " c")...),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9110-5.5/nul-in-value", raw: head(getLine, append(validFields, "X-A: b\x00c")...),
			status: 400, cause: handshake.ErrMalformedHead},
		{name: "limits/head-over-8k-gets-431", raw: head(getLine, append(validFields, "X-Long: "+long)...),
			status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/70-headers-gets-431", raw: head(getLine, append(validFields, many...)...),
			status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/custom-small-limit", opts: &handshake.ServerOptions{Limits: handshake.Limits{MaxHeadBytes: 100}},
			raw: head(getLine, validFields...), status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "options/reserved-extra-header-gets-500",
			opts: &handshake.ServerOptions{Header: http.Header{"Sec-Websocket-Accept": {"x"}}},
			raw:  head(getLine, validFields...), status: 500, cause: handshake.ErrInvalidOptions},
		{name: "options/bad-origin-pattern-gets-500", opts: &handshake.ServerOptions{OriginPatterns: []string{"[a-"}},
			raw: head(getLine, validFields...), status: 500, cause: handshake.ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := exchangeRaw(t, tt.opts, tt.raw)
			require.Error(t, x.err)
			require.ErrorIs(t, x.err, tt.cause)
			var he *handshake.Error
			require.ErrorAs(t, x.err, &he)
			assert.Equal(t, tt.status, he.Status)

			assertRefusal(t, x, tt.status)
			assert.Equal(t, "HTTP/1.1", x.resp.Proto)
			for k, v := range tt.header {
				assert.Equal(t, v, x.raw.Get(k), k)
			}
		})
	}
}

func TestAcceptAccepts(t *testing.T) {
	tests := []struct {
		name string
		opts *handshake.ServerOptions
		raw  string
	}{
		{name: "4.2.1/minimal", raw: head(getLine, validFields...)},
		{name: "4.2.1/tokens-case-insensitive",
			raw: head(getLine, "host: example.com", "upgrade: WebSocket", "connection: keep-alive, UPGRADE",
				"sec-websocket-key: "+rfcKey, "sec-websocket-version: 13")},
		{name: "4.2.1/connection-over-two-lines",
			raw: head(getLine, without("Connection", "Connection: keep-alive", "Connection: Upgrade")...)},
		{name: "4.2.1/upgrade-list", raw: head(getLine, without("Upgrade", "Upgrade: h2c, websocket")...)},
		{name: "4.2.1/http-1.2", raw: head("GET /chat HTTP/1.2", validFields...)},
		{name: "4.2.1/absolute-target", raw: head("GET http://example.com/chat HTTP/1.1", validFields...)},
		{name: "rfc9110-5.5/ows-trimmed", raw: head(getLine, without("Sec-WebSocket-Key", "Sec-WebSocket-Key: \t "+rfcKey+" \t")...)},
		{name: "rfc9112-2.2/leading-empty-line", raw: "\r\n" + head(getLine, validFields...)},
		{name: "10.2/no-origin", raw: head(getLine, validFields...)},
		{name: "10.2/same-origin", raw: head(getLine, append(validFields, "Origin: https://example.com")...)},
		{name: "10.2/same-origin-case-insensitive", raw: head(getLine, append(validFields, "Origin: https://EXAMPLE.com")...)},
		{name: "10.2/allowed-pattern", opts: &handshake.ServerOptions{OriginPatterns: []string{"*.Example.com"}},
			raw: head(getLine, append(validFields, "Origin: https://chat.example.COM")...)},
		{name: "10.2/allowed-pattern-port", opts: &handshake.ServerOptions{OriginPatterns: []string{"localhost:*"}},
			raw: head(getLine, append(validFields, "Origin: http://localhost:3000")...)},
		{name: "10.2/opt-out", opts: &handshake.ServerOptions{InsecureSkipOriginCheck: true},
			raw: head(getLine, append(validFields, "Origin: https://evil.test")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := exchangeRaw(t, tt.opts, tt.raw)
			require.NoError(t, x.err)
			assert.Equal(t, http.StatusSwitchingProtocols, x.resp.StatusCode)
			assert.Equal(t, "websocket", x.resp.Header.Get("Upgrade"))
			assert.Equal(t, "Upgrade", x.resp.Header.Get("Connection"))
			// RFC 6455, Section 4.2.2: the sample key gives the sample accept value.
			assert.Equal(t, rfcAccept, x.resp.Header.Get("Sec-WebSocket-Accept"))
			assert.Empty(t, x.resp.Header.Values("Sec-WebSocket-Protocol"))
			assert.Empty(t, x.resp.Header.Values("Sec-WebSocket-Extensions"))
			assert.Nil(t, x.res.Rest, "nothing came after the head")
			require.NotNil(t, x.res.Request())
			assert.Equal(t, "GET", x.res.Request().Method)
		})
	}
}

func TestAcceptNegotiation(t *testing.T) {
	var seen []handshake.Extension
	opts := &handshake.ServerOptions{
		Subprotocols: []string{"v2.chat", "v1.chat"},
		NegotiateExtensions: func(offers []handshake.Extension) ([]handshake.Extension, error) {
			seen = offers
			return []handshake.Extension{{Name: "x-two", Params: []handshake.ExtensionParam{{Name: "p", Value: "1", HasValue: true}}}}, nil
		},
		Header: http.Header{"X-Server": {"duplex"}},
	}
	raw := head(getLine, append(validFields,
		"Sec-WebSocket-Protocol: v1.chat, v2.chat",
		"Sec-WebSocket-Extensions: x-one; a",
		"Sec-WebSocket-Extensions: x-two")...)
	x := exchangeRaw(t, opts, raw)
	require.NoError(t, x.err)
	// RFC 6455, Section 4.2.2: the server selects "one or none of the acceptable protocols";
	// its own order decides.
	assert.Equal(t, "v2.chat", x.resp.Header.Get("Sec-WebSocket-Protocol"))
	assert.Equal(t, "v2.chat", x.res.Subprotocol)
	assert.Equal(t, "x-two; p=1", x.resp.Header.Get("Sec-WebSocket-Extensions"))
	assert.Equal(t, "duplex", x.resp.Header.Get("X-Server"))
	require.Len(t, seen, 2, "the hook sees every offer, across header lines")
	assert.Equal(t, "x-one", seen[0].Name)
	assert.Equal(t, "x-two", seen[1].Name)
	require.Len(t, x.res.Extensions, 1)
	assert.Equal(t, "x-two", x.res.Extensions[0].Name)
}

func TestAcceptNegotiationRefusals(t *testing.T) {
	hookErr := errors.New("no thanks")
	tests := []struct {
		name   string
		hook   func([]handshake.Extension) ([]handshake.Extension, error)
		status int
		cause  error
	}{
		{name: "9.1/hook-refuses-gets-400", status: 400, cause: hookErr,
			hook: func([]handshake.Extension) ([]handshake.Extension, error) { return nil, hookErr }},
		{name: "9.1/hook-accepts-unoffered-gets-500", status: 500, cause: handshake.ErrInvalidOptions,
			hook: func([]handshake.Extension) ([]handshake.Extension, error) {
				return []handshake.Extension{{Name: "x-other"}}, nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := head(getLine, append(validFields, "Sec-WebSocket-Extensions: x-one")...)
			x := exchangeRaw(t, &handshake.ServerOptions{NegotiateExtensions: tt.hook}, raw)
			require.ErrorIs(t, x.err, tt.cause)
			assertRefusal(t, x, tt.status)
		})
	}
}

func TestAcceptNoSubprotocolInCommon(t *testing.T) {
	raw := head(getLine, append(validFields, "Sec-WebSocket-Protocol: mqtt")...)
	x := exchangeRaw(t, &handshake.ServerOptions{Subprotocols: []string{"chat"}}, raw)
	require.NoError(t, x.err)
	assert.Empty(t, x.resp.Header.Values("Sec-WebSocket-Protocol"))
	assert.Empty(t, x.res.Subprotocol)
}

// TestAcceptKeepsBytesAfterHead sends the request and the first frame in one write: the
// frame must come out of Result.Rest, or the connection after it.
func TestAcceptKeepsBytesAfterHead(t *testing.T) {
	frame := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58} // RFC 6455, Section 5.7
	for _, tr := range []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{{"tcp", tcpPair}, {"pipe", pipePair}} {
		t.Run("4.2.2/"+tr.name, func(t *testing.T) {
			client, server := tr.pair(t)
			defer client.Close()
			defer server.Close()
			srv := acceptAsync(server, nil)
			go func() { _, _ = client.Write(append([]byte(head(getLine, validFields...)), frame...)) }()
			resp, err := http.ReadResponse(bufio.NewReader(client), nil)
			require.NoError(t, err)
			assert.Equal(t, 101, resp.StatusCode)
			s := <-srv
			require.NoError(t, s.err)
			got := make([]byte, len(frame))
			_, err = io.ReadFull(afterHead(s.res, server), got)
			require.NoError(t, err)
			assert.Equal(t, frame, got)
		})
	}
}

func pipePair(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }

func TestAcceptTimeout(t *testing.T) {
	tests := []struct {
		name string
		send func(c net.Conn)
	}{
		{name: "silent-client", send: func(net.Conn) {}},
		{name: "slow-client", send: func(c net.Conn) {
			// Sends part of a head and then stalls, as a slowloris client does.
			_, _ = c.Write([]byte("GET /chat HTTP/1.1\r\nHost: exa"))
		}},
	}
	for _, tt := range tests {
		t.Run("security/"+tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			defer client.Close()
			srv := acceptAsync(server, &handshake.ServerOptions{Timeout: 100 * time.Millisecond})
			tt.send(client)
			s := <-srv
			require.Error(t, s.err)
			require.ErrorIs(t, s.err, os.ErrDeadlineExceeded)
			var ne net.Error
			require.ErrorAs(t, s.err, &ne)
			assert.True(t, ne.Timeout())
			// Accept closed the connection: the client sees EOF, not a response.
			require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err := client.Read(make([]byte, 1))
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestAcceptClearsDeadline(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	srv := acceptAsync(server, &handshake.ServerOptions{Timeout: 100 * time.Millisecond})
	_, err := client.Write([]byte(head(getLine, validFields...)))
	require.NoError(t, err)
	s := <-srv
	require.NoError(t, s.err)
	defer server.Close()
	_, err = http.ReadResponse(bufio.NewReader(client), nil)
	require.NoError(t, err)
	// Well after the handshake's deadline would have passed, a read must still wait for data
	// rather than fail: send the byte only after the handshake timeout has elapsed.
	got := make(chan error, 1)
	go func() {
		_, err := afterHead(s.res, server).Read(make([]byte, 1))
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	_, err = client.Write([]byte{1})
	require.NoError(t, err)
	require.NoError(t, <-got)
}
