package handshake_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// countingConn counts the Write calls that reach the connection.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestOneWritePerHead: the 101, a refusal and the client's request each leave in one Write,
// so no peer ever sees half a head from a separate segment.
func TestOneWritePerHead(t *testing.T) {
	for _, tt := range []struct {
		name string
		raw  string
	}{
		{"4.2.2/switching", head(getLine, append(validFields, "Sec-WebSocket-Protocol: chat")...)},
		{"4.2.2/refusal", head(getLine, without("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			defer client.Close()
			cc := &countingConn{Conn: server}
			srv := acceptAsync(cc, &handshake.ServerOptions{Subprotocols: []string{"chat"}, Header: http.Header{"X-A": {"1"}}})
			x := sendRaw(t, client, tt.raw)
			s := <-srv
			if s.err == nil {
				server.Close()
				assert.Equal(t, 101, x.resp.StatusCode)
			}
			assert.Equal(t, int32(1), cc.writes.Load())
		})
	}
	t.Run("4.1/request", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		cc := &countingConn{Conn: client}
		reqs := scriptedServer(server, switching())
		_, err := handshake.Client(testContext(t), cc, mustURL(t, "ws://example.com/"), &handshake.ClientOptions{
			Origin: "http://example.com", Subprotocols: []string{"a"}, Header: http.Header{"X-A": {strings.Repeat("v", 5000)}},
		})
		require.NoError(t, err)
		defer cc.Close()
		require.NotNil(t, <-reqs)
		assert.Equal(t, int32(1), cc.writes.Load())
	})
}

// TestConcurrentHandshakes runs handshakes at once over loopback, sharing one options
// value and its hook, for the race detector.
func TestConcurrentHandshakes(t *testing.T) {
	const n = 16
	var hookCalls atomic.Int32
	opts := &handshake.ServerOptions{
		Subprotocols: []string{"chat"},
		NegotiateExtensions: func(offers []handshake.Extension) ([]handshake.Extension, error) {
			hookCalls.Add(1)
			return offers[:1], nil
		},
	}
	copts := &handshake.ClientOptions{Subprotocols: []string{"chat"}, Extensions: []handshake.Extension{{Name: "x-a"}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	u := mustURL(t, "ws://"+ln.Addr().String()+"/")
	ctx := testContext(t)

	var wg sync.WaitGroup
	serverErrs := make(chan error, n)
	wg.Go(func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				serverErrs <- err
				return
			}
			wg.Go(func() {
				_, err := handshake.Accept(context.Background(), c, opts)
				c.Close()
				serverErrs <- err
			})
		}
	})
	clientErrs := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				clientErrs <- err
				return
			}
			defer c.Close()
			res, err := handshake.Client(ctx, c, u, copts)
			if err == nil && (res.Subprotocol != "chat" || len(res.Extensions) != 1) {
				err = assert.AnError
			}
			clientErrs <- err
		})
	}
	wg.Wait()
	close(serverErrs)
	close(clientErrs)
	for err := range serverErrs {
		assert.NoError(t, err)
	}
	for err := range clientErrs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(n), hookCalls.Load())
}
