package conn_test

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// TestFailWaitsForPeerClose is the browser's case: a message over the read
// limit fails the connection with 1009 while the peer is still sending it.
// The server must read the rest and the peer's close frame before it ends
// TCP; closing with that input unread would reset the connection and
// destroy the close frame on the peer's side (RFC 6455, Section 7.1.1).
func TestFailWaitsForPeerClose(t *testing.T) {
	for _, size := range []int{4096 + 100, 25 * 4096} {
		t.Run("7.4.1/1009-after-"+strconv.Itoa(size), func(t *testing.T) {
			c, p := rawPair(t, frame.RoleServer, &conn.Options{ReadLimit: 4096})
			sent := make(chan error, 1)
			go func() {
				_, err := p.nc.Write(p.wire(frame.OpText, true, pattern(size)))
				sent <- err
			}()
			readErr := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage(context.Background())
				readErr <- err
			}()
			code, _ := p.readClose()
			assert.Equal(t, frame.CloseTooBig, code)
			require.NoError(t, <-sent, "the server took the whole message")
			p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseTooBig, "")))
			require.ErrorIs(t, <-readErr, conn.ErrReadLimit)
			assertFIN(t, p)
		})
	}
}

// TestFailedClientWaitsForServer checks the client's side of RFC 6455,
// Section 7.1.1: after failing the connection and getting the server's
// close frame, the client leaves the TCP close to the server.
func TestFailedClientWaitsForServer(t *testing.T) {
	c, p := rawPair(t, frame.RoleClient, &conn.Options{CloseTimeout: waitTimeout})
	p.send(encodeFrame(frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 1}, []byte{7}))
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(context.Background())
		readErr <- err
	}()
	code, _ := p.readClose()
	assert.Equal(t, frame.CloseProtocolError, code)
	p.send(p.wire(frame.OpClose, true, closePayload(t, code, "")))
	// The client does not hang up first.
	require.NoError(t, p.nc.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err := p.br.ReadByte()
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "the client must wait for the server's end, got %v", err)
	select {
	case err := <-readErr:
		require.FailNow(t, "the read returned before the server ended TCP", "%v", err)
	default:
	}
	require.NoError(t, p.nc.Close())
	require.ErrorIs(t, <-readErr, frame.ErrMasked)
}

// TestFailDrainIsBounded checks that a peer that never stops sending after
// the close frame cannot keep a failed connection busy: the server gives up
// after discarding a bounded amount, long before the close timeout.
func TestFailDrainIsBounded(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, &conn.Options{ReadLimit: 1024, CloseTimeout: time.Hour})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		chunk := p.wire(frame.OpBinary, true, make([]byte, 64<<10))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := p.nc.Write(chunk); err != nil {
				return
			}
		}
	}()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(context.Background())
		readErr <- err
	}()
	select {
	case err := <-readErr:
		require.ErrorIs(t, err, conn.ErrReadLimit)
	case <-time.After(waitTimeout):
		require.FailNow(t, "the drain did not stop")
	}
	assert.Equal(t, conn.StateClosed, c.State())
}

// assertFIN checks that the connection under test closed TCP with a FIN,
// after reading all the peer sent: not with a reset.
func assertFIN(t *testing.T, p *rawPeer) {
	t.Helper()
	require.NoError(t, p.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	_, err := io.Copy(io.Discard, p.br)
	require.NoError(t, err, "an end of stream, not a reset")
}

// TestFailPeerStopsMidFrame checks the case of a peer that stops in the
// middle of the frame that failed, to wait for this side: the server does
// not wait for the frame's end, which may never come, nor for the close
// timeout, and ends TCP cleanly, having read all that was sent.
func TestFailPeerStopsMidFrame(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, &conn.Options{CloseTimeout: time.Hour})
	h := frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Length: 100}
	p.send(encodeFrame(h, append([]byte("ok \xff"), make([]byte, 96)...))[:2+4+50])
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(context.Background())
		readErr <- err
	}()
	code, _ := p.readClose()
	assert.Equal(t, frame.CloseInvalidPayload, code)
	select {
	case err := <-readErr:
		require.ErrorIs(t, err, frame.ErrInvalidUTF8)
	case <-time.After(waitTimeout):
		require.FailNow(t, "the server waited for the rest of the frame")
	}
	assertFIN(t, p)
}
