package handshake_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// acceptResult is what a server goroutine reports back.
type acceptResult struct {
	res *handshake.Result
	err error
}

// acceptAsync runs Accept on c in a goroutine; the test must receive from the channel.
func acceptAsync(c net.Conn, opts *handshake.ServerOptions) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	go func() {
		res, err := handshake.Accept(context.Background(), c, opts)
		ch <- acceptResult{res, err}
	}()
	return ch
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	require.NoError(tb, err)
	return u
}

// roundTrip runs Client against Accept over a connected pair and checks that both sides
// agree, and that bytes written right after the handshake reach the other side.
func roundTrip(t *testing.T, client, server net.Conn) {
	t.Helper()
	defer client.Close()
	defer server.Close()
	srv := acceptAsync(server, &handshake.ServerOptions{Subprotocols: []string{"chat", "superchat"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cres, err := handshake.Client(ctx, client, mustURL(t, "ws://example.com/room?id=7"), &handshake.ClientOptions{
		Origin:       "http://example.com",
		Subprotocols: []string{"superchat", "chat"},
	})
	require.NoError(t, err)
	s := <-srv
	require.NoError(t, s.err)

	assert.Equal(t, "chat", cres.Subprotocol, "server preference order wins")
	assert.Equal(t, "chat", s.res.Subprotocol)
	assert.Equal(t, "/room?id=7", s.res.Request().Target)
	assert.Equal(t, "example.com", s.res.Request().Host)
	assert.Equal(t, 101, cres.Response.StatusCode)
	assert.Nil(t, s.res.Response)

	// Data in both directions after the handshake: Rest, then the connection.
	go func() { _, _ = server.Write([]byte("to-client")) }()
	got := make([]byte, len("to-client"))
	_, err = io.ReadFull(afterHead(cres, client), got)
	require.NoError(t, err)
	assert.Equal(t, "to-client", string(got))
	go func() { _, _ = client.Write([]byte("to-server")) }()
	got = make([]byte, len("to-server"))
	_, err = io.ReadFull(afterHead(s.res, server), got)
	require.NoError(t, err)
	assert.Equal(t, "to-server", string(got))
}

func TestRoundTripPipe(t *testing.T) {
	c, s := net.Pipe()
	roundTrip(t, c, s)
}

func TestRoundTripTCP(t *testing.T) {
	c, s := tcpPair(t)
	roundTrip(t, c, s)
}

// afterHead reads what the peer of c sent after the handshake's head: res.Rest, then c.
func afterHead(res *handshake.Result, c net.Conn) io.Reader {
	return io.MultiReader(bytes.NewReader(res.Rest), c)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(tb, err)
	a := <-ch
	require.NoError(tb, a.err)
	return client, a.c
}
