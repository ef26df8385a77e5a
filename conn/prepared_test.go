package conn_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// chatLine is a broadcast-like payload, long enough to be compressed.
var chatLine = bytes.Repeat([]byte(`{"type":"message","room":"lobby","from":"ada","text":"hello, everyone"}`), 8)

// TestPreparedToServerAndClient checks that one prepared message reaches
// the peers of a server and of a client intact, the client's frame masked
// with a key of its own (RFC 6455, Section 5.3).
func TestPreparedToServerAndClient(t *testing.T) {
	pm, err := conn.NewPreparedMessage(conn.MessageText, chatLine)
	require.NoError(t, err)
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c, p := rawPair(t, role, nil)
			for range 2 {
				require.NoError(t, c.WritePrepared(testCtx(t), pm))
			}
			h1, b1 := p.readFrame()
			h2, b2 := p.readFrame()
			assert.Equal(t, chatLine, b1)
			assert.Equal(t, chatLine, b2)
			assert.Equal(t, frame.OpText, h1.Opcode)
			assert.Equal(t, role == frame.RoleClient, h1.Masked)
			if role == frame.RoleClient {
				assert.NotEqual(t, h1.MaskKey, h2.MaskKey, "a fresh key per frame")
			}
		})
	}
	_, err = conn.NewPreparedMessage(conn.MessageType(9), nil)
	require.ErrorIs(t, err, conn.ErrMessageType)
}

// TestPreparedCompressedOnce checks the compressed form: connections that
// compress each message on their own, with the same window and level, share
// one; a connection with context takeover compresses with its own history.
// Every peer inflates the same message.
func TestPreparedCompressedOnce(t *testing.T) {
	pm, err := conn.NewPreparedMessage(conn.MessageBinary, chatLine)
	require.NoError(t, err)
	fresh := &conn.CompressionOptions{NoContextTakeover: true, Level: 1}
	var peers []*conn.Conn
	for range 3 {
		c, s := compressedPair(t, &conn.CompressionOptions{}, fresh)
		require.NoError(t, s.WritePrepared(testCtx(t), pm))
		peers = append(peers, c)
	}
	assert.Equal(t, 1, conn.PreparedForms(pm), "one compressed form for three connections")
	small, s := compressedPair(t, &conn.CompressionOptions{}, &conn.CompressionOptions{NoContextTakeover: true, Level: 1, MaxWindowBits: 9})
	require.NoError(t, s.WritePrepared(testCtx(t), pm))
	peers = append(peers, small)
	assert.Equal(t, 2, conn.PreparedForms(pm), "another window, another form")
	takeover, s := compressedPair(t, &conn.CompressionOptions{}, &conn.CompressionOptions{})
	for range 2 {
		require.NoError(t, s.WritePrepared(testCtx(t), pm))
	}
	peers = append(peers, takeover, takeover)
	assert.Equal(t, 2, conn.PreparedForms(pm), "context takeover compresses on its own")
	for _, c := range peers {
		typ, b, err := c.ReadMessage(testCtx(t))
		require.NoError(t, err)
		assert.Equal(t, conn.MessageBinary, typ)
		assert.Equal(t, chatLine, b)
	}
}

// TestPreparedConcurrent writes one prepared message from many goroutines
// to many connections at once, compressed and not.
func TestPreparedConcurrent(t *testing.T) {
	pm, err := conn.NewPreparedMessage(conn.MessageText, chatLine)
	require.NoError(t, err)
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		var comp *conn.CompressionOptions
		if i%2 == 0 {
			comp = &conn.CompressionOptions{NoContextTakeover: true}
		}
		c, s := compressedPair(t, comp, comp)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 20 {
				assert.NoError(t, s.WritePrepared(context.Background(), pm))
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				_, b, err := c.ReadMessage(context.Background())
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, chatLine, b)
			}
		}()
	}
	wg.Wait()
}
