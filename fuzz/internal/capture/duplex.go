package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"

	"duplex/conn"
	"duplex/frame"
)

// recConn records what passes through a net.Conn in each direction.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	rx, tx bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.rx.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.tx.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// captureDuplex runs a duplex client against a duplex server over
// loopback TCP and returns both directions as the client saw them.
func captureDuplex(ctx context.Context) (session, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return session{}, err
	}
	defer l.Close()
	srvErr := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		c, err := conn.Accept(ctx, nc, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Subprotocols: []string{"chat"}}})
		if err != nil {
			srvErr <- err
			return
		}
		srvErr <- conn.Serve(ctx, c, conn.Handler{
			OnMessage: func(t conn.MessageType, b []byte) { _ = c.WriteMessage(ctx, t, b) },
		})
	}()

	var rec *recConn
	c, _, err := conn.Dial(ctx, "ws://"+l.Addr().String()+"/chat", &conn.DialOptions{
		ClientOptions: conn.ClientOptions{
			Origin:       "http://" + l.Addr().String(),
			Subprotocols: []string{"chat", "superchat"},
		},
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err == nil {
				rec = &recConn{Conn: nc}
				return rec, nil
			}
			return nil, err
		},
		Options: conn.Options{FragmentSize: 16},
	})
	if err != nil {
		return session{}, err
	}
	for _, m := range []struct {
		t conn.MessageType
		b string
	}{{conn.MessageText, "Hello, κόσμε"}, {conn.MessageBinary, "\x00\x01\x02\xff"}, {conn.MessageText, ""}} {
		if err := c.WriteMessage(ctx, m.t, []byte(m.b)); err != nil {
			return session{}, err
		}
		if _, _, err := c.ReadMessage(ctx); err != nil {
			return session{}, err
		}
	}
	w, err := c.NextWriter(ctx, conn.MessageText)
	if err != nil {
		return session{}, err
	}
	fmt.Fprintf(w, "a message sent in fragments of 16 bytes, %s", bytes.Repeat([]byte("ok "), 10))
	if err := w.Close(); err != nil {
		return session{}, err
	}
	if _, _, err := c.ReadMessage(ctx); err != nil {
		return session{}, err
	}
	if err := c.Ping(ctx, []byte("are you there")); err != nil {
		return session{}, err
	}
	if err := c.Close(frame.CloseNormal, "done"); err != nil {
		return session{}, err
	}
	if err := <-srvErr; err != nil {
		return session{}, fmt.Errorf("server: %w", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var s session
	s.request, s.clientTx, _ = bytes.Cut(rec.tx.Bytes(), []byte("\r\n\r\n"))
	s.request = append(s.request, "\r\n\r\n"...)
	s.response, s.serverTx, _ = bytes.Cut(rec.rx.Bytes(), []byte("\r\n\r\n"))
	s.response = append(s.response, "\r\n\r\n"...)
	return s, nil
}
