package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

var messageSizes = []int{0, 1, 125, 126, 4095, 4096, 4097, 65535, 65536, 100_000}

// pattern returns n bytes of printable ASCII that differ from position to
// position, so a misplaced byte shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// TestRoundTrip sends messages of many sizes both ways and reads them with
// ReadMessage and NextReader. The server's side of the pair is read
// through every reader shape.
func TestRoundTrip(t *testing.T) {
	for _, shape := range readerShapes {
		t.Run(shape.name, func(t *testing.T) {
			c, s := wrapPair(t, shape.wrap, nil, nil)
			// One byte per system call is slow under the race detector.
			ctx, cancel := context.WithTimeout(context.Background(), 6*waitTimeout)
			defer cancel()
			for _, n := range messageSizes {
				msg := pattern(n)
				for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
					errc := make(chan error, 1)
					go func() { errc <- c.WriteMessage(ctx, typ, msg) }()
					gotTyp, got, err := s.ReadMessage(ctx)
					require.NoError(t, err)
					require.NoError(t, <-errc)
					assert.Equal(t, typ, gotTyp)
					assert.Equal(t, msg, got, "size %d", n)

					go func() { errc <- s.WriteMessage(ctx, typ, msg) }()
					gotTyp, r, err := c.NextReader(ctx)
					require.NoError(t, err)
					assert.Equal(t, typ, gotTyp)
					got, err = io.ReadAll(r)
					require.NoError(t, err)
					require.NoError(t, <-errc)
					assert.Equal(t, msg, got, "size %d", n)
				}
			}
		})
	}
}

// TestFragmentsWithPings sends a fragmented message with pings between
// the fragments: the message arrives whole, and each ping is answered
// with its payload while the message is still incomplete.
func TestFragmentsWithPings(t *testing.T) {
	for _, shape := range readerShapes {
		t.Run("5.4/"+shape.name, func(t *testing.T) {
			var pings []string
			c, p := rawPairWrapped(t, frame.RoleServer, &conn.Options{
				OnPing: func(b []byte) { pings = append(pings, string(b)) },
			}, shape.wrap)
			type result struct {
				typ conn.MessageType
				msg []byte
				err error
			}
			done := make(chan result, 1)
			go func() {
				typ, msg, err := c.ReadMessage(testCtx(t))
				done <- result{typ, msg, err}
			}()
			p.send(p.wire(frame.OpText, false, []byte("Hel")), p.wire(frame.OpPing, true, []byte("first")))
			h, b := p.readFrame()
			assert.Equal(t, frame.OpPong, h.Opcode)
			assert.Equal(t, "first", string(b))
			p.send(p.wire(frame.OpContinuation, false, []byte("lo")), p.wire(frame.OpPing, true, nil))
			h, b = p.readFrame()
			assert.Equal(t, frame.OpPong, h.Opcode)
			assert.Empty(t, b)
			p.send(p.wire(frame.OpPong, true, []byte("unsolicited")), p.wire(frame.OpContinuation, true, []byte(", world")))
			r := <-done
			require.NoError(t, r.err)
			assert.Equal(t, conn.MessageText, r.typ)
			assert.Equal(t, "Hello, world", string(r.msg))
			assert.Equal(t, []string{"first", ""}, pings)
		})
	}
}

// TestPongIgnoresHook checks that the pong carries the ping's payload even
// when the hook scribbles on the slice it gets (red line: answering a
// ping is not the application's business).
func TestPongIgnoresHook(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnPing: func(b []byte) {
		for i := range b {
			b[i] = 'X'
		}
	}})
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(testCtx(t))
		errc <- err
	}()
	for _, payload := range []string{"abc", "", strings.Repeat("z", 125)} {
		p.send(p.wire(frame.OpPing, true, []byte(payload)))
		h, b := p.readFrame()
		assert.Equal(t, frame.OpPong, h.Opcode)
		assert.False(t, h.Masked, "a server does not mask")
		assert.Equal(t, payload, string(b))
	}
	p.send(p.wire(frame.OpText, true, []byte("end")))
	require.NoError(t, <-errc)
}

// TestStreamingReader reads a fragmented message in small pieces.
func TestStreamingReader(t *testing.T) {
	c, p := rawPair(t, frame.RoleServer, nil)
	p.send(p.wire(frame.OpBinary, false, []byte("abc")), p.wire(frame.OpContinuation, false, nil),
		p.wire(frame.OpContinuation, true, []byte("defgh")))
	typ, r, err := c.NextReader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, conn.MessageBinary, typ)
	var got []byte
	buf := make([]byte, 2)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	assert.Equal(t, "abcdefgh", string(got))
	n, err := r.Read(buf)
	assert.Zero(t, n)
	assert.Equal(t, io.EOF, err, "the reader stays at EOF")
}

// TestNextReaderSkipsUnread checks that a message left half-read is
// skipped by the next read.
func TestNextReaderSkipsUnread(t *testing.T) {
	c, s := newPair(t, nil, nil)
	ctx := testCtx(t)
	require.NoError(t, c.WriteMessage(ctx, conn.MessageBinary, pattern(10_000)))
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, []byte("second")))
	_, r, err := s.NextReader(ctx)
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 10))
	require.NoError(t, err)
	typ, msg, err := s.ReadMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, "second", string(msg))
}

// violations are frames a peer must not send; each fails the connection
// with a close frame carrying the code, and every read returns the error.
var violations = []struct {
	name string
	// frames builds what the peer sends; mask says whether it masks.
	frames func(p *rawPeer) [][]byte
	want   error
	code   frame.CloseCode
}{
	{"5.2/reserved-opcode-3", func(p *rawPeer) [][]byte { return [][]byte{p.wire(3, true, nil)} }, frame.ErrReservedOpcode, 1002},
	{"5.2/reserved-opcode-11", func(p *rawPeer) [][]byte { return [][]byte{p.wire(11, true, nil)} }, frame.ErrReservedOpcode, 1002},
	{"5.2/rsv1-without-extension", func(p *rawPeer) [][]byte {
		return [][]byte{encodeFrame(frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText, Masked: true}, nil)}
	}, frame.ErrReservedBits, 1002},
	{"5.2/len127-msb-set", func(p *rawPeer) [][]byte {
		return [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}
	}, frame.ErrLengthMSB, 1002},
	{"5.1/unmasked-from-client", func(p *rawPeer) [][]byte {
		return [][]byte{encodeFrame(frame.Header{Fin: true, Opcode: frame.OpText, Length: 2}, []byte("hi"))}
	}, frame.ErrUnmasked, 1002},
	{"5.5/ping-126-bytes", func(p *rawPeer) [][]byte { return [][]byte{p.wire(frame.OpPing, true, pattern(126))} }, frame.ErrControlTooLong, 1002},
	{"5.5/fragmented-ping", func(p *rawPeer) [][]byte { return [][]byte{p.wire(frame.OpPing, false, nil)} }, frame.ErrControlFragmented, 1002},
	{"5.4/continuation-first", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpContinuation, true, []byte("x"))}
	}, conn.ErrUnexpectedContinuation, 1002},
	{"5.4/text-inside-fragmented", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpText, false, []byte("a")), p.wire(frame.OpText, true, []byte("b"))}
	}, conn.ErrExpectedContinuation, 1002},
	{"5.4/binary-inside-fragmented-after-ping", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpBinary, false, []byte("a")), p.wire(frame.OpPing, true, nil), p.wire(frame.OpBinary, true, []byte("b"))}
	}, conn.ErrExpectedContinuation, 1002},
	{"5.5.1/close-1-byte", func(p *rawPeer) [][]byte { return [][]byte{p.wire(frame.OpClose, true, []byte{3})} }, frame.ErrClosePayloadLength, 1002},
	{"5.5.1/close-reason-invalid-utf8", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpClose, true, []byte{0x03, 0xe8, 'o', 0xff})}
	}, frame.ErrInvalidUTF8, 1007},
	{"8.1/text-invalid-utf8", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpText, true, []byte("ok\xc0\xafok"))}
	}, frame.ErrInvalidUTF8, 1007},
	{"8.1/text-truncated-utf8", func(p *rawPeer) [][]byte {
		return [][]byte{p.wire(frame.OpText, false, []byte("euro \xe2")), p.wire(frame.OpContinuation, true, []byte("\x82"))}
	}, frame.ErrInvalidUTF8, 1007},
}

// invalidCloseCodes may not appear in a close frame (RFC 6455, Section
// 7.4.1 and 7.4.2).
var invalidCloseCodes = []frame.CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}

func TestProtocolViolations(t *testing.T) {
	type tc struct {
		name   string
		frames func(p *rawPeer) [][]byte
		want   error
		code   frame.CloseCode
	}
	cases := make([]tc, 0, len(violations)+len(invalidCloseCodes))
	for _, v := range violations {
		cases = append(cases, tc(v))
	}
	for _, code := range invalidCloseCodes {
		cases = append(cases, tc{"7.4.1/close-code-" + code.String()[:strings.IndexByte(code.String()+" ", ' ')], func(p *rawPeer) [][]byte {
			body := []byte{byte(code >> 8), byte(code)}
			return [][]byte{p.wire(frame.OpClose, true, body)}
		}, frame.ErrInvalidCloseCode, 1002})
	}
	for _, tc := range cases {
		for _, shape := range readerShapes {
			t.Run(tc.name+"/"+shape.name, func(t *testing.T) {
				log := newStateLog()
				c, p := rawPairWrapped(t, frame.RoleServer, &conn.Options{OnStateChange: log.hook}, shape.wrap)
				p.send(tc.frames(p)...)
				// A close frame from the peer, even a bad one, is its last:
				// the server answers and ends at once. Otherwise the peer
				// answers the server's close, and the server waits for it.
				peerClosed := strings.Contains(tc.name, "close-")
				var answer *closeAnswer
				if !peerClosed {
					answer = p.answerClose()
				}
				_, _, err := c.ReadMessage(testCtx(t))
				require.ErrorIs(t, err, tc.want)
				var pe frame.ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tc.code, pe.Code)

				var code frame.CloseCode
				if peerClosed {
					code, _ = p.readClose()
					p.readEOF()
				} else {
					code, _ = answer.wait(t)
				}
				assert.Equal(t, tc.code, code, "close frame on the wire")
				assert.Equal(t, [][2]conn.State{
					{conn.StateConnecting, conn.StateOpen},
					{conn.StateOpen, conn.StateClosing},
					{conn.StateClosing, conn.StateClosed},
				}, log.wait(t))

				// Later calls return the same error.
				_, _, err2 := c.ReadMessage(testCtx(t))
				assert.Equal(t, err, err2)
				_, _, err2 = c.NextReader(testCtx(t))
				assert.Equal(t, err, err2)
				assert.Equal(t, err, c.WriteMessage(testCtx(t), conn.MessageText, nil))
			})
		}
	}
}

// TestClientRejectsMasked checks the client side of RFC 6455, Section 5.1:
// "A client MUST close a connection if it detects a masked frame."
func TestClientRejectsMasked(t *testing.T) {
	c, p := rawPair(t, frame.RoleClient, nil)
	p.send(encodeFrame(frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 1}, []byte{7}))
	answer := p.answerClose()
	_, _, err := c.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, frame.ErrMasked)
	code, _ := answer.wait(t)
	assert.Equal(t, frame.CloseProtocolError, code)
}

// TestBadControlHeaderFailsAtOnce sends only the header of a control
// frame the header already condemns, holding its payload back: the read
// must fail now, with 1002, not wait for a payload that may never come.
func TestBadControlHeaderFailsAtOnce(t *testing.T) {
	cases := []struct {
		name string
		h    frame.Header
		want error
	}{
		{"fragmented-ping", frame.Header{Opcode: frame.OpPing, Length: 48}, frame.ErrControlFragmented},
		{"reserved-bits-close", frame.Header{Fin: true, RSV2: true, Opcode: frame.OpClose, Length: 48}, frame.ErrReservedBits},
		{"unmasked-pong", frame.Header{Fin: true, Opcode: frame.OpPong, Length: 48}, frame.ErrUnmasked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, p := rawPair(t, frame.RoleServer, nil)
			h := tc.h
			h.Masked = tc.want != frame.ErrUnmasked
			p.send(frame.AppendHeader(nil, h))
			go func() { _, _, _ = p.nextClose() }()
			ctx, cancel := context.WithTimeout(testCtx(t), time.Second)
			defer cancel()
			_, _, err := c.ReadMessage(ctx)
			require.ErrorIs(t, err, tc.want)
			var pe frame.ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, frame.CloseProtocolError, pe.Code)
		})
	}
}

// TestUTF8FailFast sends the start of a text message with an invalid
// sequence and holds the rest back: the read must fail now, with 1007 on
// the wire, not when the message would end.
func TestUTF8FailFast(t *testing.T) {
	cases := []struct {
		name   string
		frames [][]byte // payloads of non-final fragments
	}{
		{"8.1/invalid-byte-first-fragment", [][]byte{[]byte("hello \xff")}},
		{"8.1/overlong-in-second-fragment", [][]byte{[]byte("hello"), []byte(" \xc0")}},
		{"8.1/surrogate-split-across-fragments", [][]byte{[]byte("x\xed"), []byte("\xa0")}},
		{"8.1/beyond-max-split", [][]byte{[]byte("\xf4"), []byte("\x90")}},
	}
	for _, tc := range cases {
		for _, streaming := range []bool{false, true} {
			name := tc.name + "/whole"
			if streaming {
				name = tc.name + "/streaming"
			}
			t.Run(name, func(t *testing.T) {
				c, p := rawPair(t, frame.RoleServer, nil)
				for i, b := range tc.frames {
					op := frame.OpText
					if i > 0 {
						op = frame.OpContinuation
					}
					p.send(p.wire(op, false, b))
				}
				answer := p.answerClose()
				var err error
				if streaming {
					var r io.Reader
					_, r, err = c.NextReader(testCtx(t))
					require.NoError(t, err)
					_, err = io.ReadAll(r)
				} else {
					_, _, err = c.ReadMessage(testCtx(t))
				}
				require.ErrorIs(t, err, frame.ErrInvalidUTF8)
				code, _ := answer.wait(t)
				assert.Equal(t, frame.CloseInvalidPayload, code)
			})
		}
	}
}

// TestValidUTF8AcrossFragments splits multi-byte characters at every
// position across fragments.
func TestValidUTF8AcrossFragments(t *testing.T) {
	text := []byte("a€𝄞ü")
	for cut := 0; cut <= len(text); cut++ {
		c, p := rawPair(t, frame.RoleServer, nil)
		p.send(p.wire(frame.OpText, false, text[:cut]), p.wire(frame.OpContinuation, true, text[cut:]))
		_, msg, err := c.ReadMessage(testCtx(t))
		require.NoError(t, err, "cut at %d", cut)
		assert.Equal(t, text, msg)
	}
}

// TestReadLimit checks that a message over the limit fails the connection
// with 1009 as soon as a header announces it, before its payload arrives.
func TestReadLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int64
		sizes []int // fragment lengths; only headers are sent for the last
	}{
		{"10.4/single-frame", 10, []int{11}},
		{"10.4/fragments-add-up", 10, []int{6, 5}},
		{"10.4/default-1MiB", 0, []int{1<<20 + 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The peer sends the held-back payload (up to 1 MiB) before its close
			// frame; a loaded machine under -race may take seconds over it, which
			// is no failure of the limit.
			c, p := rawPair(t, frame.RoleServer, &conn.Options{ReadLimit: tc.limit, CloseTimeout: time.Minute})
			for i, n := range tc.sizes {
				op := frame.OpBinary
				if i > 0 {
					op = frame.OpContinuation
				}
				h := frame.Header{Fin: i == len(tc.sizes)-1, Opcode: op, Masked: true, Length: int64(n)}
				if i < len(tc.sizes)-1 {
					p.send(encodeFrame(h, pattern(n)))
				} else {
					p.send(frame.AppendHeader(nil, h)) // the payload is held back
				}
			}
			readErr := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage(testCtx(t))
				readErr <- err
			}()
			code, _ := p.readClose()
			assert.Equal(t, frame.CloseTooBig, code)
			// The server waits for the peer's close frame, discarding the
			// payload the header announced, and ends TCP only after it, so
			// that the peer is not reset: RFC 6455, Section 7.1.1.
			last := tc.sizes[len(tc.sizes)-1]
			p.send(pattern(last), p.wire(frame.OpClose, true, closePayload(t, frame.CloseTooBig, "")))
			require.ErrorIs(t, <-readErr, conn.ErrReadLimit)
			p.readEOF()
		})
	}
}

// TestReadLimitOff accepts a message above the default limit when the
// limit is negative.
func TestReadLimitOff(t *testing.T) {
	c, s := newPair(t, nil, &conn.Options{ReadLimit: -1})
	msg := pattern(DefaultReadLimitPlus)
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() { errc <- c.WriteMessage(ctx, conn.MessageBinary, msg) }()
	_, got, err := s.ReadMessage(ctx)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(msg, got))
	require.NoError(t, <-errc)
}

// DefaultReadLimitPlus is just over the default read limit.
const DefaultReadLimitPlus = conn.DefaultReadLimit + 1

// TestConcurrentRead checks that a second reader gets an error while the
// first is busy (held inside the ping hook, on the read path).
func TestConcurrentRead(t *testing.T) {
	inHook := make(chan struct{})
	release := make(chan struct{})
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnPing: func([]byte) {
		close(inHook)
		<-release
	}})
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(testCtx(t))
		done <- err
	}()
	p.send(p.wire(frame.OpPing, true, nil))
	<-inHook
	_, _, err := c.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, conn.ErrConcurrentRead)
	_, _, err = c.NextReader(testCtx(t))
	require.ErrorIs(t, err, conn.ErrConcurrentRead)
	close(release)
	p.send(p.wire(frame.OpText, true, []byte("after")))
	require.NoError(t, <-done)
}

// TestReadContext covers contexts that end while reading.
func TestReadContext(t *testing.T) {
	t.Run("between-messages-keeps-connection", func(t *testing.T) {
		c, s := newPair(t, nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, _, err := s.ReadMessage(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, conn.StateOpen, s.State())
		require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("still here")))
		_, msg, err := s.ReadMessage(testCtx(t))
		require.NoError(t, err)
		assert.Equal(t, "still here", string(msg))
	})
	t.Run("already-done", func(t *testing.T) {
		_, s := newPair(t, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := s.ReadMessage(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, conn.StateOpen, s.State())
	})
	t.Run("mid-frame-fails-connection", func(t *testing.T) {
		c, p := rawPair(t, frame.RoleServer, nil)
		h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 10}
		p.send(frame.AppendHeader(nil, h), []byte{1, 2, 3})
		ctx, cancel := context.WithCancel(context.Background())
		midFrame := make(chan int, 1)
		errc := make(chan error, 1)
		go func() {
			_, r, err := c.NextReader(ctx)
			if err != nil {
				midFrame <- 0
				errc <- err
				return
			}
			n, _ := r.Read(make([]byte, 10)) // the 3 bytes sent: 7 remain
			midFrame <- n
			_, err = io.ReadAll(r)
			errc <- err
		}()
		assert.Equal(t, 3, <-midFrame)
		cancel()
		err := <-errc
		require.ErrorIs(t, err, context.Canceled)
		// The caller gave up: the connection ends at once, without waiting
		// for a peer that may never finish its frame.
		code, _ := p.readClose()
		assert.Equal(t, frame.CloseGoingAway, code)
		waitClosed(t, c)
	})
}

// TestTCPDrop checks a connection that ends without a close frame: the
// error carries 1006 and the cause, and the state goes straight to CLOSED.
func TestTCPDrop(t *testing.T) {
	log := newStateLog()
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnStateChange: log.hook})
	p.send(p.wire(frame.OpText, false, []byte("half")))
	require.NoError(t, p.nc.Close())
	_, _, err := c.ReadMessage(testCtx(t))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err))
	assert.Equal(t, [][2]conn.State{{conn.StateConnecting, conn.StateOpen}, {conn.StateOpen, conn.StateClosed}}, log.wait(t))
	assert.True(t, errors.Is(c.WriteMessage(testCtx(t), conn.MessageText, nil), io.ErrUnexpectedEOF))
}

// TestHandshakeReaderKept checks that bytes already buffered by the
// opening handshake's reader are read first, whatever the buffer size
// (RFC 6455 section 4: the first frame may follow the handshake at once).
func TestHandshakeReaderKept(t *testing.T) {
	for _, size := range []int{0, 16, 1 << 16} {
		cn, sn := tcpPair(t)
		first := encodeFrame(frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Length: 5}, []byte("early"))
		_, err := cn.Write(append([]byte("HEAD\r\n\r\n"), first...))
		require.NoError(t, err)
		br := bufio.NewReaderSize(sn, 16)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HEAD\r\n", line)
		_, err = br.ReadString('\n')
		require.NoError(t, err)
		rest, err := br.Peek(br.Buffered())
		require.NoError(t, err)
		s := conn.New(sn, rest, frame.RoleServer, &conn.Options{ReadBufferSize: size})
		_, msg, err := s.ReadMessage(testCtx(t))
		require.NoError(t, err)
		assert.Equal(t, "early", string(msg), "buffer size %d", size)
		require.NoError(t, s.CloseNow())
	}
}

// TestPingPongRoundTrip pings across a pair: the peer answers on its read
// path and the pinger's OnPong sees the payload; an unsolicited pong
// reaches the peer's OnPong and is not answered.
func TestPingPongRoundTrip(t *testing.T) {
	cPongs := make(chan string, 2)
	sPongs := make(chan string, 2)
	c, s := newPair(t,
		&conn.Options{OnPong: func(b []byte) { cPongs <- string(b) }},
		&conn.Options{OnPong: func(b []byte) { sPongs <- string(b) }})
	ctx := testCtx(t)
	for _, x := range []*conn.Conn{c, s} {
		go func() {
			for {
				if _, _, err := x.ReadMessage(ctx); err != nil {
					return
				}
			}
		}()
	}
	require.NoError(t, c.Ping(ctx, []byte("are you there")))
	assert.Equal(t, "are you there", <-cPongs)
	require.NoError(t, c.Pong(ctx, []byte("heartbeat")))
	assert.Equal(t, "heartbeat", <-sPongs)
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	assert.Empty(t, cPongs, "the unsolicited pong is not answered")
}
