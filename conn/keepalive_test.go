package conn_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// keepaliveSlack is what a loaded machine may add to keepalive's bounds.
const keepaliveSlack = 2 * time.Second

// TestKeepaliveFailsSilentPeer checks that a peer that answers nothing is
// pinged after the interval and failed after the pong timeout: the reader
// gets ErrKeepalive with 1006, the peer a ping and then a close with 1001.
func TestKeepaliveFailsSilentPeer(t *testing.T) {
	for _, role := range []frame.Role{frame.RoleServer, frame.RoleClient} {
		t.Run("5.5.2/"+role.String(), func(t *testing.T) {
			const interval, timeout = 100 * time.Millisecond, 150 * time.Millisecond
			c, p := rawPair(t, role, &conn.Options{PingInterval: interval, PongTimeout: timeout})
			start := time.Now()
			_, _, err := c.ReadMessage(testCtx(t))
			took := time.Since(start)
			require.ErrorIs(t, err, conn.ErrKeepalive)
			assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err), "no close frame came from the peer")
			assert.GreaterOrEqual(t, took, interval+timeout, "not before the pong timeout")
			assert.Less(t, took, interval+timeout+keepaliveSlack)

			h, payload := p.readFrame()
			assert.Equal(t, frame.OpPing, h.Opcode)
			assert.Empty(t, payload)
			code, _ := p.readClose()
			assert.Equal(t, frame.CloseGoingAway, code)
			p.readEOF()
			assert.Equal(t, conn.StateClosed, c.State())
		})
	}
}

// TestKeepaliveKeepsLivePeer checks that a peer that answers pings stays
// connected over many intervals, and that the pings keep coming.
func TestKeepaliveKeepsLivePeer(t *testing.T) {
	const interval = 20 * time.Millisecond
	var pings atomic.Int32
	c, s := newPair(t, &conn.Options{OnPing: func([]byte) { pings.Add(1) }},
		&conn.Options{PingInterval: interval, PongTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	clientDone := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(ctx) // answers the pings while it waits
		clientDone <- err
	}()
	serverDone := make(chan error, 1)
	go func() {
		_, _, err := s.ReadMessage(context.Background())
		serverDone <- err
	}()
	require.Eventually(t, func() bool { return pings.Load() >= 10 }, waitTimeout, interval)
	assert.Equal(t, conn.StateOpen, s.State())
	select {
	case err := <-serverDone:
		require.FailNow(t, "the server's read ended", "%v", err)
	default:
	}
	cancel()
	require.ErrorIs(t, <-clientDone, context.Canceled)
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("still here")))
	require.NoError(t, <-serverDone)
}

// TestKeepaliveTrafficIsLife checks that any frame counts as a sign of life:
// a peer that talks more often than the interval is never pinged.
func TestKeepaliveTrafficIsLife(t *testing.T) {
	// The peer talks twenty times per interval, so that even on a loaded
	// machine no pause of the talker reaches the interval.
	const interval = time.Second
	c, p := rawPair(t, frame.RoleServer, &conn.Options{PingInterval: interval})
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(interval / 20)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := p.nc.Write(p.wire(frame.OpText, true, []byte("hi"))); err != nil {
					return
				}
			}
		}
	}()
	for i := 0; i < 30; i++ { // an interval and a half of messages
		_, msg, err := c.ReadMessage(testCtx(t))
		require.NoError(t, err)
		assert.Equal(t, "hi", string(msg))
	}
	require.NoError(t, p.nc.SetReadDeadline(time.Now().Add(time.Millisecond)))
	_, err := p.br.Peek(1)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing was sent to a talking peer")
}

// TestKeepaliveWithReadContexts checks that a read whose context ends
// leaves keepalive running: the next read still fails a silent peer.
func TestKeepaliveWithReadContexts(t *testing.T) {
	const interval = 50 * time.Millisecond
	c, p := rawPair(t, frame.RoleServer, &conn.Options{PingInterval: interval, PongTimeout: interval})
	ctx, cancel := context.WithTimeout(context.Background(), interval/5)
	_, _, err := c.ReadMessage(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, conn.StateOpen, c.State())
	_, _, err = c.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, conn.ErrKeepalive)
	h, _ := p.readFrame()
	assert.Equal(t, frame.OpPing, h.Opcode)
}

// TestKeepaliveThroughServe checks keepalive on the event API: a silent
// peer ends Serve with an error and a 1006 close event.
func TestKeepaliveThroughServe(t *testing.T) {
	c, _ := rawPair(t, frame.RoleServer, &conn.Options{PingInterval: 30 * time.Millisecond})
	var ev conn.CloseEvent
	var onErr error
	err := conn.Serve(context.Background(), c, conn.Handler{
		OnError: func(err error) { onErr = err },
		OnClose: func(e conn.CloseEvent) { ev = e },
	})
	require.ErrorIs(t, err, conn.ErrKeepalive)
	require.ErrorIs(t, onErr, conn.ErrKeepalive)
	assert.Equal(t, conn.CloseEvent{Code: frame.CloseAbnormal}, ev)
}

// TestWriteTimeout checks that a peer that stops reading cannot hold a
// writer: once the kernel's buffers are full, the write fails within
// WriteTimeout and the connection is failed with 1006.
func TestWriteTimeout(t *testing.T) {
	c, _ := rawPair(t, frame.RoleServer, &conn.Options{WriteTimeout: 100 * time.Millisecond})
	msg := make([]byte, 1<<20)
	var err error
	for i := 0; i < 256 && err == nil; i++ { // far more than any socket buffer
		err = c.WriteMessage(context.Background(), conn.MessageBinary, msg)
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err))
	assert.Equal(t, conn.StateClosed, c.State())
	var ne interface{ Timeout() bool }
	require.True(t, errors.As(err, &ne) && ne.Timeout())
}
