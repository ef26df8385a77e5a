package handshake_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// connectRequest is an extended CONNECT as net/http's HTTP/2 server hands it to a handler
// (RFC 8441, Section 5.1's example): method CONNECT, HTTP/2.0, :protocol in the header,
// :authority as Host, :path as RequestURI.
func connectRequest(mutate ...func(r *http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodConnect, "https://server.example.com/chat", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.RequestURI = "/chat"
	r.Host = "server.example.com"
	r.TLS = &tls.ConnectionState{}
	r.Header = http.Header{
		":protocol":             {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Origin":                {"https://server.example.com"},
	}
	for _, m := range mutate {
		m(r)
	}
	return r
}

func TestAcceptConnect(t *testing.T) {
	deflate := func(offers []handshake.Extension) ([]handshake.Extension, error) {
		p, ok := handshake.AcceptDeflate(offers, handshake.DeflateParams{})
		if !ok {
			return nil, nil
		}
		return []handshake.Extension{p.Extension()}, nil
	}
	opts := &handshake.ServerOptions{
		Subprotocols:        []string{"chat", "superchat"},
		NegotiateExtensions: deflate,
		Header:              http.Header{"X-Server": {"duplex"}},
	}
	r := connectRequest(func(r *http.Request) {
		r.Header.Set("Sec-WebSocket-Protocol", "superchat, chat")
		r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
	})
	w := httptest.NewRecorder()
	res, err := handshake.AcceptConnect(w, r, opts)
	require.NoError(t, err)

	// RFC 8441, Section 5: a 2xx answer, no Sec-WebSocket-Accept (there was no key).
	assert.Equal(t, http.StatusOK, w.Code)
	assert.True(t, w.Flushed, "the 200 must reach the client before it sends a frame")
	assert.Empty(t, w.Header().Get("Sec-WebSocket-Accept"))
	assert.Equal(t, "chat", w.Header().Get("Sec-WebSocket-Protocol"), "the server's preference wins")
	assert.Equal(t, "permessage-deflate", w.Header().Get("Sec-WebSocket-Extensions"))
	assert.Equal(t, "duplex", w.Header().Get("X-Server"))
	assert.Equal(t, "chat", res.Subprotocol)
	require.Len(t, res.Extensions, 1)
	assert.Equal(t, "permessage-deflate", res.Extensions[0].Name)
	assert.Nil(t, res.Rest)
	req := res.Request()
	require.NotNil(t, req)
	assert.Equal(t, http.MethodConnect, req.Method)
	assert.Equal(t, 2, req.ProtoMajor)
	assert.Equal(t, "websocket", req.Header.Get(handshake.ProtocolHeader))
}

func TestAcceptConnectRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(r *http.Request)
		opts   *handshake.ServerOptions
		status int
		err    error
		header [2]string // a field the refusal must carry
	}{
		{"8441-4/plain-connect", func(r *http.Request) { r.Header.Del(":protocol") }, nil,
			http.StatusBadRequest, handshake.ErrNotUpgrade, [2]string{}},
		{"8441-5/protocol-not-websocket", func(r *http.Request) { r.Header.Set(":protocol", "webtransport") }, nil,
			http.StatusBadRequest, handshake.ErrNotUpgrade, [2]string{}},
		{"8441-4/get", func(r *http.Request) { r.Method = http.MethodGet }, nil,
			http.StatusMethodNotAllowed, handshake.ErrBadMethod, [2]string{"Allow", "CONNECT"}},
		{"8441-4/http1-connect", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1 }, nil,
			http.StatusHTTPVersionNotSupported, handshake.ErrBadHTTPVersion, [2]string{}},
		{"8441-4/no-authority", func(r *http.Request) { r.Host = "" }, nil,
			http.StatusBadRequest, handshake.ErrMissingHost, [2]string{}},
		{"4.2.2/version-8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, nil,
			http.StatusBadRequest, handshake.ErrBadVersion, [2]string{"Sec-WebSocket-Version", "13"}},
		{"4.2.2/no-version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, nil,
			http.StatusBadRequest, handshake.ErrBadVersion, [2]string{"Sec-WebSocket-Version", "13"}},
		{"11.3.5/two-versions", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "13") }, nil,
			http.StatusBadRequest, handshake.ErrBadVersion, [2]string{}},
		{"10.2/foreign-origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, nil,
			http.StatusForbidden, handshake.ErrOriginRefused, [2]string{}},
		{"10.2/http-origin-over-tls", func(r *http.Request) { r.Header.Set("Origin", "http://server.example.com") }, nil,
			http.StatusForbidden, handshake.ErrOriginRefused, [2]string{}},
		{"4.1/bad-subprotocol", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "a b") }, nil,
			http.StatusBadRequest, handshake.ErrBadSubprotocol, [2]string{}},
		{"9.1/bad-extensions", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Extensions", "x; =") }, nil,
			http.StatusBadRequest, handshake.ErrBadExtension, [2]string{}},
		{"options/own-header", nil, &handshake.ServerOptions{Header: http.Header{"Sec-Websocket-Protocol": {"x"}}},
			http.StatusInternalServerError, handshake.ErrInvalidOptions, [2]string{}},
		{"rfc9110-15.5.2/authorize-401", nil, &handshake.ServerOptions{Authorize: func(_ context.Context, r handshake.Result) error {
			if r.RequestTarget() != "/chat" {
				return nil // then the test fails: the hook saw another request
			}
			return &handshake.Error{Status: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {"Bearer"}}}
		}}, http.StatusUnauthorized, handshake.ErrRefused, [2]string{"Www-Authenticate", "Bearer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*http.Request)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			w := httptest.NewRecorder()
			res, err := handshake.AcceptConnect(w, connectRequest(mutate...), tc.opts)
			require.ErrorIs(t, err, tc.err)
			assert.Nil(t, res)
			var herr *handshake.Error
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			assert.Equal(t, tc.status, w.Code)
			if tc.header[0] != "" {
				assert.Equal(t, tc.header[1], w.Header().Get(tc.header[0]))
			}
			// RFC 9113, Section 8.2.2: no connection-specific fields in HTTP/2.
			assert.Empty(t, w.Header().Values("Connection"))
			assert.Empty(t, w.Header().Values("Upgrade"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.NotEmpty(t, w.Body.String())
		})
	}
}

func TestIsConnect(t *testing.T) {
	assert.True(t, handshake.IsConnect(connectRequest()))
	assert.False(t, handshake.IsConnect(connectRequest(func(r *http.Request) { r.ProtoMajor = 1 })))
	assert.False(t, handshake.IsConnect(connectRequest(func(r *http.Request) { r.Method = http.MethodGet })))
}

func TestNewConnectRequest(t *testing.T) {
	for _, tc := range []struct{ url, scheme, host, uri string }{
		{"wss://example.com/chat?room=1", "https", "example.com", "/chat?room=1"},
		{"ws://example.com:8080/", "http", "example.com:8080", "/"},
		{"https://example.com:443/a%2Fb", "https", "example.com", "/a%2Fb"},
	} {
		u, err := url.Parse(tc.url)
		require.NoError(t, err)
		req, err := handshake.NewConnectRequest(context.Background(), u, strings.NewReader(""), &handshake.ClientOptions{
			Origin:       "https://example.com",
			Subprotocols: []string{"chat", "v2"},
			Extensions:   []handshake.Extension{handshake.DeflateParams{}.Extension()},
			Header:       http.Header{"Authorization": {"Bearer x"}},
		})
		require.NoError(t, err, tc.url)
		assert.Equal(t, http.MethodConnect, req.Method)
		// RFC 8441, Section 5: the scheme of the target URI follows the WebSocket scheme.
		assert.Equal(t, tc.scheme, req.URL.Scheme, tc.url)
		assert.Equal(t, tc.host, req.Host, tc.url)
		assert.Equal(t, tc.uri, req.URL.RequestURI(), tc.url)
		assert.Equal(t, "websocket", req.Header.Get(":protocol"))
		assert.Equal(t, "13", req.Header.Get("Sec-WebSocket-Version"))
		assert.Equal(t, "https://example.com", req.Header.Get("Origin"))
		assert.Equal(t, "chat, v2", req.Header.Get("Sec-WebSocket-Protocol"))
		assert.Equal(t, "permessage-deflate", req.Header.Get("Sec-WebSocket-Extensions"))
		assert.Equal(t, "Bearer x", req.Header.Get("Authorization"))
		// RFC 8441, Section 5: no key; RFC 9113, Section 8.2.2: no connection-specific fields.
		for _, f := range []string{"Sec-WebSocket-Key", "Upgrade", "Connection"} {
			assert.Empty(t, req.Header.Values(f), f)
		}
		assert.EqualValues(t, -1, req.ContentLength)
	}
	_, err := handshake.NewConnectRequest(context.Background(), &url.URL{Scheme: "ftp", Host: "x"}, nil, nil)
	require.ErrorIs(t, err, handshake.ErrInvalidOptions)
}

func TestCheckConnectResponse(t *testing.T) {
	offer := &handshake.ClientOptions{
		Subprotocols: []string{"chat"},
		Extensions:   []handshake.Extension{handshake.DeflateParams{}.Extension()},
	}
	resp := func(status int, fields ...string) *http.Response {
		h := http.Header{}
		for i := 0; i < len(fields); i += 2 {
			h.Add(fields[i], fields[i+1])
		}
		return &http.Response{StatusCode: status, ProtoMajor: 2, Header: h, Body: io.NopCloser(strings.NewReader(""))}
	}
	res, err := handshake.CheckConnectResponse(resp(http.StatusOK, "Sec-WebSocket-Protocol", "chat", "Sec-WebSocket-Extensions", "permessage-deflate"), offer)
	require.NoError(t, err)
	assert.Equal(t, "chat", res.Subprotocol)
	require.Len(t, res.Extensions, 1)
	assert.Equal(t, 2, res.Response.ProtoMajor)

	for _, tc := range []struct {
		name   string
		resp   *http.Response
		err    error
		status int
	}{
		{"8441-5/refused-403", resp(http.StatusForbidden), handshake.ErrBadStatus, http.StatusForbidden},
		{"8441-5/101-is-not-2xx", resp(http.StatusSwitchingProtocols), handshake.ErrBadStatus, http.StatusSwitchingProtocols},
		{"4.1/subprotocol-not-offered", resp(http.StatusOK, "Sec-WebSocket-Protocol", "other"), handshake.ErrBadSubprotocol, http.StatusOK},
		{"4.1/extension-not-offered", resp(http.StatusOK, "Sec-WebSocket-Extensions", "x-zip"), handshake.ErrBadExtension, http.StatusOK},
		{"7692-7/bad-deflate-param", resp(http.StatusOK, "Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=99"), handshake.ErrBadExtension, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := handshake.CheckConnectResponse(tc.resp, offer)
			require.ErrorIs(t, err, tc.err)
			var herr *handshake.Error
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			require.NotNil(t, res, "the refusal's response stays visible")
			assert.Equal(t, tc.status, res.Response.StatusCode)
		})
	}
}
