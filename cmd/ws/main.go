package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the command line and runs the client or the server.
func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	cfg, err := parseArgs(args, errw)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	p := &printer{out: out, errw: errw, verbose: cfg.verbose}
	if cfg.listen != "" {
		return runServer(ctx, cfg, in, p)
	}
	return runClient(ctx, cfg, in, p)
}
