package deflate_test

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdMessage compresses msg with compress/flate (a 32 KiB window) as one message,
// after dict.
func stdMessage(tb testing.TB, msg, dict []byte, level int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriterDict(&buf, level, dict)
	require.NoError(tb, err)
	_, _ = fw.Write(msg)
	require.NoError(tb, fw.Flush())
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// TestWalk checks the checker: it inflates what compress/flate produces in every block
// type, and it fails on the matches the window or the history does not allow.
func TestWalk(t *testing.T) {
	in := inputs()
	t.Run("1951-3.2.6/fixed", func(t *testing.T) {
		// RFC 7692, Section 7.2.3.1: "Hello" in a fixed-Huffman block.
		got, st, err := walk([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, nil, 256)
		require.NoError(t, err)
		assert.Equal(t, "Hello", string(got))
		assert.Equal(t, 1, st.fixed)
		// Section 7.2.3.2: the second "Hello" as a match 5 bytes back.
		got, st, err = walk([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}, []byte("Hello"), 256)
		require.NoError(t, err)
		assert.Equal(t, "Hello", string(got))
		assert.Equal(t, 5, st.maxDist)
	})
	t.Run("1951-3.2.4/stored", func(t *testing.T) {
		got, st, err := walk(stdMessage(t, in["random"][:1000], nil, flate.NoCompression), nil, 256)
		require.NoError(t, err)
		assert.Equal(t, in["random"][:1000], got)
		assert.Positive(t, st.stored)
	})
	t.Run("1951-3.2.7/dynamic", func(t *testing.T) {
		got, st, err := walk(stdMessage(t, in["text"], nil, flate.BestCompression), nil, 1<<15)
		require.NoError(t, err)
		assert.Equal(t, in["text"], got)
		assert.Positive(t, st.dynamic)
	})
	t.Run("7.1.2.1/beyond-window", func(t *testing.T) {
		// compress/flate reaches 32 KiB back: the probes of "distances" are far.
		_, _, err := walk(stdMessage(t, in["distances"], nil, flate.BestCompression), nil, 1<<14)
		require.ErrorContains(t, err, "beyond the window")
	})
	t.Run("7.1.2.1/beyond-history", func(t *testing.T) {
		dict := []byte(strings.Repeat("abcdefgh", 64))
		p := stdMessage(t, []byte("abcdefghabcdefgh"), dict, flate.BestCompression)
		_, _, err := walk(p, nil, 1<<15)
		require.ErrorContains(t, err, "beyond the")
		got, _, err := walk(p, dict, 1<<15)
		require.NoError(t, err)
		assert.Equal(t, "abcdefghabcdefgh", string(got))
	})
	t.Run("7.2.3.4/final-block", func(t *testing.T) {
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, 5)
		_, _ = fw.Write([]byte("Hello"))
		require.NoError(t, fw.Close())
		_, _, err := walk(buf.Bytes(), nil, 1<<15)
		require.ErrorContains(t, err, "final block")
	})
	t.Run("7.2.1/data-after-flush", func(t *testing.T) {
		p := stdMessage(t, []byte("Hello"), nil, 5)
		_, _, err := walk(append(p, 0x00, 0x00, 0xff, 0xff), nil, 1<<15)
		require.Error(t, err)
	})
}
