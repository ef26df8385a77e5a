// Command nbio is the harness's echo server for lesismal/nbio: an nbhttp
// Engine (epoll, no goroutine per connection) with its websocket Upgrader,
// echoing from OnMessage with the payload buffer released after each call.
// It serves the idle row, where readiness-driven servers hold the least
// memory per connection.
package main

import (
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"duplex/bench/internal/serve"
)

func main() {
	serve.Main("nbio", func(ln net.Listener) error {
		u := websocket.NewUpgrader()
		u.OnMessage(func(c *websocket.Conn, t websocket.MessageType, b []byte) {
			_ = c.WriteMessage(t, b)
		})
		engine := nbhttp.NewEngine(nbhttp.Config{
			Network: "tcp",
			Addrs:   []string{ln.Addr().String()},
			// The engine listens through this hook: hand it the listener
			// serve.Main opened and announced.
			Listen: func(string, string) (net.Listener, error) { return ln, nil },
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = u.Upgrade(w, r, nil)
			}),
			ReleaseWebsocketPayload: true,
		})
		if err := engine.Start(); err != nil {
			return err
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
		engine.Stop()
		return nil
	})
}
