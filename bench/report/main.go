// Command report turns the JSON lines the load generator printed during
// bench/run.sh into bench/RESULTS.md: the machine, the Go version, the date
// and the load average, then for every row (echo, idle, broadcast) the
// median and spread of each server's runs and the ratios of the reference
// server (duplex) to each peer.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

func main() {
	var (
		in        = flag.String("in", "", "JSON lines from the load generator")
		out       = flag.String("out", "RESULTS.md", "report to write")
		servers   = flag.String("servers", "", "servers in column order, space-separated")
		ref       = flag.String("ref", "duplex", "server whose ratios to each peer are shown")
		command   = flag.String("command", "bench/run.sh", "command line that produced the results")
		started   = flag.String("started", "", "start time of the run, RFC 3339")
		goVersion = flag.String("go", runtime.Version(), "Go version the servers were built with")
		loadStart = flag.String("load-start", "", "/proc/loadavg's first three fields at the start")
		pinned    = flag.Bool("pinned", true, "whether server and load generator were pinned to cores")
	)
	flag.Parse()
	if err := run(*in, *out, meta{
		command: *command, goVersion: *goVersion, loadStart: *loadStart, pinned: *pinned,
		servers: strings.Fields(*servers), ref: *ref,
	}, *started); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// keptMarker starts the part of a report that a new report keeps.
const keptMarker = "<!-- written by hand: kept when run.sh writes the report again -->"

func run(in, out string, m meta, started string) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	res, err := readResults(f)
	if err != nil {
		return err
	}
	if len(res.rows) == 0 {
		return errors.New("report: no results")
	}
	if m.started, err = time.Parse(time.RFC3339, started); err != nil {
		return fmt.Errorf("report: -started: %w", err)
	}
	m.finished = time.Now()
	m.cpu, m.cores, m.memory, m.kernel = machine()
	m.loadEnd = firstFields(readFile("/proc/loadavg"), 3)
	var b strings.Builder
	if err := render(&b, m, res); err != nil {
		return err
	}
	// What was written by hand below the marker, in the report this one
	// replaces, is analysis of earlier runs (projections, the conditions
	// of a run): it stays, under the new figures.
	if old, err := os.ReadFile(out); err == nil {
		if i := strings.Index(string(old), keptMarker); i >= 0 {
			b.WriteString("\n")
			b.WriteString(string(old[i:]))
		}
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// machine reads the CPU model, the number of cores, the memory and the
// kernel release from /proc.
func machine() (cpu string, cores int, memory, kernel string) {
	cpu = "unknown CPU"
	for line := range strings.Lines(readFile("/proc/cpuinfo")) {
		name, value, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(name) {
		case "model name":
			cpu = strings.TrimSpace(value)
		case "processor":
			cores++
		}
	}
	memory = "unknown memory"
	for line := range strings.Lines(readFile("/proc/meminfo")) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				memory = fmt.Sprintf("%.0f GiB", float64(kib)/(1<<20))
			}
		}
	}
	kernel = strings.TrimSpace(readFile("/proc/sys/kernel/osrelease"))
	return cpu, max(cores, 1), memory, kernel
}

// readFile returns a file's text, or "" when it cannot be read: the
// machine's description is best effort.
func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func firstFields(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}
