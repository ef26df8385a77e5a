package conn_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// echoN reads n messages from c and writes each back at once, as an echo
// server's loop does, on the reading goroutine.
func echoN(ctx context.Context, c *conn.Conn, n int) error {
	for range n {
		t, r, err := c.NextReader(ctx)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if err := c.WriteMessage(ctx, t, b); err != nil {
			return err
		}
	}
	return nil
}

// TestRepliesToABatchLeaveTogether checks the automatic cork: messages
// that arrive together are answered in one Write, in order, while a
// message that arrives alone is answered at once, in one Write of its own.
func TestRepliesToABatchLeaveTogether(t *testing.T) {
	for _, shape := range readerShapes {
		t.Run(shape.name, func(t *testing.T) {
			var cc *countConn
			c, p := rawPairWrapped(t, frame.RoleServer, nil, func(nc net.Conn) net.Conn {
				cc = &countConn{Conn: shape.wrap(nc)}
				return cc
			})
			var batch []byte
			for i := range 8 {
				batch = append(batch, p.wire(frame.OpText, true, []byte("m"+strconv.Itoa(i)))...)
			}
			p.send(batch)
			require.NoError(t, echoN(testCtx(t), c, 8))
			for i := range 8 {
				h, b := p.readFrame()
				assert.Equal(t, frame.OpText, h.Opcode)
				assert.Equal(t, "m"+strconv.Itoa(i), string(b), "in order")
			}
			if shape.name == "whole" {
				assert.Equal(t, 1, cc.count(), "eight replies, one write")
			} else {
				// The reader drains its buffer more often; every drain may
				// flush, but never more often than once per reply.
				assert.LessOrEqual(t, cc.count(), 8)
			}

			before := cc.count()
			p.send(p.wire(frame.OpText, true, []byte("alone")))
			require.NoError(t, echoN(testCtx(t), c, 1))
			assert.Equal(t, 1, cc.count()-before, "no input pending: the reply leaves at once")
			_, b := p.readFrame()
			assert.Equal(t, "alone", string(b))
		})
	}
}

// TestCorkKeepsOrderWithClose checks that a close after corked replies
// follows them on the wire.
func TestCorkKeepsOrderWithClose(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, nil)
	p.send(p.wire(frame.OpText, true, []byte("a")), p.wire(frame.OpText, true, []byte("b")))
	_, r, err := c.NextReader(testCtx(t))
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, b)) // corked: "b" is pending
	go func() { _ = c.Close(frame.CloseNormal, "") }()
	h, got := p.readFrame()
	assert.Equal(t, frame.OpText, h.Opcode)
	assert.Equal(t, "a", string(got))
	code, _ := p.readClose()
	assert.Equal(t, frame.CloseNormal, code)
}

// TestCorkTimerBoundsTheWait checks that a reader that stops with input
// pending does not hold another goroutine's message: it leaves within the
// cork's bound.
func TestCorkTimerBoundsTheWait(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, nil)
	p.send(p.wire(frame.OpText, true, []byte("1")), p.wire(frame.OpText, true, []byte("2")))
	_, _, err := c.ReadMessage(testCtx(t)) // "2" stays buffered; no more reads
	require.NoError(t, err)
	sent := make(chan error, 1)
	go func() { sent <- c.WriteMessage(context.Background(), conn.MessageText, []byte("from elsewhere")) }()
	require.NoError(t, <-sent)
	_, b := p.readFrame() // readFrame fails the test after waitTimeout
	assert.Equal(t, "from elsewhere", string(b))
}

// TestCorkBatchesAnotherGoroutine checks the explicit cork: messages a
// goroutine writes inside Cork leave in one Write, after it.
func TestCorkBatchesAnotherGoroutine(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c, p, cc := countedPair(t, role, nil)
			ctx := testCtx(t)
			err := c.Cork(ctx, func() error {
				for i := range 10 {
					if err := c.WriteMessage(ctx, conn.MessageBinary, pattern(100+i)); err != nil {
						return err
					}
				}
				return c.Ping(ctx, []byte("p"))
			})
			require.NoError(t, err)
			assert.Equal(t, 1, cc.count(), "ten messages and a ping, one write")
			for i := range 10 {
				_, b := p.readFrame()
				assert.True(t, bytes.Equal(pattern(100+i), b), "message %d", i)
			}
			h, _ := p.readFrame()
			assert.Equal(t, frame.OpPing, h.Opcode)
		})
	}
}

// TestCorkOverflowsInOrder checks a cork fuller than the write buffer: the
// frames leave in order, in several writes, a large one as it is.
func TestCorkOverflowsInOrder(t *testing.T) {
	c, p, cc := countedPair(t, frame.RoleServer, nil)
	ctx := testCtx(t)
	sizes := []int{3000, 3000, 100 << 10, 10, 2000}
	done := make(chan error, 1)
	go func() {
		done <- c.Cork(ctx, func() error {
			for _, n := range sizes {
				if err := c.WriteMessage(ctx, conn.MessageBinary, pattern(n)); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	for _, n := range sizes {
		_, b := p.readFrame()
		assert.True(t, bytes.Equal(pattern(n), b), "message of %d bytes", n)
	}
	require.NoError(t, <-done)
	assert.Less(t, cc.count(), len(sizes)+2)

}
