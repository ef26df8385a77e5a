// Command coder is the harness's echo server for coder/websocket: Accept
// behind net/http, then Reader into a reused buffer and Write back (one
// frame). The read limit is raised from 32 KiB to take the 64 KiB rows.
package main

import (
	"context"
	"net"
	"net/http"

	"github.com/coder/websocket"

	"duplex/bench/internal/serve"
)

// readLimit takes the harness's largest messages (64 KiB) with room.
const readLimit = 1 << 20

func main() {
	serve.Main("coder", func(ln net.Listener) error {
		return serve.HTTP(ln, http.HandlerFunc(echo))
	})
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(readLimit)
	ctx := context.Background()
	var buf []byte
	for {
		t, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		if buf, err = serve.ReadAll(rd, buf); err != nil {
			return
		}
		if err := c.Write(ctx, t, buf); err != nil {
			return
		}
	}
}
