package conn

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// Loop serves server connections readiness-driven: instead of a goroutine
// blocked in a read per connection, the loop watches every connection's
// socket (with epoll, on Linux) and hands the ones that have input to a
// bounded pool of goroutines, which read what arrived, handle it and call
// the connection's [Handler]. An idle connection in a Loop holds no
// goroutine and no buffer, only its Conn: 1.04 KiB of process memory at
// 10,000 connections and 1.10 KiB at 19,000 (bench/'s idle row), against
// 6.4 KiB for a connection served by a goroutine of its own. Use it for
// servers that hold many mostly idle connections: chats, notifications,
// dashboards. It is also the cheaper mode for busy connections: each
// socket is registered with epoll once, edge-triggered, so an echoed
// message costs about one system call (a third each of read, write and
// epoll_wait at 1 KiB over 50 connections), and bench/'s echo rows measure
// 0.89 to 0.98 times the default mode's server CPU per message.
//
// A connection in a Loop keeps the semantics of a Conn: messages checked
// and limited the same way (the read path is the same code), pings
// answered, permessage-deflate, keepalive ([Options.PingInterval], driven
// by one timer for the whole loop), write corking, the closing handshake
// with its bounds. The differences come from nobody blocking:
//
//   - The loop is the connection's reader: it delivers each message whole to
//     Handler.OnMessage, on one of its goroutines. A connection's callbacks
//     never run concurrently, and run in order; different connections'
//     callbacks run in parallel. They must not block for long: a blocked
//     callback holds a goroutine of the pool.
//   - [Conn.Close] does not wait for the peer's close frame: it sends its
//     own and returns, and the loop completes the handshake; Handler.OnClose
//     reports how it ended.
//   - Writes never wait for the socket: what the kernel does not take waits
//     in the connection's output buffer and leaves when the socket is
//     writable, in order. A write that finds more than LoopOptions.MaxPending
//     bytes waiting already (a message larger than that is taken whole), or
//     output that waits longer than Options.WriteTimeout, fails the
//     connection with [ErrSlowPeer].
//
// Connections without a socket the loop can watch (a tls.Conn, a pipe), and
// every connection on a system other than Linux, are served by a goroutine
// of their own running [Serve], with the same Handler; [Loop.Readiness]
// tells which mode the loop has.
type Loop struct {
	opts   LoopOptions
	ready  *readyLoop // nil without the readiness-driven mode
	ctx    context.Context
	cancel context.CancelFunc
	served sync.WaitGroup // connections served by a goroutine of their own
	mu     sync.Mutex
	closed bool
}

// LoopOptions configures a Loop. A nil *LoopOptions means the defaults.
type LoopOptions struct {
	// Workers bounds the goroutines that handle ready connections and run
	// their callbacks. 0 means four per CPU (GOMAXPROCS), at least 4.
	Workers int

	// MaxPending bounds the bytes that may wait in one connection's output
	// buffer for a socket that is not writable: a write that finds more
	// waiting fails the connection. 0 means 4 MiB.
	MaxPending int
}

// ErrSlowPeer reports a connection failed because the peer did not read
// what was written to it: in a [Loop], more than LoopOptions.MaxPending
// bytes waited for the socket, or some waited longer than
// Options.WriteTimeout.
var ErrSlowPeer = errors.New("conn: the peer does not read what is sent to it")

// ErrLoopClosed is returned by [Loop.Serve] once the loop is closed.
var ErrLoopClosed = errors.New("conn: loop closed")

// NewLoop starts a loop. Close it to end its connections and goroutines.
func NewLoop(opts *LoopOptions) (*Loop, error) {
	l := &Loop{}
	if opts != nil {
		l.opts = *opts
	}
	if l.opts.Workers <= 0 {
		l.opts.Workers = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if l.opts.MaxPending <= 0 {
		l.opts.MaxPending = 4 << 20
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	r, err := newReadyLoop(l)
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		l.cancel()
		return nil, err
	}
	l.ready = r
	return l, nil
}

// Readiness reports whether the loop watches sockets readiness-driven, as
// on Linux, rather than serving each connection with a goroutine.
func (l *Loop) Readiness() bool { return l.ready != nil }

// Serve hands c, a server connection just opened by [Accept] or [Upgrade],
// to the loop, which reads it from now on and reports through h as
// [Serve] does, in the order a browser fires its events: OnOpen first,
// before Serve returns, then OnMessage for each message, OnError at most
// once (only if the connection failed), then OnClose exactly once. Serve
// returns at once; from then on only the loop may read c, while any
// goroutine may write to it and close it.
func (l *Loop) Serve(c *Conn, h Handler) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrLoopClosed
	}
	if l.ready != nil && l.ready.adopt(c, h) {
		return nil
	}
	l.served.Add(1)
	go func() {
		defer l.served.Done()
		_ = Serve(l.ctx, c, h)
	}()
	return nil
}

// Close closes every connection of the loop with 1001 (going away), waits
// until their closing handshakes end (bounded by their CloseTimeout) and
// their OnClose ran, and stops the loop's goroutines. Later calls to Serve
// return ErrLoopClosed.
func (l *Loop) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrLoopClosed
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	if l.ready != nil {
		l.ready.shutdown()
	}
	l.served.Wait()
	return nil
}
