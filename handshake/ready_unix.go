//go:build unix

package handshake

import (
	"net"
	"syscall"
)

// A server handshake on a fresh TCP connection often finds the whole request in the socket
// when it starts, and the 101 response fits the empty send buffer at once: then no read or
// write waits, and the deadline that bounds a wait (two runtime timer updates and a clock
// read) buys nothing. readReady and writeReady do the first read and the write through
// syscall.RawConn, so that Accept sets the deadline only once an operation is to wait.
//
// Only a *net.TCPConn itself qualifies: a type that embeds one to change what Read returns
// (a PROXY protocol header stripped, bytes buffered ahead) still offers SyscallConn, and
// reading its socket underneath would lose what it holds. On the concrete type the calls
// inline and the callbacks stay on the stack, so the fast path allocates nothing.

// pollable reports whether readReady and writeReady can work on c.
func pollable(c net.Conn) bool {
	_, ok := c.(*net.TCPConn)
	return ok
}

// readReady reads into b what c's socket holds, and returns how many bytes it read. When
// the socket holds nothing yet it arms g, whose deadline then bounds the wait, and waits on
// the runtime's poller within the same RawConn.Read: the read a plain Read would try first,
// which would only find the socket empty again, is saved. It returns 0 when c is not
// pollable, and on any error, which the ordinary Read that follows then meets and reports
// (the end of the stream, a deadline that passed, one that could not be set).
func readReady(c net.Conn, b []byte, g *guard) int {
	tc, ok := c.(*net.TCPConn)
	if !ok || len(b) == 0 {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	err = rc.Read(func(fd uintptr) bool {
		var wait bool
		if n, wait = once(syscall.Read, fd, b); !wait {
			return true
		}
		// Returning false parks on the poller until the socket is readable, then calls this
		// again; the deadline must be set first. A poller readiness seen after the read
		// above is not lost: RawConn.Read reset it before its first call, not between.
		return g.arm() != nil
	})
	if err != nil {
		return 0
	}
	return n
}

// writeReady writes to c's socket what of b its send buffer takes at once, without
// waiting, and returns how many bytes it wrote; 0 when c is not pollable, when the buffer
// is full, and on any error, which the ordinary Write that follows then meets. Its first
// lines are readReady's: a helper returning the syscall.RawConn would hide its concrete
// type from the compiler, and the callback would then be allocated.
func writeReady(c net.Conn, b []byte) int {
	tc, ok := c.(*net.TCPConn)
	if !ok || len(b) == 0 {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	// Returning true ends RawConn.Write after one try: false would park on the poller with
	// no deadline set.
	err = rc.Write(func(fd uintptr) bool {
		n, _ = once(syscall.Write, fd, b)
		return true
	})
	if err != nil {
		return 0
	}
	return n
}

// once makes the system call op on fd with b, again if a signal interrupted it, and
// returns the bytes it moved, 0 for none or on an error, and whether the call would have
// waited (EAGAIN).
func once(op func(int, []byte) (int, error), fd uintptr, b []byte) (n int, wait bool) {
	for {
		n, err := op(int(fd), b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, true
		case err != nil || n < 0:
			return 0, false
		}
		return n, false
	}
}
