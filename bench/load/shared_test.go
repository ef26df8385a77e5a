package main

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sharedSize = 64 << 10

// TestSharedFrames reads what a client in shared mode writes, one
// message at a time and in a burst, as a server does: every frame is a
// final binary frame of the size asked, masked, its payload the
// connection's pattern behind its own sequence number.
func TestSharedFrames(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := newClient(7, a, bufio.NewReader(a), sharedSize, 4, false)
	require.True(t, c.shared)
	done := make(chan error, 1)
	go func() {
		defer a.Close()
		for range 2 {
			if err := c.send(0, 4); err != nil {
				done <- err
				return
			}
		}
		done <- c.sendBurst(0, 4, 3)
	}()
	want := make([]byte, sharedSize)
	fill(want, 7, 0)
	br := bufio.NewReader(b)
	for seq := range uint64(5) {
		op, p, err := readClientFrame(br)
		require.NoError(t, err, "message %d", seq)
		assert.Equal(t, opBinary, op)
		require.Len(t, p, sharedSize)
		want[0] = byte(seq) // the sequence number, little-endian, below 256
		assert.True(t, bytes.Equal(want, p), "message %d differs at byte %d", seq, firstDiff(p, want))
	}
	require.NoError(t, <-done)
	assert.Equal(t, uint64(5), c.nextSend)
}

// pipeEcho runs the fake server's echo, without a handshake, on the far
// end of a client's connection until the client closes it.
func pipeEcho(t *testing.T, f fault, nc net.Conn) {
	t.Helper()
	s := &fakeServer{fault: f}
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.loop(nc, bufio.NewReader(nc)) })
	t.Cleanup(func() {
		nc.Close()
		wg.Wait()
	})
}

// echoes sends and receives messages through c, window at a time, and
// returns the first error.
func echoes(c *client, window, rounds int) error {
	for range rounds {
		if err := c.sendBurst(0, window, window); err != nil {
			return err
		}
		for range window {
			seq, err := c.receive()
			if err != nil {
				return err
			}
			if seq != c.nextRecv-1 {
				return errEcho
			}
		}
	}
	return nil
}

// TestSharedDropsInKernel checks that over TCP the payload past the
// sequence number is dropped in the kernel, where the system can, and that
// the sequence numbers still come through, whole or split over fragments.
func TestSharedDropsInKernel(t *testing.T) {
	for _, f := range []fault{faultNone, faultFragment, faultSplitSeq} {
		s := startFake(t, f)
		d := dialConfig{addr: s.addr(), timeout: 5e9, bufSize: 4096}
		nc, br, err := d.dial(0)
		require.NoError(t, err)
		c := newClient(0, nc, br, sharedSize, 4, false)
		require.NoError(t, echoes(c, 4, 5), "fault %d", f)
		assert.Equal(t, uint64(20), c.nextRecv)
		if kernelDrop {
			// At least the messages' last fragments past the reader's
			// 4 KiB buffer.
			assert.Greater(t, c.drop.dropped, uint64(20*(sharedSize/3-4096)), "fault %d", f)
			assert.Nil(t, c.scratch, "fault %d: nothing read to drop it", f)
		} else {
			assert.Zero(t, c.drop.dropped)
		}
		nc.Close()
	}
}

// TestSharedFallsBack checks the shared mode on a connection that is not
// a socket, where the payload is read into a scratch buffer to be dropped,
// and that a wrong sequence number is still caught there. A net.Pipe
// holds no bytes, so one message at a time is in flight.
func TestSharedFallsBack(t *testing.T) {
	a, b := net.Pipe()
	pipeEcho(t, faultFragment, b)
	c := newClient(0, a, bufio.NewReaderSize(a, 4096), sharedSize, 1, false)
	require.NoError(t, echoes(c, 1, 3))
	assert.Zero(t, c.drop.dropped)
	assert.NotNil(t, c.scratch)
	a.Close()

	a, b = net.Pipe()
	pipeEcho(t, faultSeq, b)
	c = newClient(0, a, bufio.NewReaderSize(a, 4096), sharedSize, 1, false)
	require.ErrorIs(t, echoes(c, 1, corruptSeq+1), errEcho)
	assert.Equal(t, uint64(corruptSeq), c.nextRecv, "messages before the wrong one pass")
	a.Close()
}

// TestSharedFallsBackOnRefusal runs the shared mode over a Unix socket,
// which has a descriptor but refuses MSG_TRUNC on Linux (it would copy into
// the NULL buffer, and fails with EFAULT before taking a byte): the client
// must then read what it drops, and lose no byte of the stream on the way.
func TestSharedFallsBackOnRefusal(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	a, err := net.Dial("unix", ln.Addr().String())
	require.NoError(t, err)
	defer a.Close()
	b := <-accepted
	require.NotNil(t, b)
	pipeEcho(t, faultSplitSeq, b)
	c := newClient(0, a, bufio.NewReaderSize(a, 4096), sharedSize, 1, false)
	require.NoError(t, echoes(c, 1, 5))
	assert.Zero(t, c.drop.dropped)
	assert.NotNil(t, c.scratch, "the bytes were read to be dropped")
}
