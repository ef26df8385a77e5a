package conn_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// tcpPair returns the two ends of a TCP loopback connection.
func tcpPair(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	type res struct {
		nc  net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		nc, err := ln.Accept()
		ch <- res{nc, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(tb, err)
	r := <-ch
	require.NoError(tb, r.err)
	tb.Cleanup(func() {
		_ = client.Close()
		_ = r.nc.Close()
	})
	return client, r.nc
}

// newPair returns an open client and server connected over TCP loopback,
// built with conn.New after no handshake (both sides skip it). The
// connections are closed when the test ends.
func newPair(tb testing.TB, client, server *conn.Options) (c, s *conn.Conn) {
	tb.Helper()
	cn, sn := tcpPair(tb)
	c = conn.New(cn, nil, frame.RoleClient, client)
	s = conn.New(sn, nil, frame.RoleServer, server)
	tb.Cleanup(func() {
		_ = c.CloseNow()
		_ = s.CloseNow()
	})
	return c, s
}

// wrapPair is newPair with the server's net.Conn wrapped, to shape how
// the bytes reach the connection under test.
func wrapPair(tb testing.TB, wrap func(net.Conn) net.Conn, client, server *conn.Options) (c, s *conn.Conn) {
	tb.Helper()
	cn, sn := tcpPair(tb)
	c = conn.New(cn, nil, frame.RoleClient, client)
	s = conn.New(wrap(sn), nil, frame.RoleServer, server)
	tb.Cleanup(func() {
		_ = c.CloseNow()
		_ = s.CloseNow()
	})
	return c, s
}

// oneByteConn returns at most one byte per Read, like iotest.OneByteReader.
type oneByteConn struct{ net.Conn }

func (o oneByteConn) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.Conn.Read(p)
}

// CloseWrite passes the half-close through, as the TCP connection under
// the wrapper has it.
func (o oneByteConn) CloseWrite() error { return o.Conn.(*net.TCPConn).CloseWrite() }

// halfConn reads at most half of what is asked, like iotest.HalfReader.
type halfConn struct{ net.Conn }

func (h halfConn) Read(p []byte) (int, error) {
	return h.Conn.Read(p[:(len(p)+1)/2])
}

func (h halfConn) CloseWrite() error { return h.Conn.(*net.TCPConn).CloseWrite() }

// countConn counts the Write calls that reach the socket.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// readerShapes are the ways the bytes reach the reading side: as the
// kernel delivers them, one byte per Read, and half of each Read.
var readerShapes = []struct {
	name string
	wrap func(net.Conn) net.Conn
}{
	{"whole", func(nc net.Conn) net.Conn { return nc }},
	{"one-byte", func(nc net.Conn) net.Conn { return oneByteConn{nc} }},
	{"half", func(nc net.Conn) net.Conn { return halfConn{nc} }},
}

// rawPeer is the far end of a connection under test, speaking raw frames so
// it can misbehave. Its methods use require, so only the test goroutine may
// call them.
type rawPeer struct {
	tb   testing.TB
	nc   net.Conn
	br   *bufio.Reader
	mask bool // the peer is a client, so it masks what it sends
}

// rawPair returns a connection of the given role and the raw peer at the
// other end of its TCP connection.
func rawPair(tb testing.TB, role frame.Role, opts *conn.Options) (*conn.Conn, *rawPeer) {
	tb.Helper()
	return rawPairWrapped(tb, role, opts, func(nc net.Conn) net.Conn { return nc })
}

func rawPairWrapped(tb testing.TB, role frame.Role, opts *conn.Options, wrap func(net.Conn) net.Conn) (*conn.Conn, *rawPeer) {
	tb.Helper()
	cn, sn := tcpPair(tb)
	mine, theirs := sn, cn
	if role == frame.RoleClient {
		mine, theirs = cn, sn
	}
	c := conn.New(wrap(mine), nil, role, opts)
	tb.Cleanup(func() { _ = c.CloseNow() })
	return c, &rawPeer{tb: tb, nc: theirs, br: bufio.NewReader(theirs), mask: role == frame.RoleServer}
}

// wire encodes one frame as this peer sends it, masked when it is a client.
func (p *rawPeer) wire(op frame.Opcode, fin bool, payload []byte) []byte {
	return encodeFrame(frame.Header{Fin: fin, Opcode: op, Masked: p.mask, MaskKey: [4]byte{1, 2, 3, 4}, Length: int64(len(payload))}, payload)
}

// encodeFrame encodes h and payload, masking a copy of the payload when h
// says so.
func encodeFrame(h frame.Header, payload []byte) []byte {
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	if h.Masked {
		frame.Mask(h.MaskKey, 0, b[start:])
	}
	return b
}

// send writes raw bytes to the connection under test.
func (p *rawPeer) send(frames ...[]byte) {
	p.tb.Helper()
	for _, f := range frames {
		_, err := p.nc.Write(f)
		require.NoError(p.tb, err)
	}
}

// readFrame reads one frame sent by the connection under test and returns
// its header and unmasked payload.
func (p *rawPeer) readFrame() (frame.Header, []byte) {
	p.tb.Helper()
	require.NoError(p.tb, p.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	h, err := frame.ReadHeader(p.br)
	require.NoError(p.tb, err)
	b := make([]byte, h.Length)
	_, err = io.ReadFull(p.br, b)
	require.NoError(p.tb, err)
	if h.Masked {
		frame.Mask(h.MaskKey, 0, b)
	}
	return h, b
}

// readHeaderOnly reads the header of the next frame sent by the
// connection under test, leaving its payload unread.
func (p *rawPeer) readHeaderOnly() frame.Header {
	p.tb.Helper()
	require.NoError(p.tb, p.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	h, err := frame.ReadHeader(p.br)
	require.NoError(p.tb, err)
	return h
}

// readClose reads frames until a close frame and returns its code and
// reason.
func (p *rawPeer) readClose() (frame.CloseCode, string) {
	p.tb.Helper()
	for {
		h, b := p.readFrame()
		if h.Opcode == frame.OpClose {
			code, reason, err := frame.ParseClosePayload(b)
			require.NoError(p.tb, err)
			return code, reason
		}
	}
}

// closeAnswer is a close frame a peer read and answered in the
// background, while the test goroutine was blocked in a call that fails
// the connection: a failing read returns only once the closing handshake
// ended.
type closeAnswer struct {
	done   chan struct{}
	code   frame.CloseCode
	reason string
	err    error // reading or answering the close frame
	endErr error // reading up to the end of the stream after it
}

// answerClose plays a conforming peer in the background (RFC 6455, Sections
// 5.5.1 and 7.1.1): it reads frames until the connection under test sends
// its close frame, answers it with the same code, and ends TCP as its role
// does. A client reads on until the server's end of stream, then closes its
// side; a server closes its side at once. The peer must not be used until
// wait returns.
func (p *rawPeer) answerClose() *closeAnswer {
	a := &closeAnswer{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		_ = p.nc.SetReadDeadline(time.Now().Add(waitTimeout))
		if a.code, a.reason, a.err = p.nextClose(); a.err != nil {
			return
		}
		echo, _ := frame.AppendClosePayload(nil, a.code, "")
		if _, a.err = p.nc.Write(p.wire(frame.OpClose, true, echo)); a.err != nil {
			return
		}
		if p.mask {
			_, a.endErr = io.Copy(io.Discard, p.br)
		}
		_ = p.nc.(*net.TCPConn).CloseWrite()
	}()
	return a
}

// nextClose reads frames until a close frame and returns its code and
// reason; it uses no testing.TB, so any goroutine may call it.
func (p *rawPeer) nextClose() (frame.CloseCode, string, error) {
	for {
		h, err := frame.ReadHeader(p.br)
		if err != nil {
			return 0, "", err
		}
		b := make([]byte, h.Length)
		if _, err := io.ReadFull(p.br, b); err != nil {
			return 0, "", err
		}
		if h.Opcode != frame.OpClose {
			continue
		}
		if h.Masked {
			frame.Mask(h.MaskKey, 0, b)
		}
		return frame.ParseClosePayload(b)
	}
}

// wait returns the code and reason of the close frame answered, and checks
// that the stream ended cleanly after it: a FIN, not a reset.
func (a *closeAnswer) wait(tb testing.TB) (frame.CloseCode, string) {
	tb.Helper()
	<-a.done
	require.NoError(tb, a.err)
	require.NoError(tb, a.endErr, "a FIN, not a reset")
	return a.code, a.reason
}

// readEOF asserts the connection under test closed the TCP connection.
func (p *rawPeer) readEOF() {
	p.tb.Helper()
	require.NoError(p.tb, p.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	_, err := io.Copy(io.Discard, p.br)
	if errors.Is(err, syscall.ECONNRESET) {
		// Closing a socket with unread bytes sends a reset instead of a
		// FIN (the reader under test may leave bytes in the kernel when it
		// reads one at a time); either way the connection is gone.
		return
	}
	require.NoError(p.tb, err, "io.Copy stops at EOF without an error")
}

// closePayload encodes a close body.
func closePayload(tb testing.TB, code frame.CloseCode, reason string) []byte {
	tb.Helper()
	b, err := frame.AppendClosePayload(nil, code, reason)
	require.NoError(tb, err)
	return b
}

// stateLog records the transitions OnStateChange reports.
type stateLog struct {
	mu   sync.Mutex
	seen [][2]conn.State
	done chan struct{}
}

func newStateLog() *stateLog { return &stateLog{done: make(chan struct{})} }

func (l *stateLog) hook(from, to conn.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, [2]conn.State{from, to})
	if to == conn.StateClosed {
		close(l.done)
	}
}

// wait returns the transitions once the connection reached Closed.
func (l *stateLog) wait(tb testing.TB) [][2]conn.State {
	tb.Helper()
	select {
	case <-l.done:
	case <-time.After(waitTimeout):
		require.FailNow(tb, "connection never reached CLOSED")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][2]conn.State(nil), l.seen...)
}

// waitClosed waits until c reached StateClosed.
func waitClosed(tb testing.TB, c *conn.Conn) {
	tb.Helper()
	require.Eventually(tb, func() bool { return c.State() == conn.StateClosed }, waitTimeout, time.Millisecond)
}
