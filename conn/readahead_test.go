package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// TestLargeMessagesBackToBack checks large messages that follow each other
// on the wire, with control frames and small messages between them, in
// every reader shape: each is read whole and in order, the pings answered.
func TestLargeMessagesBackToBack(t *testing.T) {
	for _, shape := range readerShapes {
		t.Run(shape.name, func(t *testing.T) {
			s, p := rawPairWrapped(t, frame.RoleServer, nil, shape.wrap)
			ctx := testCtx(t)
			var wire []byte
			var want [][]byte
			// Read a byte at a time, a payload costs a system call per byte: the
			// smaller payloads, still past a read buffer, keep that shape quick on
			// a busy machine.
			base, step := 20000, 7000
			if shape.name == "one-byte" {
				base, step = conn.DefaultBufferSize+1000, 1500
			}
			for i := range 6 {
				big := bytes.Repeat([]byte{byte('a' + i)}, base+i*step)
				wire = append(wire, p.wire(frame.OpBinary, true, big)...)
				wire = append(wire, p.wire(frame.OpPing, true, []byte{byte(i)})...)
				small := fmt.Appendf(nil, "small %d", i)
				wire = append(wire, p.wire(frame.OpText, true, small)...)
				want = append(want, big, small)
			}
			go func() { _, _ = p.nc.Write(wire) }()
			buf := make([]byte, 0, 64<<10)
			for i, w := range want {
				_, r, err := s.NextReader(ctx)
				require.NoError(t, err, "message %d", i)
				buf = buf[:0]
				for {
					if len(buf) == cap(buf) {
						buf = append(buf, 0)[:len(buf)]
					}
					n, err := r.Read(buf[len(buf):cap(buf)])
					buf = buf[:len(buf)+n]
					if err == io.EOF {
						break
					}
					require.NoError(t, err)
				}
				require.True(t, bytes.Equal(w, buf), "message %d", i)
			}
			for i := range 6 {
				h, b := p.readFrame()
				require.Equal(t, frame.OpPong, h.Opcode)
				require.Equal(t, []byte{byte(i)}, b)
			}
		})
	}
}

// TestLoopLargeWritesKeepOrder checks that a Loop writes large messages as
// they are while the socket takes them and keeps the rest in order when it
// does not: a peer that reads only once everything was written gets the
// large and small messages in the order written, then the close frame.
func TestLoopLargeWritesKeepOrder(t *testing.T) {
	l := newLoop(t, &conn.LoopOptions{MaxPending: 64 << 20})
	cn, sn := tcpPair(t)
	// The close waits for the peer, which reads everything before it.
	s := conn.New(sn, nil, frame.RoleServer, &conn.Options{CloseTimeout: time.Minute})
	e := newLoopEvents()
	require.NoError(t, l.Serve(s, e.handler(s)))
	p := &rawPeer{tb: t, nc: cn, br: newReader(cn), mask: true}
	ctx := context.Background()
	var want [][]byte
	for i := range 16 { // more than the socket holds
		big := bytes.Repeat([]byte{byte('A' + i)}, 1<<20)
		small := fmt.Appendf(nil, "after %d", i)
		require.NoError(t, s.WriteMessage(ctx, conn.MessageBinary, big))
		require.NoError(t, s.WriteMessage(ctx, conn.MessageText, small))
		want = append(want, big, small)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(frame.CloseNormal, "end") }()
	for i, w := range want {
		_, b := p.readFrame()
		require.True(t, bytes.Equal(w, b), "message %d", i)
	}
	a := p.answerClose()
	code, reason := a.wait(t)
	assert.Equal(t, frame.CloseNormal, code)
	assert.Equal(t, "end", reason)
	require.NoError(t, <-closed)
}
