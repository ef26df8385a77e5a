// Command gorilla is the harness's echo server for gorilla/websocket: an
// Upgrader with its default 4 KiB buffers behind net/http, then NextReader
// into a reused buffer and WriteMessage back (one frame, header and payload
// in one write).
//
// With -broadcast it serves the broadcast row instead: every connection
// joins one room, and a message is sent to all of them (serve.Room's
// protocol) as one websocket.PreparedMessage written to each with
// WritePreparedMessage, from the goroutine that read it; gorilla allows one
// writer at a time per connection, so each member has a lock. With
// -deflate the Upgrader enables compression, which gorilla always
// negotiates without context takeover, at its default level, 1.
package main

import (
	"flag"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"

	"duplex/bench/internal/serve"
)

var upgrader websocket.Upgrader

func main() {
	broadcast := flag.Bool("broadcast", false, "send every message to every connection instead of echoing it")
	deflate := flag.Bool("deflate", false, "negotiate permessage-deflate (no context takeover, level 1)")
	serve.Main("gorilla", func(ln net.Listener) error {
		upgrader.EnableCompression = *deflate
		if *broadcast {
			return serve.HTTP(ln, http.HandlerFunc(roomMember))
		}
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

// member is a connection of the room, with the lock that keeps its writers
// one at a time.
type member struct {
	c  *websocket.Conn
	mu sync.Mutex
}

func (m *member) write(t int, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c.WriteMessage(t, b)
}

func (m *member) writePrepared(pm *websocket.PreparedMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c.WritePreparedMessage(pm)
}

var room serve.Room[*member]

func roomMember(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	m := &member{c: c}
	room.Join(m)
	defer func() {
		room.Leave(m)
		c.Close()
	}()
	var buf []byte
	for {
		t, rd, err := c.NextReader()
		if err != nil {
			return
		}
		if buf, err = serve.ReadAll(rd, buf); err != nil {
			return
		}
		if serve.IsMembersQuery(t == websocket.TextMessage, buf) {
			err = m.write(websocket.TextMessage, serve.MembersReply(room.Len()))
		} else {
			err = broadcast(t, buf)
		}
		if err != nil {
			return
		}
	}
}

// broadcast sends b to every member, prepared once. A member whose write
// fails is left to its reader, which sees the connection end.
func broadcast(t int, b []byte) error {
	pm, err := websocket.NewPreparedMessage(t, b)
	if err != nil {
		return err
	}
	room.Each(func(m *member) { _ = m.writePrepared(pm) })
	return nil
}
