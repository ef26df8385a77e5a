//go:build !linux

package conn

import "syscall"

// canReadAhead says readv fills both buffers: not here.
const canReadAhead = false

// readv reads from fd into p; q, which the Linux build fills in the same
// system call, stays empty here.
func readv(fd int, p, _ []byte) (int, error) { return syscall.Read(fd, p) }
