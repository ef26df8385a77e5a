package conn

import (
	"io"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// Bytes the proxy sent right behind its reply, in the same read, belong to
// the tunnel. (Over a real tunnel the server speaks only after the request,
// so this needs a proxy on the other end of a pipe.)
func TestConnectKeepsBytesAfterReply(t *testing.T) {
	client, proxy := net.Pipe()
	defer client.Close()
	defer proxy.Close()
	go func() {
		req := make([]byte, 4096)
		if _, err := proxy.Read(req); err != nil {
			return
		}
		_, _ = proxy.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\ntunnelled bytes"))
		_ = proxy.Close()
	}()
	tunnel, err := connect(client, &url.URL{Scheme: "http", Host: "proxy:3128"}, "server:80", handshake.Limits{})
	require.NoError(t, err)
	got, err := io.ReadAll(tunnel)
	require.NoError(t, err)
	assert.Equal(t, "tunnelled bytes", string(got))
}

func TestProxyFromEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.test:3128")
	t.Setenv("HTTPS_PROXY", "http://secure-proxy.test:3128")
	t.Setenv("NO_PROXY", "direct.test")
	t.Setenv("REQUEST_METHOD", "")
	for _, tc := range []struct{ name, target, want string }{
		{"ws", "ws://server.test/chat", "http://proxy.test:3128"},
		{"wss", "wss://server.test/chat", "http://secure-proxy.test:3128"},
		{"no-proxy", "ws://direct.test/chat", ""},
		{"loopback", "ws://127.0.0.1:9001/", ""},
		{"localhost", "wss://localhost/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := parseURL(tc.target)
			require.NoError(t, err)
			p, err := proxyFromEnvironment(httpURL(u))
			require.NoError(t, err)
			if tc.want == "" {
				assert.Nil(t, p)
				return
			}
			require.NotNil(t, p)
			assert.Equal(t, tc.want, p.String())
		})
	}
}
