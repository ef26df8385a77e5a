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
	"io"
	"net"
	"os"
	"os/signal"

	"duplex/autobahn"
)

// errNotStrict reports a fuzzingclient run with -strict where a case did not pass.
var errNotStrict = errors.New("not every case passed strictly")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, errNotStrict):
		os.Exit(2)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "autobahn:", err)
		os.Exit(1)
	}
}

// run parses args and runs the suite; output goes to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("autobahn", flag.ContinueOnError)
	mode := fs.String("mode", "fuzzingclient", "fuzzingclient (test a server) or fuzzingserver (test clients)")
	rawURL := fs.String("url", "ws://127.0.0.1:9001", "fuzzingclient: the server's WebSocket URL")
	listen := fs.String("listen", "127.0.0.1:9001", "fuzzingserver: address to listen on")
	agent := fs.String("agent", "server", "fuzzingclient: the name of the server in reports")
	cases := fs.String("cases", "*", `comma-separated case patterns, e.g. "1.*,2.*" or "9.7.1"`)
	exclude := fs.String("exclude", "", "comma-separated case patterns to leave out")
	out := fs.String("out", "reports", "directory for index.json, per-case JSON, summary.md and index.html")
	strict := fs.Bool("strict", false, "fuzzingclient: exit with status 2 unless every case passes strictly")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}

	selected, err := autobahn.Select(autobahn.SplitPatterns(*cases), autobahn.SplitPatterns(*exclude))
	if err != nil {
		return err
	}
	if len(selected) == 0 {
		return autobahn.ErrNoCases
	}
	var progress io.Writer = stdout
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
			fmt.Fprint(stdout, rep.Summary())
		}
		if err != nil {
			return err
		}
		if *strict && !allPassed(rep) {
			return errNotStrict
		}
		return nil
	case "fuzzingserver":
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fuzzingserver: %d cases on ws://%s, reports in %s\n", len(selected), ln.Addr(), *out)
		srv := &autobahn.Server{Cases: selected, Out: *out, Log: progress}
		err = srv.Serve(ctx, ln)
		if srv.Report != nil {
			if werr := srv.Report.Write(*out); werr != nil {
				return werr
			}
			fmt.Fprint(stdout, srv.Report.Summary())
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
