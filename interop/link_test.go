package interop_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"duplex/conn"
)

// serverProtocols are the subprotocols every server in the matrix speaks, in
// its order of preference; clientProtocols are offered in the other order, so
// a server that honours its own preference picks "duplex.v2" (RFC 6455,
// Section 4.2.2: the server selects "one or none of the acceptable protocols").
var (
	serverProtocols = []string{"duplex.v2", "duplex.v1"}
	clientProtocols = []string{"duplex.v1", "duplex.v2"}
)

const wantProtocol = "duplex.v2"

// message is one data message the duplex end read.
type message struct {
	typ  conn.MessageType
	data []byte
}

// link is one connection under test: the duplex end, read by a goroutine of
// its own so that pings, pongs and closes are handled whatever the test
// waits for, and the reports of the peer end.
type link struct {
	c        *conn.Conn
	peer     chan event
	open     event // the peer's "open" report
	msgs     chan message
	pings    chan string
	pongs    chan string
	stop     chan struct{}
	readDone chan struct{}
	readErr  error
	mode     deflateMode
	// tap shows the wire of a plaintext link; nil over TLS.
	tap *wireTap
}

func newLink(peer chan event, mode deflateMode) *link {
	return &link{
		peer:     peer,
		mode:     mode,
		msgs:     make(chan message, 16),
		pings:    make(chan string, 16),
		pongs:    make(chan string, 16),
		stop:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
}

// options configures the duplex end: room for the largest message, small
// fragments so NextWriter really fragments, the ping and pong hooks, and
// compression as the link's mode says for the role.
func (l *link) options(compression *conn.CompressionOptions) conn.Options {
	return conn.Options{
		Compression:  compression,
		ReadLimit:    4 << 20,
		FragmentSize: 1024,
		CloseTimeout: 10 * time.Second,
		OnPing:       func(p []byte) { offer(l.pings, string(p)) },
		OnPong:       func(p []byte) { offer(l.pongs, string(p)) },
	}
}

func offer(ch chan string, s string) {
	select {
	case ch <- s:
	default:
	}
}

// start begins reading c and waits for the peer's "open" report; the test's
// end closes c and waits for the reader.
func (l *link) start(t testing.TB, c *conn.Conn) {
	t.Helper()
	l.c = c
	go l.read()
	t.Cleanup(func() {
		close(l.stop)
		_ = c.CloseNow()
		<-l.readDone
	})
	l.open = nextEvent(t, l.peer, "open")
}

func (l *link) read() {
	defer close(l.readDone)
	for {
		typ, b, err := l.c.ReadMessage(context.Background())
		if err != nil {
			l.readErr = err
			return
		}
		select {
		case l.msgs <- message{typ, b}:
		case <-l.stop:
			return
		}
	}
}

// next returns the next message the duplex end read.
func (l *link) next(t testing.TB) message {
	t.Helper()
	select {
	case m := <-l.msgs:
		return m
	case <-l.readDone:
		t.Fatalf("connection ended while waiting for a message: %v", l.readErr)
	case <-time.After(waitTimeout):
		t.Fatalf("no message within %v", waitTimeout)
	}
	return message{}
}

// ended waits for the read loop to end and returns its error.
func (l *link) ended(t testing.TB) error {
	t.Helper()
	for {
		select {
		case m := <-l.msgs:
			t.Errorf("unexpected %v message of %d bytes before the end", m.typ, len(m.data))
		case <-l.readDone:
			return l.readErr
		case <-time.After(waitTimeout):
			t.Fatalf("connection did not end within %v", waitTimeout)
		}
	}
}

// waitString waits for s on ch (a ping or pong payload).
func waitString(t testing.TB, ch <-chan string, what, want string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-timer.C:
			t.Fatalf("no %s with payload %q within %v", what, want, waitTimeout)
		}
	}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// payload returns n bytes for a message: for text, valid UTF-8 mixing one
// to four byte characters, so that characters straddle frame and buffer
// boundaries; for binary, every byte value including invalid UTF-8.
func payload(typ conn.MessageType, n int) []byte {
	b := make([]byte, 0, n)
	if typ == conn.MessageBinary {
		for i := range n {
			b = append(b, byte(i*7+i>>8))
		}
		return b
	}
	runes := []rune("duplex ü€😀 ")
	i := 0
	return textOf(n, func() rune {
		i++
		return runes[(i-1)%len(runes)]
	})
}

// noisyText returns n bytes of valid UTF-8 that compress poorly: one to
// four byte characters picked by a generator seeded with seed.
func noisyText(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 6455))
	runes := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 üé€😀")
	return textOf(n, func() rune { return runes[rng.IntN(len(runes))] })
}

// textOf returns n bytes of the characters next yields, padded with ASCII
// where the last one would not fit.
func textOf(n int, next func() rune) []byte {
	b := make([]byte, 0, n)
	for {
		r := next()
		if len(b)+utf8.RuneLen(r) > n {
			break
		}
		b = utf8.AppendRune(b, r)
	}
	for len(b) < n {
		b = append(b, 'a')
	}
	return b
}
