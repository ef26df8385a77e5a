// Command duplex is the harness's echo server for duplex: conn.Accept on a
// raw listener (no net/http), then NextReader into a reused buffer and
// WriteMessage back, the path conn documents as allocation-free in steady
// state. No compression is negotiated.
package main

import (
	"context"
	"net"

	"duplex/bench/internal/serve"
	"duplex/conn"
)

func main() {
	serve.Main("duplex", func(ln net.Listener) error {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return err
			}
			go echo(nc)
		}
	})
}

func echo(nc net.Conn) {
	ctx := context.Background()
	c, err := conn.Accept(ctx, nc, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	var buf []byte
	for {
		t, r, err := c.NextReader(ctx)
		if err != nil {
			return
		}
		if buf, err = serve.ReadAll(r, buf); err != nil {
			return
		}
		if err := c.WriteMessage(ctx, t, buf); err != nil {
			return
		}
	}
}
