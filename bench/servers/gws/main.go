// Command gws is the harness's echo server for lxzan/gws: its own Server on
// a raw listener (no net/http) and its event API, echoing each message from
// OnMessage and returning the pooled buffer with Message.Close.
//
// With -broadcast it serves the broadcast row instead: every connection
// joins one room (OnOpen, OnClose), and a message is sent to all of them
// (serve.Room's protocol) through one gws.Broadcaster, gws's documented way,
// which compresses once and queues the frame on each connection's write
// queue. With -deflate it negotiates permessage-deflate without context
// takeover either way, at level 1 (gws's default).
package main

import (
	"bytes"
	"compress/flate"
	"flag"
	"net"

	"github.com/lxzan/gws"

	"duplex/bench/internal/serve"
)

type handler struct{ gws.BuiltinEventHandler }

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

var room serve.Room[*gws.Conn]

type roomHandler struct{ gws.BuiltinEventHandler }

func (roomHandler) OnOpen(c *gws.Conn) { room.Join(c) }

func (roomHandler) OnClose(c *gws.Conn, _ error) { room.Leave(c) }

func (roomHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if serve.IsMembersQuery(m.Opcode == gws.OpcodeText, m.Bytes()) {
		_ = c.WriteMessage(gws.OpcodeText, serve.MembersReply(room.Len()))
		return
	}
	// The broadcaster keeps the payload until its last queued write, past
	// m.Close, which gives the buffer back to gws's pool.
	b := gws.NewBroadcaster(m.Opcode, bytes.Clone(m.Bytes()))
	defer b.Close()
	room.Each(func(member *gws.Conn) { _ = b.Broadcast(member) })
}

func main() {
	broadcast := flag.Bool("broadcast", false, "send every message to every connection instead of echoing it")
	deflate := flag.Bool("deflate", false, "negotiate permessage-deflate, no context takeover, level 1")
	serve.Main("gws", func(ln net.Listener) error {
		var opt gws.ServerOption
		if *deflate {
			opt.PermessageDeflate = gws.PermessageDeflate{Enabled: true, Level: flate.BestSpeed}
		}
		var h gws.Event = handler{}
		if *broadcast {
			h = roomHandler{}
		}
		return gws.NewServer(h, &opt).RunListener(ln)
	})
}
