package conn_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// TestLargePayloadReadsAhead checks that the read that takes the end of a
// large payload straight into the caller's buffer also takes what follows
// it, into the read buffer: the next frame is there without another read.
// Linux only, where the read is a readv.
func TestLargePayloadReadsAhead(t *testing.T) {
	s, p := rawPair(t, frame.RoleServer, nil)
	ctx := testCtx(t)
	big := pattern(32 << 10)
	// Both frames in one write: the kernel has them all before the first read.
	p.send(append(p.wire(frame.OpBinary, true, big), p.wire(frame.OpText, true, []byte("next"))...))

	typ, r, err := s.NextReader(ctx)
	require.NoError(t, err)
	require.Equal(t, conn.MessageBinary, typ)
	got := make([]byte, len(big))
	_, err = io.ReadFull(r, got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got))
	assert.Equal(t, 2+4+4, s.Buffered(), "the next frame, read with the end of the payload")

	typ, b, err := s.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, "next", string(b))
}
