// Command gorilla is the harness's echo server for gorilla/websocket: an
// Upgrader with its default 4 KiB buffers behind net/http, then NextReader
// into a reused buffer and WriteMessage back (one frame, header and payload
// in one write).
package main

import (
	"net"
	"net/http"

	"github.com/gorilla/websocket"

	"duplex/bench/internal/serve"
)

var upgrader websocket.Upgrader

func main() {
	serve.Main("gorilla", func(ln net.Listener) error {
		return serve.HTTP(ln, http.HandlerFunc(echo))
	})
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	var buf []byte
	for {
		t, rd, err := c.NextReader()
		if err != nil {
			return
		}
		if buf, err = serve.ReadAll(rd, buf); err != nil {
			return
		}
		if err := c.WriteMessage(t, buf); err != nil {
			return
		}
	}
}
