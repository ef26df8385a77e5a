package micro_test

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// memConn is an in-memory net.Conn that serves a canned request and keeps
// what is written to it. Past the request, a Read returns io.EOF, or, with
// block, waits as a socket would until a read deadline in the past or
// Close (net/http's background read relies on that to stop at a hijack).
type memConn struct {
	block bool

	mu     sync.Mutex
	req    []byte
	off    int
	out    []byte
	wake   chan struct{} // closed to end a waiting Read
	woken  bool
	closed bool
}

func newMemConn(req []byte, block bool) *memConn {
	return &memConn{req: req, block: block, wake: make(chan struct{})}
}

// reset rewinds the request and forgets what was written, for the next
// handshake on the same connection.
func (c *memConn) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off, c.out = 0, c.out[:0]
}

// written returns a copy of what was written so far.
func (c *memConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.out...)
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.off < len(c.req) {
		n := copy(p, c.req[c.off:])
		c.off += n
		c.mu.Unlock()
		return n, nil
	}
	wake, closed := c.wake, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return 0, net.ErrClosed
	case !c.block:
		return 0, io.EOF
	}
	<-wake
	return 0, os.ErrDeadlineExceeded
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *memConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.wakeLocked()
	return nil
}

func (c *memConn) wakeLocked() {
	if !c.woken {
		close(c.wake)
		c.woken = true
	}
}

// SetReadDeadline ends a waiting Read when t has passed; a later deadline
// or none re-arms the wait.
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.IsZero() && !t.After(time.Now()) {
		c.wakeLocked()
	} else if c.woken && !c.closed {
		c.wake, c.woken = make(chan struct{}), false
	}
	return nil
}

func (c *memConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr }

var memAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}

// chanListener hands the connections sent on conns to an http.Server.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return memAddr }
