package conn

import (
	"math/bits"
	"sync"
)

// Buffers are pooled by size class, powers of two from 256 bytes to
// 1 MiB, so that connections with the same sizes share them. A buffer is
// taken for a read or a write and given back once empty: idle connections
// hold none.
const (
	minBufShift = 8
	maxBufShift = 20
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// bufClass returns the pool class of a buffer of at least size bytes, and
// that class's size, or -1 for sizes over the largest class.
func bufClass(size int) (int, int) {
	shift := max(bits.Len(uint(size-1)), minBufShift)
	if shift > maxBufShift {
		return -1, size
	}
	return shift - minBufShift, 1 << shift
}

// bufSize rounds a buffer size up to its class.
func bufSize(size int) int {
	_, n := bufClass(size)
	return n
}

// getBuf returns a buffer of bufSize(size) bytes.
func getBuf(size int) *[]byte {
	i, n := bufClass(size)
	if i >= 0 {
		if bp, ok := bufPools[i].Get().(*[]byte); ok {
			return bp
		}
	}
	b := make([]byte, n)
	return &b
}

// putBuf gives a buffer from getBuf back; nil is no buffer.
func putBuf(bp *[]byte) {
	if bp == nil {
		return
	}
	if i, n := bufClass(len(*bp)); i >= 0 && n == len(*bp) {
		bufPools[i].Put(bp)
	}
}
