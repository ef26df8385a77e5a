// Command autobahn runs the WebSocket conformance suite of package
// duplex/autobahn, in the two modes of Autobahn|Testsuite's wstest:
//
//	autobahn -mode fuzzingclient -url ws://127.0.0.1:9001 -out reports/   # tests a server
//	autobahn -mode fuzzingserver -listen 127.0.0.1:9001 -out reports/     # a client under test connects
//
// In fuzzingserver mode a client asks /getCaseCount, connects to
// /runCase?case=N&agent=A for N = 1..count, then to /updateReports?agent=A,
// which writes the reports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"

	"duplex/autobahn"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "autobahn:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "fuzzingclient", "fuzzingclient (test a server) or fuzzingserver (test clients)")
	rawURL := flag.String("url", "ws://127.0.0.1:9001", "fuzzingclient: the server's WebSocket URL")
	listen := flag.String("listen", "127.0.0.1:9001", "fuzzingserver: address to listen on")
	agent := flag.String("agent", "server", "fuzzingclient: the name of the server in reports")
	cases := flag.String("cases", "*", `comma-separated case patterns, e.g. "1.*,2.*" or "9.7.1"`)
	exclude := flag.String("exclude", "", "comma-separated case patterns to leave out")
	out := flag.String("out", "reports", "directory for index.json, per-case JSON, summary.md and index.html")
	strict := flag.Bool("strict", false, "fuzzingclient: exit with status 2 unless every case passes strictly")
	quiet := flag.Bool("q", false, "no progress lines")
	flag.Parse()

	selected, err := autobahn.Select(autobahn.SplitPatterns(*cases), autobahn.SplitPatterns(*exclude))
	if err != nil {
		return err
	}
	if len(selected) == 0 {
		return autobahn.ErrNoCases
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	progress := os.Stdout
	if *quiet {
		progress = nil
	}

	switch *mode {
	case "fuzzingclient":
		rep, err := autobahn.RunClient(ctx, *rawURL, *agent, selected, progress)
		if rep != nil {
			if werr := rep.Write(*out); werr != nil {
				return werr
			}
			fmt.Print(rep.Summary())
		}
		if err != nil {
			return err
		}
		if *strict && !allPassed(rep) {
			os.Exit(2)
		}
		return nil
	case "fuzzingserver":
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return err
		}
		fmt.Printf("fuzzingserver: %d cases on ws://%s, reports in %s\n", len(selected), ln.Addr(), *out)
		srv := &autobahn.Server{Cases: selected, Out: *out}
		if progress != nil {
			srv.Log = progress
		}
		err = srv.Serve(ctx, ln)
		if srv.Report != nil {
			if werr := srv.Report.Write(*out); werr != nil {
				return werr
			}
			fmt.Print(srv.Report.Summary())
		}
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

func allPassed(rep *autobahn.Report) bool {
	for _, a := range rep.Agents() {
		for _, r := range rep.Results(a) {
			if !r.Passed() {
				return false
			}
		}
	}
	return true
}
