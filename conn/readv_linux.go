//go:build linux

package conn

import "golang.org/x/sys/unix"

// canReadAhead says readv fills both buffers.
const canReadAhead = true

// readv reads from fd into p, then q, in one system call, and returns how
// many bytes it read in all.
func readv(fd int, p, q []byte) (int, error) {
	if len(q) == 0 {
		return unix.Read(fd, p)
	}
	iov := [2][]byte{p, q}
	return unix.Readv(fd, iov[:])
}
