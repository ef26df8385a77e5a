// Command chat serves the duplex chat: the browser page, its WebSocket endpoint, a health check and
// counters, from one binary with the page embedded.
//
//	go run ./cmd/chat                # http://localhost:8080
//	go run ./cmd/chat -addr :9000 -allowed-hosts chat.example.com -origins 'chat.example.com' -history 200
//
// `chat -h` lists the flags; chat/README.md describes them with the protocol.
//
// # Where rooms live
//
// By default the command starts a NATS server with JetStream inside the process, storing under -data
// (default $XDG_STATE_HOME/duplex-chat, else ~/.local/state/duplex-chat; created if missing), so a room's
// history, numbering and epoch survive a restart with nothing else installed. -nats URL[,URL...] connects
// to outside NATS servers instead, so that several chat nodes share rooms (-replicas 3 on a three-server
// cluster); -memory keeps rooms in memory only, as they end with the process. -retain-msgs, -retain-bytes
// and -retain-age bound what each room's stream keeps. An ack then means stored in JetStream; a send that
// cannot be stored (NATS unreachable) is refused with "unavailable". Rooms' member lists span the nodes
// through the shared presence (-node names this node in it, unique per node), and a member may resume
// its session on another node. See "Running on NATS" in chat/README.md. On shutdown the presence entries
// are removed, then the NATS connection, and the embedded server, close after the clients.
//
// # Hostile clients
//
// The defaults bound what a client can hold. A request head over 8 KiB gets 431, on every path, and
// one of over 64 lines too on the WebSocket endpoint, as the handshake's limits say; a client has 10
// seconds to send its head and each response must be written within -write-timeout (10 s); a keep-alive
// HTTP connection waiting for its next request is closed after -idle-timeout (1 min). These deadlines of
// net/http end with the WebSocket handshake: an open chat connection has its own write timeout
// (-write-timeout, on every write) and keepalive instead: a client silent for -ping-interval (30 s) is
// pinged and dropped, leaving its room, if nothing arrives within -pong-timeout (by default the interval
// again).
//
// A client that sends too much, too fast or too long a message is refused with an error event it can
// show, and stays connected; only a message over the read limit (1009) or sustained disregard of the
// rate limit (1008) closes it. A member whose connection drops keeps its place for -grace (10 s).
//
// A page from another origin may not connect (403) unless -origins lists it. Against DNS rebinding,
// where a page of the attacker's name is served by this server and passes that check, -allowed-hosts
// lists the Host names the server answers for; any other gets 421. Without it, a server listening on a
// loopback address (the default, localhost:8080) answers for localhost names and loopback addresses only,
// which is all a browser on this machine uses, and a server listening on any other address answers for
// any host and says so in its log: set -allowed-hosts there.
//
// With -tls-cert and -tls-key it serves https and wss (TLS 1.2 or later) instead of http and ws; the page
// connects with the scheme it was loaded with. Over TLS it offers HTTP/2 too (unless -h2=false), and
// accepts WebSockets on HTTP/2 streams (RFC 8441), so a browser's chat socket shares the connection that
// loaded the page. net/http allows that only in a process started with GODEBUG=http2xconnect=1, so the
// command starts itself again with that setting added when it lacks it.
//
// With -event, connections upgraded over HTTP/1.1 are served readiness-driven (conn.Loop, epoll on
// Linux): an idle member then holds no goroutine and no buffer, which is what a server with many idle
// members wants; the chat behaves the same.
//
// SIGINT or SIGTERM shuts it down gracefully: every client receives what was already sent to it, then a
// close frame with 1001 (going away). The exit status is 0 after a shutdown or -h, 1 when serving failed,
// and 2 for a bad command line.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"duplex/chat"
	"duplex/conn"
	"duplex/handshake"
	"duplex/internal/godebug"
)

func main() {
	if wantsXConnect(os.Args[1:]) {
		if err := execXConnect(); err != nil {
			fmt.Fprintln(os.Stderr, "chat: starting again with GODEBUG="+godebug.XConnect+":", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// netHTTPHeadSlack is how many bytes net/http reads beyond
// http.Server.MaxHeaderBytes before it refuses a request head with 431 (its
// "bufio slop", Go 1.26).
const netHTTPHeadSlack = 4096

// maxHeaderBytes makes net/http's limit on a request head the handshake's
// (handshake.DefaultLimits: 8 KiB), so every path, page and WebSocket
// endpoint alike, refuses a head over 8 KiB with the same 431 response; the
// handshake then also refuses a head of over 64 lines.
var maxHeaderBytes = handshake.DefaultLimits.MaxHeadBytes - netHTTPHeadSlack

// run serves until ctx ends, then shuts down gracefully. ready, if not nil, is called with the address
// once the server listens.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	hopts := &slog.HandlerOptions{Level: o.logLevel}
	var handler slog.Handler = slog.NewTextHandler(stderr, hopts)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(handler)
	o.cfg.Logger = log

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	b, p, stopStore, err := o.store.open(log)
	if err != nil {
		ln.Close()
		return err
	}
	// Deferred, so it runs after the chat's shutdown below: no room is left following its stream.
	defer stopStore()
	o.cfg.Broker, o.cfg.Presence = b, p
	if o.event {
		// Readiness-driven: an idle member holds no goroutine and no buffer (conn.Loop). HTTP/2 streams
		// are not sockets the loop can watch, and are served by goroutines as without -event.
		l, err := conn.NewLoop(nil)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-event: %w", err)
		}
		defer l.Close() // after the chat's shutdown below, which ends every member
		if !l.Readiness() {
			log.Warn("chat: -event has no readiness-driven mode on this system; a goroutine serves each connection")
		}
		o.cfg.Loop = l
	}
	srv := chat.NewServer(&o.cfg)
	o.store.hub.Store(srv.Hub())
	hosts := newHostPolicy(o.allowedHosts, o.addr)
	hs := &http.Server{
		Handler: hosts.guard(srv, log),
		// net/http's deadlines end with the WebSocket handshake, which clears them after the 101
		// response; the connection then has its own write timeout and keepalive.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       o.idleTimeout,
		WriteTimeout:      o.cfg.WriteTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	listenersClosed := make(chan struct{})
	hs.RegisterOnShutdown(func() { close(listenersClosed) })
	scheme := "http"
	if o.tlsCert != "" {
		// Loaded here, not in ServeTLS's goroutine, so that a bad file is a failed start, not a log line.
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: tlsProtocols(o, log)}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("chat: listening", "addr", ln.Addr().String(), "url", pageURL(scheme, o.addr, ln.Addr()))
	if hosts.any() {
		log.Warn("chat: answering for any Host header; set -allowed-hosts to the names this server has, against DNS rebinding")
	}
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	// Stop accepting first, so no client arrives while the others are told to go away. net/http's
	// Shutdown closes the listeners, then waits for its handlers, among them every WebSocket on an
	// HTTP/2 stream, which ends only once the chat has closed it: so the chat shuts down while
	// net/http waits.
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(sctx) }()
	select {
	case <-listenersClosed:
	case err := <-httpDone:
		httpDone <- err
	}
	errChat := srv.Shutdown(sctx)
	errHTTP := <-httpDone
	<-served // http.ErrServerClosed
	log.Info("chat: stopped")
	return errors.Join(errHTTP, errChat)
}

// pageURL is the page's address to print: the host as the user wrote it (localhost stays localhost), and
// localhost for an unspecified one, with the port actually bound (it may have been 0).
func pageURL(scheme, listen string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	port := ""
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
