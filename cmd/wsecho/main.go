package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	f, err := parseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		os.Exit(2)
	}

	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if f.client != "" {
		err = runClient(ctx, log, f.settings, f.client, f.agent, f.cases)
	} else {
		err = runServer(ctx, log, f.settings, f.addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsecho:", err)
		os.Exit(1)
	}
}

// flags are the command line's settings.
type flags struct {
	addr, client, agent, cases string
	verbose                    bool
	settings
}

// errUsage reports a bad command line; what was wrong and the usage have
// been printed.
var errUsage = errors.New("wsecho: bad usage")

const usageHead = `usage: wsecho [flags]                 echo server
       wsecho [flags] -client URL    drive a fuzzing server's cases

flags:
`

// parseFlags reads the command line. It returns flag.ErrHelp after -h has
// printed the usage, and errUsage after a bad command line was reported.
func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{settings: defaultSettings()}
	fs := flag.NewFlagSet("wsecho", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:9001", "listen address of the echo server")
	fs.StringVar(&f.client, "client", "", "fuzzing server `URL` to drive (client mode)")
	fs.StringVar(&f.agent, "agent", "duplex", "agent name for the fuzzing server's reports")
	fs.StringVar(&f.cases, "cases", "", "cases to run in client mode, e.g. 1..10,42 (default all)")
	fs.BoolVar(&f.verbose, "v", false, "log every connection")
	fs.BoolVar(&f.compress, "compress", f.compress, "negotiate permessage-deflate (RFC 7692)")
	fs.Int64Var(&f.readLimit, "read-limit", f.readLimit, "largest message accepted, in `bytes` (larger: close 1009)")
	fs.DurationVar(&f.pingInterval, "ping-interval", f.pingInterval, "ping a peer silent for this long, and fail it if nothing arrives within -pong-timeout (0: no keepalive)")
	fs.DurationVar(&f.pongTimeout, "pong-timeout", f.pongTimeout, "time a pinged peer has to show a sign of life (0: as long as -ping-interval)")
	fs.DurationVar(&f.writeTimeout, "write-timeout", f.writeTimeout, "bound on each write to the network, and on an HTTP response (0: none)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", f.idleTimeout, "time an HTTP keep-alive connection may wait for its next request (server)")
	fs.BoolVar(&f.event, "event", false, "serve readiness-driven, with no goroutine or buffer per idle connection (conn.Loop; Linux)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if err := f.check(fs.Args()); err != nil {
		fmt.Fprintln(stderr, "wsecho:", err)
		fs.Usage()
		return nil, errUsage
	}
	return f, nil
}

func (f *flags) check(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments: %q", args)
	}
	if f.readLimit <= 0 {
		return fmt.Errorf("-read-limit %d: must be positive", f.readLimit)
	}
	for _, d := range []struct {
		name   string
		v      time.Duration
		zeroOK bool
	}{
		{"-ping-interval", f.pingInterval, true},
		{"-pong-timeout", f.pongTimeout, true},
		{"-write-timeout", f.writeTimeout, true},
		{"-idle-timeout", f.idleTimeout, false},
	} {
		if d.v < 0 || d.v == 0 && !d.zeroOK {
			return fmt.Errorf("%s %v: must be positive", d.name, d.v)
		}
	}
	return nil
}
