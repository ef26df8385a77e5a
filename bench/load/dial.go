package main

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"
)

// dialWorkers bounds the handshakes in flight while connections open, so
// that the server's accept queue never overflows.
const dialWorkers = 32

// dialConfig says how to open one connection.
type dialConfig struct {
	addr    string
	timeout time.Duration
	bufSize int
	// deflate offers permessage-deflate, which the server must accept.
	deflate bool
	// source is the local address to dial from, nil for the system's
	// choice.
	source func(i int) net.IP
}

// dial opens connection i and runs the opening handshake on it within the
// timeout, whose deadline it then clears.
func (d dialConfig) dial(i int) (net.Conn, *bufio.Reader, error) {
	dl := net.Dialer{Timeout: d.timeout}
	if d.source != nil {
		dl.LocalAddr = &net.TCPAddr{IP: d.source(i)}
	}
	nc, err := dl.Dial("tcp", d.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("load: conn %d: %w", i, err)
	}
	_ = nc.SetDeadline(time.Now().Add(d.timeout))
	br, err := upgrade(nc, d.addr, d.bufSize, d.deflate)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("load: conn %d: %w", i, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, br, nil
}

// parallel runs fn(i) for i in [0, n) on up to workers goroutines. It
// stops handing out work at the first error, so that a dead server does
// not cost a timeout per connection, and returns that error.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}
