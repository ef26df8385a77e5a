package conn_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// compressedPair dials a server over loopback with the given compression
// options on each side and returns both ends.
func compressedPair(t testing.TB, client, server *conn.CompressionOptions) (c, s *conn.Conn) {
	t.Helper()
	ln := listen(t)
	ch := acceptOne(t, testCtx(t), ln, &conn.AcceptOptions{Options: conn.Options{Compression: server, ReadLimit: -1}})
	c, _, err := conn.Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", &conn.DialOptions{
		Options: conn.Options{Compression: client, ReadLimit: -1},
	})
	require.NoError(t, err)
	r := receive(t, ch)
	require.NoError(t, r.err)
	t.Cleanup(func() { _ = c.CloseNow(); _ = r.c.CloseNow() })
	return c, r.c
}

// compressedRaw accepts a connection with compression options opts from a
// raw client peer that offered offer.
func compressedRaw(t testing.TB, offer string, opts *conn.Options) (*conn.Conn, *rawPeer, []handshake.Extension) {
	t.Helper()
	ln := listen(t)
	ch := acceptOne(t, testCtx(t), ln, &conn.AcceptOptions{Options: *opts})
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	exts, err := handshake.ParseExtensions([]string{offer})
	require.NoError(t, err)
	u, err := url.Parse("ws://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	res, err := handshake.Client(testCtx(t), nc, u, &handshake.ClientOptions{Extensions: exts})
	require.NoError(t, err)
	r := receive(t, ch)
	require.NoError(t, r.err)
	t.Cleanup(func() { _ = r.c.CloseNow(); _ = nc.Close() })
	return r.c, &rawPeer{tb: t, nc: nc, br: bufio.NewReader(io.MultiReader(bytes.NewReader(res.Rest), nc)), mask: true}, res.Extensions
}

// deflateRaw compresses msgs as one context-takeover stream with
// compress/flate, each message sync-flushed without its 00 00 ff ff.
func deflateRaw(t testing.TB, msgs ...[]byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestSpeed)
	require.NoError(t, err)
	var out [][]byte
	for _, m := range msgs {
		buf.Reset()
		_, _ = fw.Write(m)
		require.NoError(t, fw.Flush())
		out = append(out, bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})))
	}
	return out
}

// inflateRaw inflates one message payload with compress/flate.
func inflateRaw(t testing.TB, payload []byte) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(payload),
		bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
	require.NoError(t, err)
	return b
}

// wireRSV1 builds a masked frame from the raw client with RSV1 as given.
func wireRSV1(op frame.Opcode, fin, rsv1 bool, payload []byte) []byte {
	return encodeFrame(frame.Header{Fin: fin, RSV1: rsv1, Opcode: op, Masked: true, MaskKey: [4]byte{9, 8, 7, 6},
		Length: int64(len(payload))}, payload)
}

func chatText(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "user%d: hello again, message %d of the day\n", i%5, i)
	}
	return []byte(b.String()[:n])
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCompressionRoundTrip(t *testing.T) {
	type opts = conn.CompressionOptions
	tests := []struct {
		name           string
		client, server *opts
	}{
		{"7/defaults", &opts{}, &opts{}},
		{"7.1.1/no-context-takeover-both", &opts{NoContextTakeover: true}, &opts{NoContextTakeover: true}},
		{"7.1.1/peer-no-context-takeover-both", &opts{PeerNoContextTakeover: true}, &opts{PeerNoContextTakeover: true}},
		{"7.1.2/window-8-both", &opts{PeerMaxWindowBits: 8, MaxWindowBits: 8}, &opts{PeerMaxWindowBits: 8}},
		{"7.1.2/window-9-server-asks", &opts{}, &opts{PeerMaxWindowBits: 9, MaxWindowBits: 9}},
		{"7.1.2/window-12-client-asks", &opts{PeerMaxWindowBits: 12}, &opts{}},
		{"7.1.2/level-1-threshold-off", &opts{Level: 1, Threshold: -1}, &opts{Level: 9, Threshold: -1}},
	}
	msgs := [][]byte{nil, []byte("hi"), chatText(100), chatText(100), chatText(70 << 10), randomBytes(40 << 10), chatText(300)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := compressedPair(t, tt.client, tt.server)
			cp, ok := c.Compression()
			require.True(t, ok)
			sp, ok := s.Compression()
			require.True(t, ok)
			assert.Equal(t, sp, cp, "both ends agree on the parameters")
			for _, pair := range [][2]*conn.Conn{{c, s}, {s, c}} {
				from, to := pair[0], pair[1]
				for i, m := range msgs {
					// Alternate whole and streamed messages.
					if i%2 == 0 {
						require.NoError(t, from.WriteMessage(testCtx(t), conn.MessageBinary, m))
					} else {
						w, err := from.NextWriter(testCtx(t), conn.MessageBinary)
						require.NoError(t, err)
						for rest := m; len(rest) > 0; {
							k := min(len(rest), 1000)
							_, err = w.Write(rest[:k])
							require.NoError(t, err)
							rest = rest[k:]
						}
						require.NoError(t, w.Close())
					}
					typ, got, err := to.ReadMessage(testCtx(t))
					require.NoError(t, err, i)
					assert.Equal(t, conn.MessageBinary, typ)
					require.Equal(t, len(m), len(got), i)
					require.True(t, bytes.Equal(m, got), i)
				}
			}
		})
	}
}

func TestCompressionOff(t *testing.T) {
	for _, tt := range []struct {
		name           string
		client, server *conn.CompressionOptions
	}{
		{"7/client-off", nil, &conn.CompressionOptions{}},
		{"7/server-off", &conn.CompressionOptions{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, s := compressedPair(t, tt.client, tt.server)
			_, ok := c.Compression()
			assert.False(t, ok)
			_, ok = s.Compression()
			assert.False(t, ok)
			require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageBinary, chatText(5000)))
			_, got, err := s.ReadMessage(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, chatText(5000), got)
		})
	}
}

func TestCompressionNegotiatedParams(t *testing.T) {
	s, _, exts := compressedRaw(t, "permessage-deflate; client_max_window_bits; server_max_window_bits=9",
		&conn.Options{Compression: &conn.CompressionOptions{PeerNoContextTakeover: true, PeerMaxWindowBits: 10}})
	require.Len(t, exts, 1)
	assert.Equal(t, "permessage-deflate; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
		exts[0].String())
	p, ok := s.Compression()
	require.True(t, ok)
	assert.Equal(t, handshake.DeflateParams{ClientNoContextTakeover: true, ServerMaxWindowBits: 9, ClientMaxWindowBits: 10}, p)
}

func TestCompressionWire(t *testing.T) {
	s, peer, _ := compressedRaw(t, "permessage-deflate",
		&conn.Options{Compression: &conn.CompressionOptions{Threshold: 100}, FragmentSize: 512})
	ctx := testCtx(t)
	long := chatText(5000)

	// RFC 7692, Section 6: a compressed message has RSV1 on its frame and
	// its payload is the DEFLATE data without the trailing 00 00 ff ff.
	require.NoError(t, s.WriteMessage(ctx, conn.MessageText, long))
	h, payload := peer.readFrame()
	assert.True(t, h.RSV1)
	assert.True(t, h.Fin)
	assert.Less(t, len(payload), len(long)/4)
	assert.Equal(t, long, inflateRaw(t, payload))

	// Under the threshold, or opted out: sent as is, RSV1 clear.
	require.NoError(t, s.WriteMessage(ctx, conn.MessageText, long[:99]))
	h, payload = peer.readFrame()
	assert.False(t, h.RSV1)
	assert.Equal(t, long[:99], payload)
	require.NoError(t, s.WriteMessage(conn.NoCompression(ctx), conn.MessageBinary, long))
	h, payload = peer.readFrame()
	assert.False(t, h.RSV1)
	assert.Equal(t, long, payload)

	// RFC 7692, Section 6.1: a fragmented compressed message has RSV1 on
	// its first frame only; control frames between fragments never.
	w, err := s.NextWriter(ctx, conn.MessageBinary)
	require.NoError(t, err)
	_, err = w.Write(randomBytes(3000))
	require.NoError(t, err)
	require.NoError(t, s.Ping(ctx, []byte("p")))
	require.NoError(t, w.Close())
	var whole []byte
	for first := true; ; first = false {
		h, payload = peer.readFrame()
		for h.Opcode == frame.OpPing {
			assert.False(t, h.RSV1)
			h, payload = peer.readFrame()
		}
		assert.Equal(t, first, h.RSV1, "RSV1 on the first frame only")
		assert.Equal(t, first, h.Opcode == frame.OpBinary)
		whole = append(whole, payload...)
		if h.Fin {
			break
		}
	}
	assert.Equal(t, randomBytes(3000), inflateRaw(t, whole))
}

// TestCompressionWrites counts the Write calls of both ends: a compressed
// payload is built in the connection's own buffer after room for its
// header, which a client masks in place, so that every compressed message
// leaves in exactly one Write, also one larger than the write buffer and on
// a connection that cannot writev (as this wrapper cannot, nor TLS); the
// caller's slice stays as it was.
func TestCompressionWrites(t *testing.T) {
	opts := &conn.CompressionOptions{Level: 1}
	ln := countingListener{Listener: listen(t), conns: make(chan *countConn, 1)}
	ch := acceptOne(t, testCtx(t), ln, &conn.AcceptOptions{Options: conn.Options{Compression: opts, ReadLimit: -1}})
	var cc *countConn
	c, _, err := conn.Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", &conn.DialOptions{
		Options: conn.Options{Compression: opts, ReadLimit: -1},
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			cc = &countConn{Conn: nc}
			return cc, err
		},
	})
	require.NoError(t, err)
	r := receive(t, ch)
	require.NoError(t, r.err)
	t.Cleanup(func() { _ = c.CloseNow(); _ = r.c.CloseNow() })
	sc := receive(t, ln.conns)
	ctx := testCtx(t)
	for _, end := range []struct {
		name     string
		from, to *conn.Conn
		writes   *countConn
	}{{"client", c, r.c, cc}, {"server", r.c, c, sc}} {
		for _, msg := range [][]byte{chatText(3000), randomBytes(20 << 10), chatText(200 << 10)} {
			sent := bytes.Clone(msg)
			before := end.writes.count()
			require.NoError(t, end.from.WriteMessage(ctx, conn.MessageBinary, msg))
			assert.Equal(t, 1, end.writes.count()-before, "%s: Write calls for a %d-byte message", end.name, len(msg))
			assert.Equal(t, sent, msg, "the caller's slice")
			_, got, err := end.to.ReadMessage(ctx)
			require.NoError(t, err)
			assert.Equal(t, msg, got)
		}
	}
}

// countingListener counts the Write calls of the connections it accepts,
// which it hands over on conns.
type countingListener struct {
	net.Listener
	conns chan *countConn
}

func (l countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countConn{Conn: nc}
	l.conns <- cc
	return cc, nil
}

func TestCompressionReadsPeerStream(t *testing.T) {
	for _, shape := range []string{"takeover", "fragmented"} {
		t.Run("7.2.2/"+shape, func(t *testing.T) {
			s, peer, _ := compressedRaw(t, "permessage-deflate", &conn.Options{Compression: &conn.CompressionOptions{}})
			msgs := [][]byte{chatText(2000), chatText(2000), []byte("€ and more €"), {}}
			for i, p := range deflateRaw(t, msgs...) {
				if shape == "fragmented" && len(p) > 4 {
					peer.send(wireRSV1(frame.OpText, false, true, p[:3]),
						wireRSV1(frame.OpContinuation, false, false, p[3:4]),
						peer.wire(frame.OpPing, true, []byte("x")),
						wireRSV1(frame.OpContinuation, true, false, p[4:]))
				} else {
					peer.send(wireRSV1(frame.OpText, true, true, p))
				}
				_, got, err := s.ReadMessage(testCtx(t))
				require.NoError(t, err, i)
				assert.Equal(t, msgs[i], got, i)
			}
		})
	}
}

func TestCompressionReadFailures(t *testing.T) {
	zeros := deflateRaw(t, make([]byte, 4<<20))[0]
	bad := []byte{0xff, 0xff, 0xff, 0xff}
	invalidUTF8 := deflateRaw(t, []byte{'a', 0xff, 'b'})[0]
	// Invalid at the start of a message longer than the first read.
	invalidEarly := deflateRaw(t, append([]byte{'a', 0xff}, bytes.Repeat([]byte{'b'}, 60<<10)...))[0]
	tests := []struct {
		name   string
		frames [][]byte
		code   frame.CloseCode
	}{
		{"7692-8/corrupt-data-1007", [][]byte{wireRSV1(frame.OpBinary, true, true, bad)}, frame.CloseInvalidPayload},
		{"6455-7.4.1/inflates-past-limit-1009", [][]byte{wireRSV1(frame.OpBinary, true, true, zeros)}, frame.CloseTooBig},
		{"6455-8.1/invalid-utf8-after-inflating", [][]byte{wireRSV1(frame.OpText, true, true, invalidUTF8)}, frame.CloseInvalidPayload},
		{"6455-8.1/invalid-utf8-before-the-end", [][]byte{wireRSV1(frame.OpText, true, true, invalidEarly)}, frame.CloseInvalidPayload},
		{"7692-6.1/rsv1-on-continuation", [][]byte{wireRSV1(frame.OpText, false, true, zeros[:2]),
			wireRSV1(frame.OpContinuation, true, true, zeros[2:4])}, frame.CloseProtocolError},
		{"7692-6.1/rsv1-on-ping", [][]byte{wireRSV1(frame.OpPing, true, true, nil)}, frame.CloseProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Less(t, len(zeros), 8<<10, "a small frame")
			s, peer, _ := compressedRaw(t, "permessage-deflate",
				&conn.Options{Compression: &conn.CompressionOptions{}, ReadLimit: 64 << 10})
			peer.send(tt.frames...)
			answer := peer.answerClose()
			_, _, err := s.ReadMessage(testCtx(t))
			var pe frame.ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.code, pe.Code)
			code, _ := answer.wait(t)
			assert.Equal(t, tt.code, code)
			// The failed message is never read further: its buffers go back
			// to the pool, not to the collector.
			holding, ok := s.Inflating()
			require.True(t, ok, "the read lock is free once the connection failed")
			assert.False(t, holding, "the decoder still holds the failed message's buffers")
		})
	}
}

// TestCompressionBombMemory reads a frame of under 8 KiB that inflates to 4 MiB under a
// read limit of 64 KiB: the connection fails with 1009 having allocated a few times the
// limit, not the inflated size nor the inflater's own bound of 1 MiB.
func TestCompressionBombMemory(t *testing.T) {
	const limit = 64 << 10
	zeros := deflateRaw(t, make([]byte, 4<<20))[0]
	for range 2 { // the first fills the pools
		s, peer, _ := compressedRaw(t, "permessage-deflate",
			&conn.Options{Compression: &conn.CompressionOptions{}, ReadLimit: limit})
		peer.send(wireRSV1(frame.OpBinary, true, true, zeros))
		answer := peer.answerClose()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := s.ReadMessage(testCtx(t))
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, conn.ErrReadLimit)
		code, _ := answer.wait(t)
		assert.Equal(t, frame.CloseTooBig, code)
		// With empty pools, about 330 KiB: the decoder's buffers and tables
		// (110 KiB, its output taking the limit once past half of it), the
		// message buffer (128 KiB, the same), the history (64 KiB in steps to
		// the window); with the pools filled, 66 KiB. Before, the message
		// buffer grew as append grows and neither went back to the pools after
		// a failure: 505 KiB. The pools are per processor, so which of the two
		// the second message finds depends on where it runs. The race
		// detector's pools drop a share of what the read puts back and takes
		// again: up to 413 KiB with empty pools, hence its 64 KiB more.
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(400<<10+raceAllocs*64<<10), "bytes allocated while reading")
	}
}

func TestCompressionRSV1WithoutNegotiation(t *testing.T) {
	s, peer, _ := compressedRaw(t, "permessage-deflate", &conn.Options{})
	_, ok := s.Compression()
	require.False(t, ok)
	peer.send(wireRSV1(frame.OpText, true, true, deflateRaw(t, []byte("hi"))[0]))
	answer := peer.answerClose()
	_, _, err := s.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, frame.ErrReservedBits)
	code, _ := answer.wait(t)
	assert.Equal(t, frame.CloseProtocolError, code)
}

// TestCompressionDefaultThreshold checks the default thresholds: a message
// compressed on its own is worth it from DefaultCompressionThresholdAlone
// bytes, one that can refer to the earlier ones from
// DefaultCompressionThreshold. Under the threshold a message goes out as
// it is, RSV1 clear (RFC 7692, Section 6).
func TestCompressionDefaultThreshold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		offer string
		lo    int // the smallest size compressed
	}{
		{"7692-7.1.1/takeover", "permessage-deflate", conn.DefaultCompressionThreshold},
		{"7692-7.1.1.1/server-no-takeover", "permessage-deflate; server_no_context_takeover", conn.DefaultCompressionThresholdAlone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, peer, _ := compressedRaw(t, tc.offer, &conn.Options{Compression: &conn.CompressionOptions{}})
			ctx := testCtx(t)
			long := chatText(1000)
			for _, n := range []int{tc.lo - 1, tc.lo} {
				require.NoError(t, s.WriteMessage(ctx, conn.MessageText, long[:n]))
				h, payload := peer.readFrame()
				assert.Equal(t, n >= tc.lo, h.RSV1, "RSV1 on a message of %d bytes", n)
				if h.RSV1 {
					payload = inflateRaw(t, payload)
				}
				assert.Equal(t, long[:n], payload)
			}
		})
	}
}
