// Command duplex is the harness's echo server for duplex: conn.Accept on a
// raw listener (no net/http), no compression. With -mode=goroutine (the
// default) each connection has a goroutine that reads with NextReader into
// a buffer borrowed for the message and writes it back with WriteMessage,
// the allocation-free path conn documents; an idle connection keeps no
// buffer. With -mode=loop the connections are served readiness-driven by a
// conn.Loop, which lends each message to a callback that writes it back
// (Handler.BorrowMessages: no allocation per message either).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"sync"

	"duplex/bench/internal/serve"
	"duplex/conn"
)

func main() {
	mode := flag.String("mode", "goroutine", "goroutine or loop")
	serve.Main("duplex", func(ln net.Listener) error {
		switch *mode {
		case "goroutine":
			return acceptAll(ln, goroutine)
		case "loop":
			l, err := conn.NewLoop(nil)
			if err != nil {
				return err
			}
			defer l.Close()
			return acceptPool(ln, func(c *conn.Conn) { inLoop(l, c) })
		}
		return fmt.Errorf("unknown -mode %q", *mode)
	})
}

// acceptAll runs the opening handshake of every connection on ln, each on a
// goroutine, and hands the open connection to serve.
func acceptAll(ln net.Listener, serve func(*conn.Conn)) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			c, err := conn.Accept(context.Background(), nc, nil)
			if err != nil {
				return
			}
			serve(c)
		}()
	}
}

// acceptPool runs the opening handshakes on a few goroutines, one after
// another on each, as a readiness-driven server does: no goroutine, not
// even a short-lived one, per connection.
func acceptPool(ln net.Listener, serve func(*conn.Conn)) error {
	const acceptors = 4
	errc := make(chan error, acceptors)
	for range acceptors {
		go func() {
			for {
				nc, err := ln.Accept()
				if err != nil {
					errc <- err
					return
				}
				c, err := conn.Accept(context.Background(), nc, nil)
				if err == nil {
					serve(c)
				}
			}
		}()
	}
	return <-errc
}

// buffers hold the buffers messages are read into, for one message each.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

func goroutine(c *conn.Conn) {
	ctx := context.Background()
	defer c.CloseNow()
	for {
		t, r, err := c.NextReader(ctx)
		if err != nil {
			return
		}
		bp := buffers.Get().(*[]byte)
		*bp, err = serve.ReadAll(r, *bp)
		if err == nil {
			err = c.WriteMessage(ctx, t, *bp)
		}
		buffers.Put(bp)
		if err != nil {
			return
		}
	}
}

func inLoop(l *conn.Loop, c *conn.Conn) {
	ctx := context.Background()
	_ = l.Serve(c, conn.Handler{BorrowMessages: true, OnMessage: func(t conn.MessageType, b []byte) {
		_ = c.WriteMessage(ctx, t, b)
	}})
}
