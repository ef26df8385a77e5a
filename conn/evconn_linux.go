//go:build linux

package conn

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"duplex/frame"
)

// evConn is a connection's state in a Loop, and its net.Conn: the socket,
// a descriptor of the loop's own, read and written without waiting (the
// loop waits for it, with epoll), and without the runtime's poller, whose
// per-connection structures an idle connection would otherwise keep.
type evConn struct {
	c *Conn
	l *readyLoop
	h Handler

	mu sync.Mutex // guards busy, ready and done
	fd int32
	// busy says a worker has the connection, or will; ready what happened
	// while it was busy (evRead, evWrite, evTimer); done that OnClose ran
	// and the descriptor is closed.
	busy  bool
	ready uint8
	done  bool
	// drained says the last read returned less than it asked for: the
	// socket was empty then, and epoll, edge-triggered, reports what
	// arrives after, so the next read is answered "would block" without
	// asking the kernel. Owned by the worker, as the reads are.
	drained bool

	// Owned by the worker that has the connection: the message in
	// progress, as read so far; whether this side's close frame went and
	// the loop waits for the peer's (draining), and whether that drain lost
	// the frames and discards to the end (lost); what ended the
	// connection, for OnError and OnClose.
	msg      []byte
	msgBuf   *[]byte // the pooled buffer msg was read into, with Handler.BorrowMessages
	endErr   error
	draining bool
	lost     bool

	// When the loop's timer must look at the connection (keepalive, a drain
	// that stalls within a frame), and since when output waits, as Unix
	// nanoseconds, 0 for never: set by whoever holds the connection, read
	// by the timer.
	deadline atomic.Int64
	outSince atomic.Int64
}

// What a worker has to do for a connection.
const (
	evRead  uint8 = 1 << iota // readable, or hung up
	evWrite                   // writable, with output waiting
	evTimer                   // a deadline passed
	evEnded                   // the TCP connection was closed outside a worker
)

func (ev *evConn) Read(p []byte) (int, error) { return ev.readAhead(p, nil) }

// readAhead is Read into p, then q, in one system call: without waiting,
// the rest of a payload the read path wants and whatever follows it (see
// Conn.recv).
func (ev *evConn) readAhead(p, q []byte) (int, error) {
	if ev.drained {
		ev.drained = false
		return 0, errWouldBlock
	}
	for {
		n, err := readv(int(ev.fd), p, q)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p)+len(q) > 0:
			return 0, io.EOF
		}
		ev.drained = n < len(p)+len(q)
		return n, nil
	}
}

// Write writes what the socket takes now; a Loop's output goes through
// flush, which keeps the rest.
func (ev *evConn) Write(p []byte) (int, error) {
	n, err := ev.writeSome(p)
	if err == nil && n < len(p) {
		err = errWouldBlock
	}
	return n, err
}

func (ev *evConn) writeSome(p []byte) (int, error) { return ev.writevSome(p, nil) }

// Close shuts the socket down both ways, which wakes the loop to end the
// connection; the descriptor itself is closed by the loop, once no worker
// and no writer can use it any more (finish), so that its number is not
// reused under them.
func (ev *evConn) Close() error {
	_ = unix.Shutdown(int(ev.fd), unix.SHUT_RDWR)
	return nil
}

// CloseWrite shuts down the sending side, as TCPConn.CloseWrite does.
func (ev *evConn) CloseWrite() error { return unix.Shutdown(int(ev.fd), unix.SHUT_WR) }

func (ev *evConn) LocalAddr() net.Addr {
	sa, err := unix.Getsockname(int(ev.fd))
	if err != nil {
		return nil
	}
	return sockaddrAddr(sa)
}

func (ev *evConn) RemoteAddr() net.Addr {
	sa, err := unix.Getpeername(int(ev.fd))
	if err != nil {
		return nil
	}
	return sockaddrAddr(sa)
}

func sockaddrAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// The loop keeps time itself: deadlines on the socket mean nothing here.
func (ev *evConn) SetDeadline(time.Time) error      { return nil }
func (ev *evConn) SetReadDeadline(time.Time) error  { return nil }
func (ev *evConn) SetWriteDeadline(time.Time) error { return nil }

// run handles what happened to the connection until nothing is left, then
// gives it back to epoll. One worker runs it at a time (busy).
func (ev *evConn) run() {
	c := ev.c
	for {
		ev.mu.Lock()
		what := ev.ready
		ev.ready = 0
		if what == 0 || c.State() == StateClosed {
			if c.State() == StateClosed {
				ev.mu.Unlock()
				ev.finish()
				return
			}
			// Whatever epoll reports from now on finds the connection
			// idle and schedules it again; what it reported before is in
			// ready, read under the same lock.
			ev.busy = false
			ev.drained = false
			ev.mu.Unlock()
			return
		}
		ev.mu.Unlock()
		if what&evWrite != 0 {
			ev.writable()
		}
		if what&evTimer != 0 {
			ev.timer()
		}
		if what&evRead != 0 {
			// Input arrived since the read that found the socket empty.
			ev.drained = false
			ev.readable()
		}
	}
}

// schedule notes what happened and hands the connection to a worker unless
// one has it already.
func (ev *evConn) schedule(what uint8) {
	ev.mu.Lock()
	if ev.done {
		ev.mu.Unlock()
		return
	}
	ev.ready |= what
	start := !ev.busy
	ev.busy = true
	ev.mu.Unlock()
	if start {
		ev.l.tasks <- ev
	}
}

// readable reads what arrived and runs the read path over every whole
// unit of it (unitReady), calling the handler for each message. The
// replies leave together once everything buffered has been handled.
func (ev *evConn) readable() {
	c := ev.c
	if !c.r.lock.tryAcquire() {
		return
	}
	c.w.corks.Add(1)
	defer ev.uncork()
	defer c.unlockRead()
	for c.State() != StateClosed {
		if ev.draining {
			if !ev.drain() {
				return
			}
			continue
		}
		if c.r.msgType != 0 {
			if !ev.readMessage() {
				return
			}
			continue
		}
		ok, need := c.unitReady()
		if !ok {
			if err := c.readMore(need); err != nil {
				if err != errWouldBlock {
					ev.next() // the read path reports the end as it always does
				}
				return
			}
			continue
		}
		ev.next()
	}
}

// next runs the read path up to the next message, handling the control
// frames before it.
func (ev *evConn) next() {
	if _, err := ev.c.nextMessage(context.Background()); err != nil && err != errWouldBlock {
		ev.ended(err)
	}
}

// readMessage reads what is buffered of the message in progress and hands
// it to the handler once whole, and reports whether there is more to do
// now.
func (ev *evConn) readMessage() bool {
	c := ev.c
	t := c.r.msgType
	if ev.msg == nil && ev.h.BorrowMessages {
		ev.msgBuf = c.borrowMessageBuf()
		ev.msg = (*ev.msgBuf)[:0]
	}
	b, err := c.readPayload(ev.msg)
	switch err {
	case errWouldBlock:
		ev.msg = b
		return false
	case io.EOF:
		ev.msg = nil // the handler owns the message, or borrows it
		// Once a close frame went either way, messages are discarded, as
		// the blocking reader does (advance).
		if ev.h.OnMessage != nil && c.State() == StateOpen {
			ev.h.OnMessage(t, b)
		}
	default:
		ev.msg = nil
		ev.ended(err)
	}
	giveBack(ev.msgBuf, b)
	ev.msgBuf = nil
	return true
}

// ended records what ended the connection, the first cause.
func (ev *evConn) ended(err error) {
	if ev.endErr == nil {
		ev.endErr = err
	}
}

// closedElsewhere hands a connection closed by another goroutine (a failed write,
// the close timer) to a worker, which ends it in the loop. Edge-triggered,
// epoll may have reported the shutdown already, to a worker that found
// the connection not yet closed and let it go idle: nothing would report
// it again.
func (ev *evConn) closedElsewhere() { ev.schedule(evEnded) }

// beginDrain makes the loop read for the peer's close frame, after this
// side's went (failWith).
func (ev *evConn) beginDrain() { ev.draining = true }

// drain reads for the peer's close frame after this side's went, as
// drainUntilClose does without waiting, and reports whether there is more
// to do now.
func (ev *evConn) drain() bool {
	c := ev.c
	if !ev.lost {
		switch c.drainBuffered() {
		case drainDone:
			c.finishClose()
			return false
		case drainLost:
			ev.lost = true
			if c.role == frame.RoleServer {
				c.closeWrite()
			}
		case drainWithin:
			if ev.deadline.Load() == 0 {
				ev.deadline.Store(time.Now().Add(drainPause).UnixNano())
			}
		case drainBetween:
			ev.deadline.Store(0)
		}
	}
	if ev.lost {
		c.in.consume(c.in.buffered())
	}
	before := c.in.buffered()
	err := c.readMore(c.in.buffered() + 1)
	switch {
	case err == errWouldBlock:
		return false
	case err != nil:
		c.finishClose() // the end of the stream: everything was read
		return false
	}
	if c.in.buffered() > before {
		ev.deadline.Store(0) // the frame goes on
	}
	return true
}

// uncork ends the cork a worker holds while it handles input, and flushes.
func (ev *evConn) uncork() {
	c := ev.c
	if c.w.corks.Add(-1) == 0 && c.w.corked.Load() {
		c.flushCorkedNow()
	}
	if c.ka != nil && !ev.draining {
		ev.deadline.Store(c.ka.next().UnixNano())
	}
}

// admit refuses a frame when more than MaxPending bytes wait already: a
// message larger than that is taken whole, but nothing after it until the
// peer has read enough.
func (ev *evConn) admit(pending int) error {
	if pending > ev.l.l.opts.MaxPending {
		return ErrSlowPeer
	}
	return nil
}

// writable sends the output that waited for the socket.
func (ev *evConn) writable() {
	c := ev.c
	if !c.w.frameLock.tryAcquire() {
		return // the writer holding it flushes
	}
	// Edge-triggered, epoll says writable with every event, output or not.
	if len(c.w.out) > 0 {
		_ = ev.flush()
	}
	c.w.frameLock.release()
}

// flush sends the output buffer, under the frame lock, without waiting:
// what the socket does not take stays, in order, until it is writable.
func (ev *evConn) flush() error {
	c := ev.c
	n, err := ev.writeSome(c.w.out)
	if err != nil {
		c.releaseOut()
		return c.fail(abnormal(err))
	}
	if n == len(c.w.out) {
		c.releaseOut()
		ev.outSince.Store(0)
		return nil
	}
	// The socket is full: epoll reports it writable once it has room
	// again (the write that found it full arms that report), and a worker
	// sends the rest then (writable).
	c.w.out = c.w.out[n:] // moved to the front when room is needed (outRoom)
	ev.outSince.CompareAndSwap(0, time.Now().UnixNano())
	return nil
}

// flushWith sends the output buffer and then p as flush does, in one
// writev: what the socket does not take of either stays in the output
// buffer, in order, p's part copied, until the socket is writable.
func (ev *evConn) flushWith(p []byte) error {
	c := ev.c
	n, err := ev.writevSome(c.w.out, p)
	if err != nil {
		c.releaseOut()
		return c.fail(abnormal(err))
	}
	if n == len(c.w.out)+len(p) {
		c.releaseOut()
		ev.outSince.Store(0)
		return nil
	}
	c.keepOutput(n, p)
	ev.outSince.CompareAndSwap(0, time.Now().UnixNano())
	return nil
}

// writevSome writes a, then b, in one system call as far as the socket
// takes them now, and returns how many bytes it wrote in all.
func (ev *evConn) writevSome(a, b []byte) (int, error) {
	done := 0
	for done < len(a)+len(b) {
		var n int
		var err error
		if done < len(a) && len(b) > 0 {
			iov := [2][]byte{a[done:], b}
			n, err = unix.Writev(int(ev.fd), iov[:])
		} else if done < len(a) {
			n, err = unix.Write(int(ev.fd), a[done:])
		} else {
			n, err = unix.Write(int(ev.fd), b[done-len(a):])
		}
		if n > 0 {
			done += n
		}
		switch err {
		case nil:
		case unix.EINTR:
		case unix.EAGAIN:
			return done, nil
		default:
			return done, os.NewSyscallError("write", err)
		}
	}
	return done, nil
}

// timer handles a deadline the loop's timer found passed: a stalled
// drain, output that waits too long, keepalive.
func (ev *evConn) timer() {
	c := ev.c
	now := time.Now()
	if since := ev.outSince.Load(); since != 0 && c.cfg.writeTimeout > 0 && now.Sub(time.Unix(0, since)) > c.cfg.writeTimeout {
		ev.ended(c.fail(abnormal(ErrSlowPeer)))
		return
	}
	if d := ev.deadline.Load(); d == 0 || now.UnixNano() < d {
		return
	}
	if !c.r.lock.tryAcquire() {
		return
	}
	defer c.unlockRead()
	if ev.draining {
		if c.drainBuffered() == drainWithin {
			c.finishClose() // the peer stopped within a frame
		}
		return
	}
	if c.ka == nil || c.State() != StateOpen {
		ev.deadline.Store(0)
		return
	}
	action, next := c.ka.due(now)
	switch action {
	case keepaliveDead:
		ev.ended(c.failWith(frame.CloseGoingAway, "keepalive timeout", errKeepalive, false))
		return
	case keepalivePing:
		_ = c.writeControl(c.r.ctx, frame.OpPing, nil) // never waits for the socket
	}
	ev.deadline.Store(next.UnixNano())
}

// finish ends a closed connection in the loop: its descriptor is closed,
// once no writer holds it, and the handler hears of the end.
func (ev *evConn) finish() {
	c := ev.c
	ev.mu.Lock()
	if ev.done {
		ev.mu.Unlock()
		return
	}
	ev.done = true
	ev.mu.Unlock()
	if c.w.frameLock.acquire(nil, nil) {
		ev.l.remove(ev)
		_ = unix.Close(int(ev.fd))
		c.releaseOut()
		c.w.frameLock.release()
	}
	err := ev.endErr
	if err == nil {
		err = c.loadErr()
	}
	if err == nil {
		err = ErrClosed
	}
	e, failure := closeEvent(err)
	if failure != nil && ev.h.OnError != nil {
		ev.h.OnError(failure)
	}
	if ev.h.OnClose != nil {
		ev.h.OnClose(e)
	}
	ev.l.active.Done()
}
