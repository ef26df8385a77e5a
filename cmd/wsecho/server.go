package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// shutdownTimeout bounds the graceful shutdown: the closing handshakes of
// the open connections and net/http's own shutdown.
const shutdownTimeout = 10 * time.Second

// echoServer upgrades every request and echoes on the connection.
type echoServer struct {
	log  *slog.Logger
	opts *conn.AcceptOptions
	loop *conn.Loop // with -event

	// ctx ends at shutdown; each connection then closes with 1001.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	shutdown bool
	conns    sync.WaitGroup // echo loops; Add only under mu before shutdown
}

func newEchoServer(log *slog.Logger, set settings) (*echoServer, error) {
	var loop *conn.Loop
	if set.event {
		var err error
		if loop, err = conn.NewLoop(nil); err != nil {
			return nil, err
		}
		if !loop.Readiness() {
			log.Warn("no readiness-driven mode on this system: each connection gets a goroutine")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &echoServer{
		loop: loop,
		log:  log,
		opts: &conn.AcceptOptions{
			// A test server for any client: there are no cookies or other
			// ambient credentials to protect.
			ServerOptions: conn.ServerOptions{InsecureSkipOriginCheck: true},
			Options:       set.connOptions(),
		},
		ctx:    ctx,
		cancel: cancel,
	}, nil
}

// healthPath is the one path that is not upgraded: a plain GET there is
// answered "ok", so that a supervisor, or a test, can check the server
// with plain HTTP.
const healthPath = "/healthz"

// ServeHTTP answers the health check, or upgrades the request on any other
// path and echoes until the connection closes.
func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == healthPath {
		s.serveHealth(w)
		return
	}
	if !s.enter() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.conns.Done()
	c, err := conn.Upgrade(w, r, s.opts)
	if err != nil {
		s.log.Info("handshake refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	log := s.log.With("remote", r.RemoteAddr)
	log.Debug("open", "path", r.URL.Path)
	if s.loop != nil {
		s.serveInLoop(c, log)
		return
	}
	err = echo(s.ctx, c)
	_ = c.CloseNow()
	logEnd(log, err)
}

// serveInLoop hands c to the loop, which echoes each message as it comes;
// the handler's goroutine ends at once.
func (s *echoServer) serveInLoop(c *conn.Conn, log *slog.Logger) {
	s.conns.Add(1)
	err := s.loop.Serve(c, conn.Handler{
		OnMessage: func(t conn.MessageType, b []byte) {
			_ = c.WriteMessage(context.Background(), t, b)
		},
		OnError: func(err error) { logEnd(log, err) },
		OnClose: func(conn.CloseEvent) { s.conns.Done() },
	})
	if err != nil {
		s.conns.Done()
		_ = c.CloseNow()
		log.Info("not served", "err", err)
	}
}

// serveHealth answers "ok", or 503 once shutdown has begun.
func (s *echoServer) serveHealth(w http.ResponseWriter) {
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// logEnd logs how a connection ended: at debug level a closing handshake
// or a protocol violation by the peer (failing is what many Autobahn cases
// expect), at info level anything else, such as a broken stream.
func logEnd(log *slog.Logger, err error) {
	var ce conn.CloseError
	if errors.As(err, &ce) && ce.Code != frame.CloseAbnormal {
		log.Debug("closed", "code", ce.Code, "reason", ce.Reason)
		return
	}
	var pe frame.ProtocolError
	if errors.As(err, &pe) {
		log.Debug("failed", "code", pe.Code, "err", err)
		return
	}
	log.Info("failed", "err", err)
}

// enter registers an echo loop, or reports false once shutdown has begun.
func (s *echoServer) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns.Add(1)
	return true
}

// closeAll starts the closing handshake (1001) on every open connection and
// refuses new ones; wait then waits for the echo loops to end.
func (s *echoServer) closeAll() {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.cancel()
	if s.loop != nil {
		go func() { _ = s.loop.Close() }() // its connections end as Done
	}
}

func (s *echoServer) wait() { s.conns.Wait() }

// runServer serves the echo server on addr until ctx ends, then shuts down
// gracefully.
func runServer(ctx context.Context, log *slog.Logger, set settings, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serve(ctx, log, set, ln)
}

// netHTTPHeadSlack is how many bytes net/http reads beyond
// http.Server.MaxHeaderBytes before it refuses a request head with 431 (its
// "bufio slop", Go 1.26).
const netHTTPHeadSlack = 4096

// maxHeaderBytes makes net/http's limit on a request head the handshake's
// (handshake.DefaultLimits: 8 KiB), so a head over 8 KiB gets the same 431
// on every path; the handshake then also refuses a head of over 64 lines.
var maxHeaderBytes = handshake.DefaultLimits.MaxHeadBytes - netHTTPHeadSlack

// serve serves on ln until ctx ends. net/http does not track hijacked
// connections, so the echo server closes them itself.
func serve(ctx context.Context, log *slog.Logger, set settings, ln net.Listener) error {
	es, err := newEchoServer(log, set)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: es,
		// net/http's deadlines end with the WebSocket handshake, which clears
		// them after the 101 response; the connection then has its own write
		// timeout (and keepalive, if asked for).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       set.idleTimeout,
		WriteTimeout:      set.writeTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(es.closeAll)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", "ws://"+ln.Addr().String())

	select {
	case err := <-errc:
		es.closeAll()
		es.wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	es.closeAll() // RegisterOnShutdown runs it too, in its own goroutine
	es.wait()
	<-errc // http.ErrServerClosed
	return err
}
