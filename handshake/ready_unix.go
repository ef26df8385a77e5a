//go:build unix

package handshake

import (
	"net"
	"syscall"
)

// A server handshake on a fresh TCP connection usually finds the whole request in the
// socket when it starts, and the 101 response fits the empty send buffer at once: then no
// read or write would wait, and the deadline that bounds a wait (two runtime timer updates
// and a clock read) buys nothing. readReady and writeReady try the one read and the one
// write without waiting, through syscall.RawConn, so that Accept sets the deadline only
// before an operation that may block.
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

// readReady reads into b what c's socket holds already, without waiting, and returns how
// many bytes it read: 0 when none were ready, when c is not pollable, and on any error,
// which the ordinary Read that follows then meets and reports (end of stream included).
func readReady(c net.Conn, b []byte) int { return ready(c, b, false) }

// writeReady writes to c's socket what of b its send buffer takes at once, without
// waiting, and returns how many bytes it wrote; 0 as readReady.
func writeReady(c net.Conn, b []byte) int { return ready(c, b, true) }

func ready(c net.Conn, b []byte, write bool) int {
	tc, ok := c.(*net.TCPConn)
	if !ok || len(b) == 0 {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	// Returning true ends the RawConn call after one try: false would park on the poller
	// until the socket is ready, with no deadline set.
	if write {
		err = rc.Write(func(fd uintptr) bool {
			n = once(syscall.Write, fd, b)
			return true
		})
	} else {
		err = rc.Read(func(fd uintptr) bool {
			n = once(syscall.Read, fd, b)
			return true
		})
	}
	if err != nil {
		return 0
	}
	return n
}

// once makes the system call op on fd with b, again if a signal interrupted it, and
// returns the bytes it moved, 0 for none or on an error (EAGAIN: the call would wait).
func once(op func(int, []byte) (int, error), fd uintptr, b []byte) int {
	for {
		n, err := op(int(fd), b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
}
