package conn_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/handshake"
)

// TestDialTimeout checks that Dial is bounded without a context deadline:
// a server that accepts TCP and never answers, in plain text or before
// TLS, gives up after ClientOptions.Timeout.
func TestDialTimeout(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run("4.1/silent-server-"+scheme, func(t *testing.T) {
			ln := listen(t)
			go func() {
				for {
					nc, err := ln.Accept()
					if err != nil {
						return
					}
					t.Cleanup(func() { _ = nc.Close() })
				}
			}()
			start := time.Now()
			_, _, err := conn.Dial(context.Background(), scheme+"://"+ln.Addr().String()+"/",
				&conn.DialOptions{ClientOptions: conn.ClientOptions{Timeout: 100 * time.Millisecond}})
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), waitTimeout)
		})
	}
}

// TestExtensionHooksRefused checks the one source of truth for extensions:
// the handshake's own hooks, which the connection could not apply, are
// refused in favour of Options.Compression.
func TestExtensionHooksRefused(t *testing.T) {
	t.Run("accept", func(t *testing.T) {
		c, s := net.Pipe()
		defer c.Close()
		_, err := conn.Accept(context.Background(), s, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{
			NegotiateExtensions: func([]handshake.Extension) ([]handshake.Extension, error) { return nil, nil },
		}})
		require.ErrorIs(t, err, handshake.ErrInvalidOptions)
	})
	t.Run("upgrade", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := conn.Upgrade(w, r, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{
				NegotiateExtensions: func([]handshake.Extension) ([]handshake.Extension, error) { return nil, nil },
			}})
			assert.ErrorIs(t, err, handshake.ErrInvalidOptions)
		}))
		defer srv.Close()
		_, resp, err := conn.Dial(testCtx(t), wsURL(srv), nil)
		var he *conn.HandshakeError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusInternalServerError, he.Status)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	})
	t.Run("dial", func(t *testing.T) {
		_, _, err := conn.Dial(testCtx(t), "ws://127.0.0.1:1/", &conn.DialOptions{ClientOptions: conn.ClientOptions{
			Extensions: []handshake.Extension{{Name: "x-private"}},
		}})
		require.ErrorIs(t, err, handshake.ErrInvalidOptions)
	})
}

// TestNamesThroughConn checks that the aliases are the lower packages'
// types, so errors.As and comparisons work whichever name is used.
func TestNamesThroughConn(t *testing.T) {
	var he *handshake.Error
	err := error(&conn.HandshakeError{Status: 403, Err: handshake.ErrOriginRefused})
	require.True(t, errors.As(err, &he))
	require.ErrorIs(t, err, handshake.ErrOriginRefused)
	assert.Equal(t, conn.CloseTooBig, conn.CloseStatus(conn.CloseError{Code: 1009}))
}
