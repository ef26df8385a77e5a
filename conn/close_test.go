package conn_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// validCloseCodes are the codes an endpoint may send (RFC 6455, Section
// 7.4.1 and 7.4.2, and the IANA registry).
var validCloseCodes = []frame.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}

// TestCloseEchoesCode closes with every valid code from either side: the
// peer reports the code and reason, answers with the same code, and the
// closing side reports the answer. Both end CLOSED.
func TestCloseEchoesCode(t *testing.T) {
	for _, code := range validCloseCodes {
		for _, closer := range roles {
			t.Run("5.5.1/"+strconv.Itoa(int(code))+"/by-"+closer.String(), func(t *testing.T) {
				c, s := newPair(t, nil, nil)
				local, remote := c, s
				if closer == frame.RoleServer {
					local, remote = s, c
				}
				readErr := make(chan error, 1)
				go func() {
					_, _, err := remote.ReadMessage(context.Background())
					readErr <- err
				}()
				require.NoError(t, local.Close(code, "reason "+strconv.Itoa(int(code))))

				var ce conn.CloseError
				require.ErrorAs(t, <-readErr, &ce)
				assert.Equal(t, conn.CloseError{Code: code, Reason: "reason " + strconv.Itoa(int(code))}, ce)

				_, _, err := local.ReadMessage(testCtx(t))
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, conn.CloseError{Code: code}, ce, "the answer echoes the code")
				assert.Equal(t, code, conn.CloseStatus(err))

				waitClosed(t, remote)
				assert.Equal(t, conn.StateClosed, local.State())
			})
		}
	}
}

// TestCloseNoStatus checks the empty close body both ways: 1005 is
// reported, never sent (RFC 6455, Section 7.4.1: 1005 "MUST NOT be set as
// a status code in a Close control frame by an endpoint").
func TestCloseNoStatus(t *testing.T) {
	t.Run("7.1.5/received", func(t *testing.T) {
		c, p := rawPair(t, frame.RoleServer, nil)
		p.send(p.wire(frame.OpClose, true, nil))
		_, _, err := c.ReadMessage(testCtx(t))
		var ce conn.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, frame.CloseNoStatus, ce.Code)
		h, b := p.readFrame()
		assert.Equal(t, frame.OpClose, h.Opcode)
		assert.Empty(t, b, "answered with an empty body")
		p.readEOF()
	})
	t.Run("7.1.5/sent", func(t *testing.T) {
		c, p := rawPair(t, frame.RoleClient, nil)
		errc := make(chan error, 1)
		go func() { errc <- c.Close(frame.CloseNoStatus, "") }()
		h, b := p.readFrame()
		assert.Equal(t, frame.OpClose, h.Opcode)
		assert.Empty(t, b)
		p.send(p.wire(frame.OpClose, true, nil))
		require.NoError(t, p.nc.Close())
		require.NoError(t, <-errc)
	})
}

// TestCloseRejectsBadArguments checks that Close refuses what cannot be
// sent and leaves the connection open.
func TestCloseRejectsBadArguments(t *testing.T) {
	c, _ := newPair(t, nil, nil)
	for _, code := range invalidCloseCodes {
		if code == frame.CloseNoStatus {
			continue
		}
		require.ErrorIs(t, c.Close(code, ""), frame.ErrInvalidCloseCode, "code %d", code)
	}
	require.Error(t, c.Close(frame.CloseNoStatus, "reason without code"))
	require.ErrorIs(t, c.Close(frame.CloseNormal, string(make([]byte, 124))), frame.ErrCloseReasonTooLong)
	require.ErrorIs(t, c.Close(frame.CloseNormal, "\xff"), frame.ErrInvalidUTF8)
	assert.Equal(t, conn.StateOpen, c.State())
}

// TestServerClosesTCPFirst checks RFC 6455, Section 7.1.1: after the
// close frames, the server closes TCP at once and the client waits for it.
func TestServerClosesTCPFirst(t *testing.T) {
	t.Run("7.1.1/server", func(t *testing.T) {
		c, p := rawPair(t, frame.RoleServer, nil)
		errc := make(chan error, 1)
		go func() { errc <- c.Close(frame.CloseNormal, "") }()
		p.readClose()
		p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
		p.readEOF()
		require.NoError(t, <-errc)
	})
	t.Run("7.1.1/client", func(t *testing.T) {
		c, p := rawPair(t, frame.RoleClient, &conn.Options{CloseTimeout: waitTimeout})
		errc := make(chan error, 1)
		go func() { errc <- c.Close(frame.CloseNormal, "") }()
		p.readClose()
		p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
		// The client keeps TCP open for the server to close first.
		require.NoError(t, p.nc.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err := p.br.ReadByte()
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the client must not close first")
		assert.Equal(t, conn.StateClosing, c.State())
		require.NoError(t, p.nc.Close())
		require.NoError(t, <-errc)
		assert.Equal(t, conn.StateClosed, c.State())
	})
}

// TestCloseTimeout checks that a peer that never answers cannot hold the
// connection past CloseTimeout.
func TestCloseTimeout(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c, p := rawPair(t, role, &conn.Options{CloseTimeout: 50 * time.Millisecond})
			err := c.Close(frame.CloseNormal, "")
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			assert.Equal(t, conn.StateClosed, c.State())
			p.readClose()
			p.readEOF()
		})
	}
}

// TestCloseWithReader checks that Close lets an active reader receive the
// answer, and that the reader reports it.
func TestCloseWithReader(t *testing.T) {
	c, s := newPair(t, nil, nil)
	ctx := testCtx(t)
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	go func() {
		for {
			if _, _, err := s.ReadMessage(ctx); err != nil {
				return
			}
		}
	}()
	require.NoError(t, s.WriteMessage(ctx, conn.MessageText, []byte("before close")))
	require.NoError(t, c.Close(frame.CloseGoingAway, "leaving"))
	var ce conn.CloseError
	require.ErrorAs(t, <-readErr, &ce)
	assert.Equal(t, frame.CloseGoingAway, ce.Code)
	waitClosed(t, s)
}

// TestCloseDiscardsData checks that Close, reading by itself, skips the
// data messages the peer sent before its answer.
func TestCloseDiscardsData(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, nil)
	errc := make(chan error, 1)
	go func() { errc <- c.Close(frame.CloseNormal, "") }()
	p.readClose()
	p.send(p.wire(frame.OpText, false, []byte("late ")), p.wire(frame.OpPing, true, nil),
		p.wire(frame.OpContinuation, true, []byte("data")), p.wire(frame.OpBinary, true, []byte("more")),
		p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
	require.NoError(t, <-errc)
	p.readEOF()
}

// TestCloseTwice checks every way of closing again: errors, no panic.
func TestCloseTwice(t *testing.T) {
	c, s := newPair(t, nil, nil)
	go func() { _, _, _ = s.ReadMessage(context.Background()) }()
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	require.ErrorIs(t, c.Close(frame.CloseNormal, ""), conn.ErrClosed)
	require.ErrorIs(t, c.CloseNow(), conn.ErrClosed)
	require.ErrorIs(t, c.WriteMessage(testCtx(t), conn.MessageText, nil), conn.ErrClosed)
	_, err := c.NextWriter(testCtx(t), conn.MessageText)
	require.ErrorIs(t, err, conn.ErrClosed)
	require.Error(t, c.Ping(testCtx(t), nil))

	a, b := newPair(t, nil, nil)
	require.NoError(t, a.CloseNow())
	require.ErrorIs(t, a.CloseNow(), conn.ErrClosed)
	require.ErrorIs(t, a.Close(frame.CloseNormal, ""), conn.ErrClosed)
	_, _, err = a.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, conn.ErrClosed)
	require.ErrorIs(t, a.WriteMessage(testCtx(t), conn.MessageText, nil), conn.ErrClosed)
	_, _, err = b.ReadMessage(testCtx(t))
	assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err), "the peer sees the TCP connection end without a close frame")
}

// TestConcurrentCloseReadWrite runs closes, reads and writes at once; the
// race detector and the absence of panics are the assertion, plus every
// call returning.
func TestConcurrentCloseReadWrite(t *testing.T) {
	for round := range 20 {
		c, s := newPair(t, nil, nil)
		ctx := testCtx(t)
		var wg sync.WaitGroup
		run := func(f func()) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f()
			}()
		}
		for _, x := range []*conn.Conn{c, s} {
			run(func() {
				for {
					if _, _, err := x.ReadMessage(ctx); err != nil {
						return
					}
				}
			})
			run(func() { _, _, _ = x.NextReader(ctx) })
			for range 3 {
				run(func() {
					for i := 0; ; i++ {
						if i%3 == 0 {
							if err := x.Ping(ctx, []byte("p")); err != nil {
								return
							}
							continue
						}
						if err := x.WriteMessage(ctx, conn.MessageBinary, pattern(i%3000)); err != nil {
							return
						}
					}
				})
			}
		}
		run(func() { _ = c.Close(frame.CloseNormal, "") })
		run(func() { _ = s.Close(frame.CloseGoingAway, "") })
		if round%2 == 0 {
			run(func() { _ = c.CloseNow() })
		}
		wg.Wait()
		waitClosed(t, c)
		waitClosed(t, s)
	}
}

// TestStateTransitionsObserved records what OnStateChange reports on both
// sides for each way a connection ends.
func TestStateTransitionsObserved(t *testing.T) {
	C, O, G, D := conn.StateConnecting, conn.StateOpen, conn.StateClosing, conn.StateClosed
	full := [][2]conn.State{{C, O}, {O, G}, {G, D}}
	t.Run("7.1.2/local-close", func(t *testing.T) {
		cl, sl := newStateLog(), newStateLog()
		c, s := newPair(t, &conn.Options{OnStateChange: cl.hook}, &conn.Options{OnStateChange: sl.hook})
		go func() { _, _, _ = s.ReadMessage(context.Background()) }()
		require.NoError(t, c.Close(frame.CloseNormal, ""))
		assert.Equal(t, full, cl.wait(t))
		assert.Equal(t, full, sl.wait(t))
	})
	t.Run("7.1.3/peer-close", func(t *testing.T) {
		log := newStateLog()
		c, p := rawPair(t, frame.RoleServer, &conn.Options{OnStateChange: log.hook})
		p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
		_, _, err := c.ReadMessage(testCtx(t))
		require.ErrorAs(t, err, new(conn.CloseError))
		assert.Equal(t, full, log.wait(t))
	})
	t.Run("7.1.7/protocol-failure", func(t *testing.T) {
		log := newStateLog()
		c, p := rawPair(t, frame.RoleServer, &conn.Options{OnStateChange: log.hook})
		p.send(p.wire(frame.Opcode(5), true, nil))
		answer := p.answerClose()
		_, _, err := c.ReadMessage(testCtx(t))
		require.ErrorIs(t, err, frame.ErrReservedOpcode)
		answer.wait(t)
		assert.Equal(t, full, log.wait(t))
	})
	t.Run("7.1.5/tcp-drop", func(t *testing.T) {
		log := newStateLog()
		c, p := rawPair(t, frame.RoleClient, &conn.Options{OnStateChange: log.hook})
		require.NoError(t, p.nc.Close())
		_, _, err := c.ReadMessage(testCtx(t))
		assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err))
		assert.Equal(t, [][2]conn.State{{C, O}, {O, D}}, log.wait(t))
	})
	t.Run("close-now", func(t *testing.T) {
		log := newStateLog()
		c, _ := newPair(t, &conn.Options{OnStateChange: log.hook}, nil)
		require.NoError(t, c.CloseNow())
		assert.Equal(t, [][2]conn.State{{C, O}, {O, D}}, log.wait(t))
	})
}

// TestCloseStatus covers the helper on the errors it meets.
func TestCloseStatus(t *testing.T) {
	assert.Equal(t, frame.CloseCode(0), conn.CloseStatus(nil))
	assert.Equal(t, frame.CloseCode(0), conn.CloseStatus(errors.New("other")))
	assert.Equal(t, frame.CloseCode(0), conn.CloseStatus(conn.ErrClosed))
	assert.Equal(t, frame.CloseNormal, conn.CloseStatus(conn.CloseError{Code: frame.CloseNormal}))
	wrapped := errors.Join(errors.New("context"), conn.CloseError{Code: 4000, Reason: "app"})
	assert.Equal(t, frame.CloseCode(4000), conn.CloseStatus(wrapped))
	assert.Equal(t, "conn: closed with 4000 (private use): app", conn.CloseError{Code: 4000, Reason: "app"}.Error())
}

// TestCloseFromPingHook checks that Close called on the reading goroutine,
// from the ping hook, does not wait for itself: it reads the peer's close
// frame in the reader's place, and returns once the peer answered.
func TestCloseFromPingHook(t *testing.T) {
	var c *conn.Conn
	hookErr := make(chan error, 1)
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnPing: func([]byte) {
		hookErr <- c.Close(frame.CloseNormal, "from hook")
	}})
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(testCtx(t))
		readErr <- err
	}()
	p.send(p.wire(frame.OpPing, true, []byte("x")))
	h, _ := p.readFrame()
	assert.Equal(t, frame.OpPong, h.Opcode)
	code, reason := p.readClose()
	assert.Equal(t, frame.CloseNormal, code)
	assert.Equal(t, "from hook", reason)
	p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
	require.NoError(t, <-hookErr, "the peer answered")
	var ce conn.CloseError
	require.ErrorAs(t, <-readErr, &ce)
	assert.Equal(t, frame.CloseNormal, ce.Code)
	p.readEOF()
}

// TestCloseWhileReaderInHook checks that a Close from another goroutine
// while the reader is inside OnPong waits for the peer's close frame like
// any other Close: nil once the peer answered, a timeout when it never does.
func TestCloseWhileReaderInHook(t *testing.T) {
	for _, answer := range []bool{true, false} {
		t.Run(fmt.Sprintf("7.1.2/peer-answers=%v", answer), func(t *testing.T) {
			inHook := make(chan struct{})
			release := make(chan struct{})
			c, p := rawPair(t, frame.RoleServer, &conn.Options{
				CloseTimeout: 300 * time.Millisecond,
				OnPong: func([]byte) {
					close(inHook)
					<-release
				},
			})
			readErr := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage(testCtx(t))
				readErr <- err
			}()
			p.send(p.wire(frame.OpPong, true, nil))
			<-inHook
			closeErr := make(chan error, 1)
			go func() { closeErr <- c.Close(frame.CloseGoingAway, "") }()
			code, _ := p.readClose()
			assert.Equal(t, frame.CloseGoingAway, code)
			if answer {
				p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseGoingAway, "")))
				require.NoError(t, <-closeErr)
			} else {
				require.ErrorIs(t, <-closeErr, os.ErrDeadlineExceeded)
			}
			close(release)
			err := <-readErr
			require.Error(t, err)
			if answer {
				assert.Equal(t, frame.CloseGoingAway, conn.CloseStatus(err))
			}
			p.readEOF()
			assert.Equal(t, conn.StateClosed, c.State())
		})
	}
}

// TestErrorValues checks what the sentinels match and say.
func TestErrorValues(t *testing.T) {
	require.ErrorIs(t, conn.ErrClosed, net.ErrClosed)
	assert.Equal(t, "conn: use of closed connection", conn.ErrClosed.Error())

	c, p := rawPair(t, frame.RoleServer, &conn.Options{CloseTimeout: 10 * time.Millisecond})
	err := c.Close(frame.CloseNormal, "")
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var timeout interface{ Timeout() bool }
	require.ErrorAs(t, err, &timeout)
	assert.True(t, timeout.Timeout())
	assert.Equal(t, "conn: closing handshake timed out", err.Error())
	p.readClose()
}
