package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"duplex/chat"
)

// errUsage reports a bad command line; what was wrong and the usage have
// been printed.
var errUsage = errors.New("chat: bad usage")

// options are the command line's settings.
type options struct {
	addr            string
	allowedHosts    []string
	idleTimeout     time.Duration
	logFormat       string
	logLevel        slog.Level
	shutdownTimeout time.Duration
	tlsCert         string
	tlsKey          string
	h2              bool
	event           bool
	cfg             chat.Config
	store           storeFlags // where rooms live: nats.go
}

const usageHead = `usage: chat [flags]

Serves the chat page at /, its WebSocket endpoint at /ws, a health check at
/healthz and counters at /metrics.

flags:
`

// parseFlags reads the command line. It returns flag.ErrHelp after -h has
// printed the usage, and errUsage after a bad command line was reported.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", "localhost:8080", "address to listen on (host:port; :8080 for every interface)")
	allowedHosts := fs.String("allowed-hosts", "", "comma-separated host[:port] patterns the Host header must match, against DNS rebinding, e.g.\n'chat.example.com,*.example.org:8080' (a pattern without a port matches any port; '*': any host);\nrequests for other hosts get 421. Default: on a loopback -addr, localhost names and loopback addresses only;\notherwise any host")
	origins := fs.String("origins", "", "comma-separated host patterns whose pages may connect besides this server's own, e.g. 'chat.example.com,*.example.org'")
	fs.BoolVar(&o.cfg.InsecureSkipOriginCheck, "any-origin", false, "let pages from any origin connect (no cross-site protection)")
	fs.StringVar(&o.cfg.DefaultRoom, "room", "lobby", "room for clients that name none")
	fs.IntVar(&o.cfg.History, "history", 100, "messages and notices a room keeps for newcomers (0: none)")
	fs.IntVar(&o.cfg.HistoryBytes, "history-bytes", 256<<10, "bytes of encoded events a room keeps for newcomers, at most")
	fs.Int64Var(&o.cfg.MaxMessageSize, "max-message", 4096, "longest message text a client may send, in bytes (longer: refused with too_long;\na WebSocket message over 16 times this closes with 1009)")
	fs.Float64Var(&o.cfg.Rate, "rate", 5, "messages per second a client may send on average (over: refused with rate_limited;\nmore than 50 refusals in a row close with 1008)")
	fs.IntVar(&o.cfg.Burst, "burst", 10, "messages a client may send at once")
	fs.IntVar(&o.cfg.MaxRoom, "max-room", 10000, "members a room may have (more: the join is refused with room_full)")
	fs.IntVar(&o.cfg.PresenceBatch, "presence-batch", 100, "room size above which joins and leaves are sent in one members event per -presence-interval\ninstead of a numbered notice each (0: always notices)")
	fs.DurationVar(&o.cfg.PresenceInterval, "presence-interval", 500*time.Millisecond, "time a large room collects joins and leaves for one members event")
	fs.DurationVar(&o.cfg.Grace, "grace", 10*time.Second, "time a member whose connection dropped stays in its room, for a reconnect to resume it (0: none)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve https and wss (with -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file of -tls-cert")
	fs.BoolVar(&o.event, "event", false, "serve WebSocket connections readiness-driven (conn.Loop): no goroutine and no buffer per idle member")
	fs.BoolVar(&o.h2, "h2", true, "with -tls-cert: offer HTTP/2, so a browser's WebSocket shares the page's connection (RFC 8441;\nthe command restarts itself with GODEBUG=http2xconnect=1 for it)")
	fs.IntVar(&o.cfg.QueueSize, "queue", 256, "messages that may wait for one client (full: close 1013)")
	fs.IntVar(&o.cfg.MaxConnsPerIP, "max-conns-per-ip", 16, "simultaneous connections per client address (over: close 1008)")
	fs.IntVar(&o.cfg.MaxRooms, "max-rooms", 100, "rooms kept at most; an empty room keeps its history until its place is needed")
	fs.DurationVar(&o.cfg.PingInterval, "ping-interval", 30*time.Second, "ping a client silent for this long, and drop it if it answers nothing within -pong-timeout (0: no keepalive)")
	fs.DurationVar(&o.cfg.PongTimeout, "pong-timeout", 0, "time a pinged client has to show a sign of life (0: as long as -ping-interval)")
	fs.DurationVar(&o.cfg.WriteTimeout, "write-timeout", 10*time.Second, "bound on each write to a client, WebSocket message or HTTP response (longer: the client is dropped)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", time.Minute, "time an HTTP keep-alive connection may wait for its next request")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "time given to clients to receive what is queued on shutdown")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	o.store.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if err := o.check(fs.Args(), *origins, *allowedHosts); err != nil {
		fmt.Fprintln(stderr, "chat:", err)
		fs.Usage()
		return nil, errUsage
	}
	return &o, nil
}

// check validates the parsed flags and turns them into the chat's
// configuration, whose zero values mean defaults where a flag's mean none.
func (o *options) check(args []string, origins, allowedHosts string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments: %q", args)
	}
	o.cfg.OriginPatterns = splitList(origins)
	o.allowedHosts = splitList(allowedHosts)
	for _, p := range o.allowedHosts {
		if _, err := parseHostPattern(p); err != nil {
			return err
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
	}
	for _, d := range []struct {
		name   string
		v      time.Duration
		zeroOK bool
	}{
		{"-ping-interval", o.cfg.PingInterval, true},
		{"-pong-timeout", o.cfg.PongTimeout, true},
		{"-write-timeout", o.cfg.WriteTimeout, false},
		{"-idle-timeout", o.idleTimeout, false},
		{"-shutdown-timeout", o.shutdownTimeout, false},
		{"-grace", o.cfg.Grace, true},
		{"-presence-interval", o.cfg.PresenceInterval, false},
	} {
		if d.v < 0 || d.v == 0 && !d.zeroOK {
			return fmt.Errorf("%s %v: must be positive", d.name, d.v)
		}
	}
	if o.cfg.History == 0 {
		o.cfg.History = -1 // Config's zero means "default"; the flag's 0 means none
	}
	if o.cfg.PingInterval == 0 {
		o.cfg.PingInterval = -1 // likewise: the flag's 0 turns keepalive off
	}
	if o.cfg.Grace == 0 {
		o.cfg.Grace = -1 // and the flag's 0 means no grace
	}
	if o.cfg.PresenceBatch < 0 {
		return fmt.Errorf("-presence-batch %d: must not be negative", o.cfg.PresenceBatch)
	}
	if o.cfg.PresenceBatch == 0 {
		o.cfg.PresenceBatch = -1 // the flag's 0 means no batching, which Config spells negative
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"-history-bytes", int64(o.cfg.HistoryBytes)},
		{"-max-message", o.cfg.MaxMessageSize},
		{"-max-room", int64(o.cfg.MaxRoom)},
		{"-burst", int64(o.cfg.Burst)},
		{"-queue", int64(o.cfg.QueueSize)},
	} {
		if n.v <= 0 {
			return fmt.Errorf("%s %d: must be positive", n.name, n.v)
		}
	}
	if o.cfg.Rate <= 0 {
		return fmt.Errorf("-rate %v: must be positive", o.cfg.Rate)
	}
	return o.store.check()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var items []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			items = append(items, p)
		}
	}
	return items
}
