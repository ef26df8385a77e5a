// Command gws is the harness's echo server for lxzan/gws: its own Server on
// a raw listener (no net/http) and its event API, echoing each message from
// OnMessage and returning the pooled buffer with Message.Close.
package main

import (
	"net"

	"github.com/lxzan/gws"

	"duplex/bench/internal/serve"
)

type handler struct{ gws.BuiltinEventHandler }

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func main() {
	serve.Main("gws", func(ln net.Listener) error {
		return gws.NewServer(handler{}, nil).RunListener(ln)
	})
}
