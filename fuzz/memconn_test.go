package fuzz_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// memConn is an in-memory net.Conn for one fuzz input: reads serve the
// peer's bytes and then io.EOF, as a peer that sends and shuts its side;
// writes are captured. It never blocks, so a connection under test can
// only wait on itself.
type memConn struct {
	mu      sync.Mutex
	in      []byte
	respond func(written []byte) []byte // if set, computes in at the first Read
	out     bytes.Buffer
	read    int // bytes delivered to the reader
	closed  bool
}

func newMemConn(in []byte) *memConn { return &memConn{in: in} }

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.respond != nil {
		c.in = c.respond(c.out.Bytes())
		c.respond = nil
	}
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	c.read += n
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *memConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	return nil
}

// written returns a copy of everything written so far.
func (c *memConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *memConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *memConn) LocalAddr() net.Addr  { return memAddr("server") }
func (c *memConn) RemoteAddr() net.Addr { return memAddr("client") }

// Deadlines are accepted and ignored: no call on a memConn ever waits.
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// hangTimeout bounds the work one fuzz input may take. An input that takes
// longer is a hang: the fuzzing engine has no timeout of its own, so the
// watchdog crashes the worker, which makes the engine keep the input.
const hangTimeout = 10 * time.Second

// watchdog arms the hang timeout for one input; call the returned
// function when the input is done.
func watchdog(name string, input any) (stop func()) {
	t := time.AfterFunc(hangTimeout, func() {
		panic(fmt.Sprintf("%s: input hangs: %q", name, input))
	})
	return func() { t.Stop() }
}
