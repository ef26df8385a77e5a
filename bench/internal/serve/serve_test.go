package serve

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAll(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes, past minRead
	for name, r := range map[string]func() io.Reader{
		"whole":   func() io.Reader { return bytes.NewReader(msg) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(msg)) },
		"half":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(msg)) },
		"dataeof": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(msg)) },
	} {
		t.Run(name, func(t *testing.T) {
			buf, err := ReadAll(r(), nil)
			require.NoError(t, err)
			assert.Equal(t, msg, buf)
			// A shorter message reuses the storage.
			again, err := ReadAll(r(), buf[:0:cap(buf)])
			require.NoError(t, err)
			assert.Equal(t, msg, again)
			assert.Same(t, &buf[0], &again[0])
		})
	}
}

func TestReadAllEmptyAndError(t *testing.T) {
	buf, err := ReadAll(strings.NewReader(""), make([]byte, 10))
	require.NoError(t, err)
	assert.Empty(t, buf)

	_, err = ReadAll(iotest.ErrReader(io.ErrUnexpectedEOF), nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "localhost:0", "[2001:db8::1]:0"} {
		_, err := Listen(addr)
		require.ErrorIs(t, err, errNotLoopback, addr)
	}
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	assert.True(t, ln.Addr().(*net.TCPAddr).IP.IsLoopback())

	var out bytes.Buffer
	require.NoError(t, announce(&out, ln))
	assert.Equal(t, ReadyPrefix+ln.Addr().String()+"\n", out.String())
}
