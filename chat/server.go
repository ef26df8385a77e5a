package chat

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sync"

	"duplex/conn"
)

//go:embed web
var webFiles embed.FS

// Server is the chat's HTTP face: it serves the page at "/", the WebSocket endpoint at "/ws", a health
// check at "/healthz" and metrics for Prometheus at "/metrics". It is safe for use by
// many goroutines.
type Server struct {
	hub    *Hub
	accept conn.AcceptOptions
	mux    *http.ServeMux
	conns  sync.WaitGroup // the goroutines running upgraded connections
}

// NewServer returns a server with a new hub configured by cfg (nil: all defaults). cfg is copied.
func NewServer(cfg *Config) *Server {
	c := cfg.withDefaults()
	s := &Server{
		hub: NewHub(cfg), // not &c: defaults applied twice would turn the negative values that mean "none" into defaults
		accept: conn.AcceptOptions{
			ServerOptions: conn.ServerOptions{
				OriginPatterns:          c.OriginPatterns,
				InsecureSkipOriginCheck: c.InsecureSkipOriginCheck,
			},
			// The limit is checked from the frame header, before the payload is read (1009). Keepalive
			// fails a silent client's reads, so the hub removes it from its room like any ended client.
			Options: conn.Options{
				ReadLimit:    c.ReadLimit(),
				PingInterval: c.PingInterval,
				PongTimeout:  c.PongTimeout,
				WriteTimeout: c.WriteTimeout,
			},
		},
		mux: http.NewServeMux(),
	}
	page, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s.mux.Handle("GET /", http.FileServerFS(page))
	s.mux.HandleFunc("GET /ws", s.serveWS)
	// RFC 8441: over HTTP/2 the WebSocket handshake is an extended CONNECT.
	s.mux.HandleFunc("CONNECT /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	return s
}

// Hub returns the server's hub.
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP routes a request to the page, the WebSocket endpoint, the health check or the counters.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path != "/ws" {
		// The page runs no inline script and loads nothing from elsewhere; saying so lets the browser refuse
		// anything injected, a second line behind rendering every user string as text.
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	}
	s.mux.ServeHTTP(w, r)
}

// Shutdown closes every chat connection with 1001 (going away) after delivering what was queued for it,
// as Hub.Shutdown does. Stop the http.Server first, so that no new connection arrives meanwhile.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hub.Shutdown(ctx)
	// A connection upgraded as shutdown began may not have reached the hub yet: the hub refuses it at
	// once, and Shutdown returns once that is done.
	s.conns.Wait()
	return err
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := conn.Upgrade(w, r, &s.accept)
	if err != nil {
		// Upgrade has answered with the HTTP status. The error says why, which matters most for a refused
		// origin: it tells an operator that -origins is missing a host.
		s.hub.log.Info("chat: handshake refused", "err", err, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		return
	}
	// Serve owns c from here: it runs the reader, and returns once both the reader and the writer have
	// ended. It runs on a goroutine of its own so that this handler returns: net/http's goroutine for the
	// connection holds, until then, its 4 KiB read and write buffers and the request, which an idle
	// member would otherwise keep for as long as it stays (8 KiB of its memory).
	remote := remoteIP(r.RemoteAddr)
	s.conns.Add(1)
	if r.ProtoMajor >= 2 {
		// RFC 8441: the WebSocket is this request's stream, which ends when the handler returns; the
		// HTTP/2 connection's buffers are shared by its streams, so serving it here holds nothing more.
		defer s.conns.Done()
		s.hub.Serve(NewSocket(c), remote)
		return
	}
	if s.hub.cfg.Loop != nil {
		defer s.conns.Done()
		s.hub.ServeLoop(s.hub.cfg.Loop, c, remote)
		return
	}
	go func() {
		defer s.conns.Done()
		s.hub.Serve(NewSocket(c), remote)
	}()
}

// remoteIP is the address the per-address limit counts. Forwarding headers are not trusted: they are
// the client's to write.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.hub.shuttingDown() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
		return
	}
	fmt.Fprintln(w, "ok")
}
