package conn_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"duplex/conn"
	"duplex/frame"
)

// echoUntilClosed sends every message back until the connection closes.
func echoUntilClosed(c *conn.Conn) {
	ctx := context.Background()
	for {
		t, b, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, t, b); err != nil {
			return
		}
	}
}

// sayHello dials url, sends one text message and prints the reply.
func sayHello(url string) {
	ctx := context.Background()
	c, _, err := conn.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()
	if err := c.WriteMessage(ctx, conn.MessageText, []byte("hello")); err != nil {
		fmt.Println("write:", err)
		return
	}
	t, reply, err := c.ReadMessage(ctx)
	if err != nil {
		fmt.Println("read:", err)
		return
	}
	fmt.Printf("%s: %s\n", t, reply)
	_ = c.Close(frame.CloseNormal, "")
}

// A net/http server upgrades requests with Upgrade.
func ExampleUpgrade() {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request with the error's status
		}
		defer close(done)
		defer c.CloseNow()
		echoUntilClosed(c)
	}))
	defer srv.Close()

	sayHello("ws" + strings.TrimPrefix(srv.URL, "http"))
	<-done
	// Output: text: hello
}

// A server on a plain net.Listener runs the handshake with Accept.
func ExampleAccept() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c, err := conn.Accept(context.Background(), nc, nil)
		if err != nil {
			return // Accept has closed nc
		}
		defer c.CloseNow()
		echoUntilClosed(c)
	}()

	sayHello("ws://" + ln.Addr().String() + "/")
	<-done
	// Output: text: hello
}

// startEchoServer starts an echo server on loopback. stop closes it after
// the connection it served ended (waiting a bounded time, should none come).
func startEchoServer() (url string, stop func()) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer close(done)
		defer c.CloseNow()
		echoUntilClosed(c)
	}))
	return "ws" + strings.TrimPrefix(srv.URL, "http"), func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		srv.Close()
	}
}

// Dial connects to a WebSocket server; here an echo server on loopback.
func ExampleDial() {
	url, stop := startEchoServer()
	defer stop()

	ctx := context.Background()
	c, resp, err := conn.Dial(ctx, url+"/echo", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	fmt.Println("status:", resp.StatusCode)
	if err := c.WriteMessage(ctx, conn.MessageBinary, []byte{1, 2, 3}); err != nil {
		fmt.Println(err)
		return
	}
	t, reply, err := c.ReadMessage(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t, reply)
	_ = c.Close(frame.CloseNormal, "")
	// Output:
	// status: 101
	// binary [1 2 3]
}

// Serve turns the connection into events, as in a browser.
func ExampleServe() {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer close(done)
		ctx := context.Background()
		_ = conn.Serve(ctx, c, conn.Handler{
			OnMessage: func(t conn.MessageType, b []byte) {
				_ = c.WriteMessage(ctx, t, []byte(strings.ToUpper(string(b))))
			},
			OnClose: func(e conn.CloseEvent) {
				fmt.Println("server saw close:", e.Code, e.WasClean)
			},
		})
	}))
	defer srv.Close()

	sayHello("ws" + strings.TrimPrefix(srv.URL, "http"))
	<-done
	// Output:
	// text: HELLO
	// server saw close: 1000 (normal closure) true
}
