// Command chat serves the duplex chat: the browser page, its WebSocket endpoint, a health check and
// counters, from one binary with the page embedded.
//
//	go run ./cmd/chat                # http://localhost:8080
//	go run ./cmd/chat -addr :9000 -origins 'chat.example.com' -history 200
//
// SIGINT or SIGTERM shuts it down gracefully: every client receives what was already sent to it, then a
// close frame with 1001 (going away).
package main

import (
	"context"
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
	"strings"
	"syscall"
	"time"

	"duplex/chat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "chat:", err)
		}
		os.Exit(2)
	}
}

// options are the command line's settings.
type options struct {
	addr            string
	logFormat       string
	logLevel        slog.Level
	shutdownTimeout time.Duration
	cfg             chat.Config
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "localhost:8080", "address to listen on (host:port; :8080 for every interface)")
	origins := fs.String("origins", "", "comma-separated host patterns whose pages may connect besides this server's own, e.g. 'chat.example.com,*.example.org'")
	fs.BoolVar(&o.cfg.InsecureSkipOriginCheck, "any-origin", false, "let pages from any origin connect (no cross-site protection)")
	fs.StringVar(&o.cfg.DefaultRoom, "room", "lobby", "room for clients that name none")
	fs.IntVar(&o.cfg.History, "history", 100, "messages and notices a room keeps for newcomers (0: none)")
	fs.Int64Var(&o.cfg.MaxMessageSize, "max-message", 4096, "largest message a client may send, in bytes (larger: close 1009)")
	fs.Float64Var(&o.cfg.Rate, "rate", 5, "messages per second a client may send on average (over: close 1008)")
	fs.IntVar(&o.cfg.Burst, "burst", 10, "messages a client may send at once")
	fs.IntVar(&o.cfg.QueueSize, "queue", 256, "messages that may wait for one client (full: close 1013)")
	fs.IntVar(&o.cfg.MaxConnsPerIP, "max-conns-per-ip", 16, "simultaneous connections per client address (over: close 1008)")
	fs.IntVar(&o.cfg.MaxRooms, "max-rooms", 100, "rooms kept at most; an empty room keeps its history until its place is needed")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "time given to clients to receive what is queued on shutdown")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *origins != "" {
		for _, p := range strings.Split(*origins, ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.cfg.OriginPatterns = append(o.cfg.OriginPatterns, p)
			}
		}
	}
	if o.cfg.History == 0 {
		o.cfg.History = -1 // Config's zero means "default"; the flag's 0 means none
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
	}
	return &o, nil
}

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
	srv := chat.NewServer(&o.cfg)
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("chat: listening", "addr", ln.Addr().String(), "url", pageURL(o.addr, ln.Addr()))
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
	// Stop accepting first, so no client arrives while the others are told to go away.
	errHTTP := hs.Shutdown(sctx)
	errChat := srv.Shutdown(sctx)
	<-served // http.ErrServerClosed
	log.Info("chat: stopped")
	return errors.Join(errHTTP, errChat)
}

// pageURL is the page's address to print: the host as the user wrote it (localhost stays localhost), and
// localhost for an unspecified one, with the port actually bound (it may have been 0).
func pageURL(listen string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	port := ""
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	return "http://" + net.JoinHostPort(host, port)
}
