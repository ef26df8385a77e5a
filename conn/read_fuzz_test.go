package conn_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// FuzzReadMessage feeds arbitrary bytes to a server connection, as frames
// from a client: whatever they are, reading must end with an error (the
// peer goes away after the bytes), never panic or hang, and the
// connection must end CLOSED. A failure the connection detects carries a
// close code it may send.
func FuzzReadMessage(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	masked := func(op frame.Opcode, fin bool, payload string) []byte {
		return encodeFrame(frame.Header{Fin: fin, Opcode: op, Masked: true, MaskKey: key, Length: int64(len(payload))}, []byte(payload))
	}
	join := func(frames ...[]byte) []byte {
		var b []byte
		for _, fr := range frames {
			b = append(b, fr...)
		}
		return b
	}
	f.Add(masked(frame.OpText, true, "hello"))
	f.Add(join(masked(frame.OpText, false, "he"), masked(frame.OpPing, true, "p"), masked(frame.OpContinuation, true, "llo")))
	f.Add(masked(frame.OpClose, true, "\x03\xe8bye"))
	f.Add(masked(frame.OpClose, true, "\x03"))
	f.Add(masked(frame.OpText, true, "\xed\xa0\x80"))
	f.Add(masked(frame.OpContinuation, true, "x"))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, input []byte) {
		a, b := net.Pipe()
		c := conn.New(b, nil, frame.RoleServer, &conn.Options{ReadLimit: 1 << 16, CloseTimeout: time.Second})
		readToEnd(t, c, a, input)
	})
}

// readToEnd writes input from a, the peer of c, then hangs up, and reads c
// until it fails: that must end with an error, never a panic or a hang, with
// a close code that may be sent, and with the connection CLOSED.
func readToEnd(t *testing.T, c *conn.Conn, a net.Conn, input []byte) {
	t.Helper()
	defer c.CloseNow()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, a) // whatever the connection answers
	}()
	go func() {
		_, _ = a.Write(input)
		_ = a.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = c.ReadMessage(ctx)
	}
	require.NotErrorIs(t, err, context.DeadlineExceeded, "reading must not hang")
	var pe frame.ProtocolError
	if errors.As(err, &pe) {
		assert.True(t, pe.Code.ValidOnWire(), "code %d", pe.Code)
	}
	<-drained
	waitClosed(t, c)
}
