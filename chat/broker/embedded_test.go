package broker_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat/broker"
)

func TestDefaultDirFollowsXDGStateHome(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/lib/someone")
	assert.Equal(t, filepath.Join("/var/lib/someone", "duplex-chat"), broker.DefaultDir())
	// A relative XDG_STATE_HOME is invalid by the XDG spec and must be ignored.
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/ada")
	assert.Equal(t, filepath.Join("/home/ada", ".local", "state", "duplex-chat"), broker.DefaultDir())
}

func TestEmbeddedCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := start(t, dir, 0)
	assert.Equal(t, dir, s.Dir())
	assert.DirExists(t, filepath.Join(dir, "jetstream"))
}

// A restart on the same directory keeps every record, the room's epoch and its numbering, and the
// duplicate window: a resend of an acknowledged id after the restart is not stored again.
func TestEmbeddedRestartKeepsHistoryAndEpoch(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, 0)
	b := connect(t, broker.Config{URLs: s.ClientURL()})
	for i := 1; i <= 3; i++ {
		seq, dup, err := b.Append(ctxT(t), "lobby", fmt.Sprint("id-", i), fmt.Appendf(nil, "msg %d", i))
		require.NoError(t, err)
		require.False(t, dup)
		require.Equal(t, uint64(i), seq)
	}
	before, err := b.Info(ctxT(t), "lobby")
	require.NoError(t, err)
	b.Close()
	s.Shutdown()

	s = start(t, dir, 0)
	b = connect(t, broker.Config{URLs: s.ClientURL()})
	after, err := b.Info(ctxT(t), "lobby")
	require.NoError(t, err)
	assert.Equal(t, before.Epoch, after.Epoch, "the epoch must survive a restart")
	assert.Equal(t, uint64(1), after.First)
	assert.Equal(t, uint64(3), after.Last)

	recs, more, err := b.Range(ctxT(t), "lobby", 0, 0)
	require.NoError(t, err)
	assert.False(t, more)
	require.Len(t, recs, 3)
	for i, r := range recs {
		assert.Equal(t, uint64(i+1), r.Seq)
		assert.Equal(t, fmt.Sprint("id-", i+1), r.ID)
		assert.Equal(t, fmt.Sprintf("msg %d", i+1), string(r.Payload))
	}

	seq, dup, err := b.Append(ctxT(t), "lobby", "id-2", []byte("msg 2 again"))
	require.NoError(t, err)
	assert.True(t, dup, "a resend after a restart is still a duplicate")
	assert.Equal(t, uint64(2), seq)
	seq, dup, err = b.Append(ctxT(t), "lobby", "id-4", []byte("msg 4"))
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, uint64(4), seq, "numbering carries on after a restart")
}
