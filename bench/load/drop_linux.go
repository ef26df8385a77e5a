//go:build linux && (amd64 || arm64)

package main

import (
	"io"
	"net"
	"syscall"
)

// kernelDrop says whether this system drops a TCP connection's bytes in
// the kernel.
const kernelDrop = true

// dropper drops bytes that a TCP connection has received without copying
// them out of the kernel: tcp(7) says of recv's MSG_TRUNC flag that it
// "will cause the received bytes of data to be discarded, rather than
// passed back in a caller-supplied buffer" (since Linux 2.4).
type dropper struct {
	raw     syscall.RawConn // nil when the connection is not a socket, or refused the flag
	dropped uint64          // bytes dropped in the kernel
}

func newDropper(nc net.Conn) dropper {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return dropper{}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return dropper{}
	}
	return dropper{raw: raw}
}

// kernel drops up to m bytes in the kernel, waiting (within the
// connection's read deadline) until some have arrived, and returns how
// many it dropped: 0 with no error when it cannot, and the caller must read
// them instead.
func (d *dropper) kernel(m int) (int, error) {
	if d.raw == nil {
		return 0, nil
	}
	var (
		n     uintptr
		errno syscall.Errno
	)
	err := d.raw.Read(func(fd uintptr) bool {
		for {
			// The buffer is NULL: with MSG_TRUNC a TCP socket copies
			// nothing into it, and a socket that would copy (a Unix
			// one does) fails with EFAULT before taking a byte.
			n, _, errno = syscall.Syscall6(syscall.SYS_RECVFROM, fd, 0, uintptr(m),
				syscall.MSG_TRUNC|syscall.MSG_DONTWAIT, 0, 0)
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil: // a deadline passed or the connection closed
		return 0, err
	case errno != 0:
		// Read the bytes instead, from now on: a real error on the
		// connection comes back from that read.
		d.raw = nil
		return 0, nil
	case n == 0:
		return 0, io.ErrUnexpectedEOF
	}
	d.dropped += uint64(n)
	return int(n), nil
}
