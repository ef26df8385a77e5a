package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address of the echo server")
	client := flag.String("client", "", "fuzzing server URL to drive (client mode)")
	agent := flag.String("agent", "duplex", "agent name for the fuzzing server's reports")
	cases := flag.String("cases", "", "cases to run in client mode, e.g. 1..10,42 (default all)")
	verbose := flag.Bool("v", false, "log every connection")
	flag.BoolVar(&compress, "compress", true, "negotiate permessage-deflate (RFC 7692)")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	if *client != "" {
		err = runClient(ctx, log, *client, *agent, *cases)
	} else {
		err = runServer(ctx, log, *addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsecho:", err)
		os.Exit(1)
	}
}
