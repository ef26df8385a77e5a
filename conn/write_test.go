package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// countedPair returns a connection of the given role whose Write calls are
// counted, and the raw peer.
func countedPair(t *testing.T, role frame.Role, opts *conn.Options) (*conn.Conn, *rawPeer, *countConn) {
	t.Helper()
	var cc *countConn
	c, p := rawPairWrapped(t, role, opts, func(nc net.Conn) net.Conn {
		cc = &countConn{Conn: nc}
		return cc
	})
	return c, p, cc
}

var roles = []frame.Role{frame.RoleServer, frame.RoleClient}

// TestOneWritePerFrame counts the Write calls: a frame that fits the write
// buffer, data or control, leaves in exactly one.
func TestOneWritePerFrame(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c, p, cc := countedPair(t, role, nil)
			ctx := testCtx(t)
			for _, n := range []int{0, 1, 125, 126, 1000, conn.DefaultBufferSize} {
				before := cc.count()
				require.NoError(t, c.WriteMessage(ctx, conn.MessageBinary, pattern(n)))
				assert.Equal(t, 1, cc.count()-before, "message of %d bytes", n)
				h, b := p.readFrame()
				assert.Equal(t, pattern(n), b)
				assert.True(t, h.Fin)
			}
			before := cc.count()
			require.NoError(t, c.Ping(ctx, []byte("ping")))
			assert.Equal(t, 1, cc.count()-before, "ping")
			h, b := p.readFrame()
			assert.Equal(t, frame.OpPing, h.Opcode)
			assert.Equal(t, "ping", string(b))

			before = cc.count()
			w, err := c.NextWriter(ctx, conn.MessageText)
			require.NoError(t, err)
			for range 3 {
				_, err = w.Write([]byte("small "))
				require.NoError(t, err)
			}
			require.NoError(t, w.Close())
			assert.Equal(t, 1, cc.count()-before, "a streamed message that fits one fragment")
			_, b = p.readFrame()
			assert.Equal(t, "small small small ", string(b))
		})
	}
}

// TestMasking checks RFC 6455, Section 5.1 and 5.3 on what is sent: a
// client masks every frame with a fresh key, a server masks none, and the
// caller's slice is never touched.
func TestMasking(t *testing.T) {
	for _, role := range roles {
		t.Run("5.3/"+role.String(), func(t *testing.T) {
			c, p := rawPair(t, role, nil)
			ctx := testCtx(t)
			keys := map[[4]byte]bool{}
			for _, n := range []int{1, 100, 5000, 70_000} {
				msg := pattern(n)
				orig := bytes.Clone(msg)
				errc := make(chan error, 1)
				go func() { errc <- c.WriteMessage(ctx, conn.MessageBinary, msg) }()
				h, b := p.readFrame()
				require.NoError(t, <-errc)
				assert.Equal(t, orig, msg, "caller's slice untouched")
				assert.Equal(t, orig, b)
				assert.Equal(t, role == frame.RoleClient, h.Masked)
				if h.Masked {
					keys[h.MaskKey] = true
				}
			}
			for range 50 {
				require.NoError(t, c.Ping(ctx, []byte("k")))
				h, _ := p.readFrame()
				assert.Equal(t, role == frame.RoleClient, h.Masked)
				if h.Masked {
					keys[h.MaskKey] = true
				}
			}
			if role == frame.RoleClient {
				assert.Len(t, keys, 54, "a fresh key per frame")
			}
		})
	}
}

// TestNextWriterFragments checks how a streamed message is cut: one frame
// per full fragment, the final frame carrying the rest, and no empty final
// frame when the data ends on a fragment boundary.
func TestNextWriterFragments(t *testing.T) {
	cases := []struct {
		name   string
		writes []int
		frames []int
	}{
		{"5.4/empty-message", nil, []int{0}},
		{"5.4/under-one-fragment", []int{3, 4}, []int{7}},
		{"5.4/exactly-one-fragment", []int{10}, []int{10}},
		{"5.4/two-and-a-half", []int{25}, []int{10, 10, 5}},
		{"5.4/boundary-no-empty-final", []int{7, 7, 6}, []int{10, 10}},
		{"5.4/many-small-writes", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []int{10, 1}},
	}
	for _, tc := range cases {
		for _, role := range roles {
			t.Run(tc.name+"/"+role.String(), func(t *testing.T) {
				c, p, cc := countedPair(t, role, &conn.Options{FragmentSize: 10})
				w, err := c.NextWriter(testCtx(t), conn.MessageText)
				require.NoError(t, err)
				var want []byte
				for _, n := range tc.writes {
					chunk := []byte(strings.Repeat(string(rune('a'+len(want)%26)), n))
					want = append(want, chunk...)
					k, err := w.Write(chunk)
					require.NoError(t, err)
					assert.Equal(t, n, k)
				}
				require.NoError(t, w.Close())
				assert.Equal(t, len(tc.frames), cc.count(), "one Write per fragment")
				var got []byte
				for i, n := range tc.frames {
					h, b := p.readFrame()
					wantOp := frame.OpContinuation
					if i == 0 {
						wantOp = frame.OpText
					}
					assert.Equal(t, wantOp, h.Opcode, "frame %d", i)
					assert.Equal(t, i == len(tc.frames)-1, h.Fin, "frame %d", i)
					assert.Len(t, b, n, "frame %d", i)
					got = append(got, b...)
				}
				assert.Equal(t, string(want), string(got))
			})
		}
	}
}

// TestControlBetweenFragments checks that a ping and a close may go out
// between the fragments of a message another goroutine streams
// (RFC 6455, Section 5.4), and that the message cannot continue after the
// close.
func TestControlBetweenFragments(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, &conn.Options{FragmentSize: 4, CloseTimeout: waitTimeout})
	ctx := testCtx(t)
	w, err := c.NextWriter(ctx, conn.MessageBinary)
	require.NoError(t, err)
	_, err = w.Write([]byte("12345")) // sends "1234", keeps "5"
	require.NoError(t, err)
	require.NoError(t, c.Ping(ctx, []byte("between")))
	closed := make(chan error, 1)
	go func() { closed <- c.Close(frame.CloseGoingAway, "bye") }()

	h, b := p.readFrame()
	assert.Equal(t, frame.OpBinary, h.Opcode)
	assert.False(t, h.Fin)
	assert.Equal(t, "1234", string(b))
	h, b = p.readFrame()
	assert.Equal(t, frame.OpPing, h.Opcode)
	assert.Equal(t, "between", string(b))
	code, reason := p.readClose()
	assert.Equal(t, frame.CloseGoingAway, code)
	assert.Equal(t, "bye", reason)

	_, err = w.Write([]byte("678"))
	require.NoError(t, err, "buffered, nothing sent yet")
	require.ErrorIs(t, w.Close(), conn.ErrClosed)
	p.send(p.wire(frame.OpClose, true, closePayload(t, code, "")))
	require.NoError(t, <-closed)
	p.readEOF()
}

// TestLargeMessages sends messages larger than the write buffer, which a
// server sends without copying and a client masks in chunks.
func TestLargeMessages(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c, p, cc := countedPair(t, role, &conn.Options{WriteBufferSize: 1024})
			msg := pattern(10_000)
			errc := make(chan error, 1)
			go func() { errc <- c.WriteMessage(testCtx(t), conn.MessageBinary, msg) }()
			h, b := p.readFrame()
			require.NoError(t, <-errc)
			assert.True(t, h.Fin)
			assert.Equal(t, msg, b)
			if role == frame.RoleClient {
				assert.Equal(t, 10, cc.count(), "header and 1024-byte chunks")
			}
		})
	}
}

// TestConcurrentWriters has many goroutines write messages, streamed and
// whole, with pings in between; the peer must get every message whole and
// in each writer's order. The reader fails the connection on any
// interleaving, since that breaks RFC 6455, Section 5.4.
func TestConcurrentWriters(t *testing.T) {
	const writers, perWriter = 8, 40
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			opts := &conn.Options{FragmentSize: 64}
			c, s := newPair(t, opts, opts)
			w, r := c, s
			if role == frame.RoleServer {
				w, r = s, c
			}
			ctx := testCtx(t)
			var wg sync.WaitGroup
			errs := make(chan error, writers*perWriter*2)
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWriter {
						msg := []byte(strings.Repeat(fmt.Sprintf("g%d-m%d;", g, i), 1+(g*i)%40))
						if i%2 == 0 {
							errs <- w.WriteMessage(ctx, conn.MessageText, msg)
							continue
						}
						mw, err := w.NextWriter(ctx, conn.MessageText)
						if err != nil {
							errs <- err
							continue
						}
						for len(msg) > 0 {
							k := min(len(msg), 1+i%50)
							if _, err := mw.Write(msg[:k]); err != nil {
								errs <- err
							}
							msg = msg[k:]
						}
						errs <- mw.Close()
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perWriter {
					errs <- w.Ping(ctx, []byte("beat"))
				}
			}()
			next := make([]int, writers)
			for range writers * perWriter {
				_, msg, err := r.ReadMessage(ctx)
				require.NoError(t, err)
				var g, i int
				_, err = fmt.Sscanf(string(msg), "g%d-m%d;", &g, &i)
				require.NoError(t, err)
				want := strings.Repeat(fmt.Sprintf("g%d-m%d;", g, i), 1+(g*i)%40)
				assert.Equal(t, want, string(msg))
				assert.Equal(t, next[g], i, "writer %d order", g)
				next[g] = i + 1
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
		})
	}
}

// TestWriteErrors covers misuse that must return errors, not panic.
func TestWriteErrors(t *testing.T) {
	c, _ := newPair(t, nil, nil)
	ctx := testCtx(t)
	require.ErrorIs(t, c.WriteMessage(ctx, conn.MessageType(0), nil), conn.ErrMessageType)
	require.ErrorIs(t, c.WriteMessage(ctx, conn.MessageType(frame.OpPing), nil), conn.ErrMessageType)
	_, err := c.NextWriter(ctx, conn.MessageType(9))
	require.ErrorIs(t, err, conn.ErrMessageType)
	require.ErrorIs(t, c.Ping(ctx, make([]byte, 126)), conn.ErrControlTooLong)
	require.ErrorIs(t, c.Pong(ctx, make([]byte, 126)), conn.ErrControlTooLong)

	w, err := c.NextWriter(ctx, conn.MessageBinary)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, err = w.Write([]byte("late"))
	require.ErrorIs(t, err, conn.ErrWriterClosed)
	require.ErrorIs(t, w.Close(), conn.ErrWriterClosed)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.WriteMessage(cancelled, conn.MessageText, nil), context.Canceled)
	_, err = c.NextWriter(cancelled, conn.MessageText)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, c.Ping(cancelled, nil), context.Canceled)
	assert.Equal(t, conn.StateOpen, c.State(), "a context that ended before any byte leaves the connection open")
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, []byte("fine")))
}

// TestWriteWaitHonoursContext checks that a writer waiting for another
// writer's message gives up when its context ends, without harming the
// connection.
func TestWriteWaitHonoursContext(t *testing.T) {
	c, s := newPair(t, nil, nil)
	ctx := testCtx(t)
	w, err := c.NextWriter(ctx, conn.MessageText)
	require.NoError(t, err)
	short, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- c.WriteMessage(short, conn.MessageText, []byte("blocked")) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	_, err = w.Write([]byte("first"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, msg, err := s.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, "first", string(msg))
}

// TestWriteUnblockedByClose checks that a write blocked on a peer that
// does not read returns once the connection is closed under it.
func TestWriteUnblockedByClose(t *testing.T) {
	c, _ := newPair(t, nil, nil)
	errc := make(chan error, 1)
	go func() {
		big := pattern(1 << 20)
		for {
			if err := c.WriteMessage(context.Background(), conn.MessageBinary, big); err != nil {
				errc <- err
				return
			}
		}
	}()
	// Give the writer time to fill the socket buffers and block; the
	// assertion holds whether or not it got there.
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, c.CloseNow())
	require.ErrorIs(t, <-errc, conn.ErrClosed)
}

// TestWriteContextMidFrame checks that a context ending while a frame is
// partly written fails the connection: the rest of the frame can never
// follow, so the peer would misread everything after it.
func TestWriteContextMidFrame(t *testing.T) {
	log := newStateLog()
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnStateChange: log.hook})
	// The peer does not read: 64 MiB cannot fit the socket buffers. The
	// payload exists before the clock starts, so the deadline ends the
	// write in the middle of the frame rather than before its first byte.
	big := make([]byte, 64<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.WriteMessage(ctx, conn.MessageBinary, big)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, [][2]conn.State{{conn.StateConnecting, conn.StateOpen}, {conn.StateOpen, conn.StateClosed}}, log.wait(t))
	require.ErrorIs(t, c.WriteMessage(testCtx(t), conn.MessageText, nil), context.DeadlineExceeded, "later calls report the same failure")
	h := p.readHeaderOnly()
	assert.Equal(t, int64(64<<20), h.Length)
}

// TestControlPayloadCut checks a connection that ends inside a control
// frame's payload: it is an abnormal closure, not a clean one.
func TestControlPayloadCut(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, nil)
	ping := p.wire(frame.OpPing, true, []byte("12345"))
	p.send(ping[:len(ping)-3])
	require.NoError(t, p.nc.Close())
	_, _, err := c.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err))
}
