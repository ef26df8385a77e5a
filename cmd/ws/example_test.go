package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"duplex/conn"
)

// A pipe into ws: each line goes out as a message, each reply comes back as
// a line. The server here answers in capitals.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.ReadMessage(context.Background())
			if err != nil {
				return
			}
			_ = c.WriteMessage(context.Background(), typ, bytes.ToUpper(b))
		}
	}))
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	code := run(context.Background(), []string{url}, strings.NewReader("hello\nworld\n"), os.Stdout, os.Stderr)
	fmt.Println("exit status", code)
	// Output:
	// HELLO
	// WORLD
	// exit status 0
}
