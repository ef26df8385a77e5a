// Command duplex is the harness's echo server for duplex: conn.Accept on a
// raw listener (no net/http), no compression. With -mode=goroutine (the
// default) each connection has a goroutine that reads with NextReader into
// a buffer borrowed for the message and writes it back with WriteMessage,
// the allocation-free path conn documents; an idle connection keeps no
// buffer. With -mode=loop the connections are served readiness-driven by a
// conn.Loop, which lends each message to a callback that writes it back
// (Handler.BorrowMessages: no allocation per message either).
//
// With -broadcast it serves the broadcast row instead: every connection
// joins one room, and a message is sent to all of them (serve.Room's
// protocol), prepared once with conn.NewPreparedMessage and written to each
// with WritePrepared, from the goroutine (or the loop's callback) that read
// it. With -deflate it negotiates permessage-deflate without context
// takeover either way at level 1, so that a prepared message is compressed
// once for every connection.
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
	broadcast := flag.Bool("broadcast", false, "send every message to every connection instead of echoing it")
	deflate := flag.Bool("deflate", false, "negotiate permessage-deflate, no context takeover, level 1")
	serve.Main("duplex", func(ln net.Listener) error { return run(ln, *mode, *broadcast, *deflate) })
}

// run serves ln until it is closed.
func run(ln net.Listener, mode string, broadcast, deflate bool) error {
	var opts conn.AcceptOptions
	if deflate {
		// The broadcast row's parameters, the same for every server.
		opts.Compression = &conn.CompressionOptions{Level: 1, NoContextTakeover: true, PeerNoContextTakeover: true}
	}
	var room broadcastRoom
	switch mode {
	case "goroutine":
		if broadcast {
			return acceptAll(ln, &opts, room.goroutine)
		}
		return acceptAll(ln, &opts, goroutine)
	case "loop":
		l, err := conn.NewLoop(nil)
		if err != nil {
			return err
		}
		defer l.Close()
		if broadcast {
			return acceptPool(ln, &opts, func(c *conn.Conn) { room.inLoop(l, c) })
		}
		return acceptPool(ln, &opts, func(c *conn.Conn) { inLoop(l, c) })
	}
	return fmt.Errorf("unknown -mode %q", mode)
}

// acceptAll runs the opening handshake of every connection on ln, each on a
// goroutine, and hands the open connection to serve.
func acceptAll(ln net.Listener, opts *conn.AcceptOptions, serve func(*conn.Conn)) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			c, err := conn.Accept(context.Background(), nc, opts)
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
func acceptPool(ln net.Listener, opts *conn.AcceptOptions, serve func(*conn.Conn)) error {
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
				c, err := conn.Accept(context.Background(), nc, opts)
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

// broadcastRoom is the broadcast mode's one room.
type broadcastRoom struct{ serve.Room[*conn.Conn] }

// handle answers the members query or sends b to every member, prepared
// once. A member whose write fails is left to its reader, which sees the
// connection end and takes it out of the room.
func (r *broadcastRoom) handle(c *conn.Conn, t conn.MessageType, b []byte) error {
	ctx := context.Background()
	if serve.IsMembersQuery(t == conn.MessageText, b) {
		return c.WriteMessage(ctx, conn.MessageText, serve.MembersReply(r.Len()))
	}
	pm, err := conn.NewPreparedMessage(t, b)
	if err != nil {
		return err
	}
	r.Each(func(m *conn.Conn) { _ = m.WritePrepared(ctx, pm) })
	return nil
}

func (r *broadcastRoom) goroutine(c *conn.Conn) {
	ctx := context.Background()
	r.Join(c)
	defer func() {
		r.Leave(c)
		c.CloseNow()
	}()
	for {
		t, rd, err := c.NextReader(ctx)
		if err != nil {
			return
		}
		bp := buffers.Get().(*[]byte)
		*bp, err = serve.ReadAll(rd, *bp)
		if err == nil {
			err = r.handle(c, t, *bp)
		}
		buffers.Put(bp)
		if err != nil {
			return
		}
	}
}

func (r *broadcastRoom) inLoop(l *conn.Loop, c *conn.Conn) {
	_ = l.Serve(c, conn.Handler{
		BorrowMessages: true,
		OnOpen:         func() { r.Join(c) },
		OnMessage:      func(t conn.MessageType, b []byte) { _ = r.handle(c, t, b) },
		OnClose:        func(conn.CloseEvent) { r.Leave(c) },
	})
}
