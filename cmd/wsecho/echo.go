package main

import (
	"context"
	"io"
	"sync"
	"time"

	"duplex/conn"
	"duplex/frame"
)

const (
	// defaultReadLimit takes the Autobahn suite's largest messages (16 MiB)
	// with room.
	defaultReadLimit = 64 << 20

	// copyBufferSize is the size of the buffer an echo streams through, and
	// of the fragments it sends: large messages leave in few frames.
	copyBufferSize = 32 << 10
)

// settings are what the flags set for the connections of both modes, and
// for the server's HTTP connections.
type settings struct {
	// compress says whether to negotiate permessage-deflate.
	compress     bool
	readLimit    int64
	pingInterval time.Duration
	pongTimeout  time.Duration
	// writeTimeout bounds every write of a connection, and net/http's
	// response to a request that is not upgraded.
	writeTimeout time.Duration
	// idleTimeout bounds the wait of a keep-alive HTTP connection for its
	// next request.
	idleTimeout time.Duration
	// event serves the connections readiness-driven, with a conn.Loop.
	event bool
}

// defaultSettings are the flags' defaults. The write timeout is long for
// one write on loopback, where the conformance suites run, yet frees a
// connection whose peer stopped reading; keepalive is off, as a test
// server's peers are expected to come and go.
func defaultSettings() settings {
	return settings{
		compress:     true,
		readLimit:    defaultReadLimit,
		writeTimeout: 10 * time.Second,
		idleTimeout:  time.Minute,
	}
}

// connOptions are the connection options of both modes. With compression,
// every parameter a peer offers or accepts is honoured (RFC 7692), and every
// echoed message is compressed, however small, at the fastest level: the
// conformance suites send thousands of messages of up to 128 KiB, where
// speed matters more than size.
func (s settings) connOptions() conn.Options {
	o := conn.Options{
		ReadLimit:    s.readLimit,
		FragmentSize: copyBufferSize,
		PingInterval: s.pingInterval,
		PongTimeout:  s.pongTimeout,
		WriteTimeout: s.writeTimeout,
	}
	if s.compress {
		o.Compression = &conn.CompressionOptions{Threshold: -1, Level: 1}
	}
	return o
}

// copyBuffers hold the buffers messages are streamed through, borrowed for
// one message: an idle connection holds none.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}

// echo sends every message read from c back unchanged, with its type, until
// the connection ends, and returns the error that ended it (a conn.CloseError
// after a closing handshake). Messages are streamed through a borrowed
// buffer, so memory stays bounded by the buffer, not the message size, and
// the reader's incremental UTF-8 check fails a bad text message while it
// arrives.
//
// When ctx ends, c is closed with 1001 (going away); the loop then reads on
// until the peer's reply, so the closing handshake completes.
func echo(ctx context.Context, c *conn.Conn) error {
	defer goAwayOnDone(ctx, c)()
	// A context ending mid-frame would fail the connection; reads and writes
	// run without it so that shutdown goes through the closing handshake.
	ioCtx := context.WithoutCancel(ctx)
	for {
		t, r, err := c.NextReader(ioCtx)
		if err != nil {
			return err
		}
		w, err := c.NextWriter(ioCtx, t)
		if err != nil {
			return err
		}
		bp := copyBuffers.Get().(*[]byte)
		_, err = io.CopyBuffer(w, r, *bp)
		copyBuffers.Put(bp)
		if err != nil {
			// The read side failed the connection (or the write did): the
			// partial message must not be finished with a final frame.
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
}

// goAwayOnDone arranges for c to be closed with 1001 when ctx ends. The
// returned func cancels that and, if the close already started, waits for it,
// so no goroutine outlives the connection's owner.
func goAwayOnDone(ctx context.Context, c *conn.Conn) (release func()) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = c.Close(frame.CloseGoingAway, "")
	})
	return func() {
		if !stop() {
			<-done
		}
	}
}
