// Command load is the harness's load generator. It imports no WebSocket
// library: it opens TCP connections to a server on loopback, runs the
// HTTP/1.1 upgrade and writes masked client frames itself, so that it
// favours no server.
//
// In echo mode it keeps -window messages in flight on each of -conns
// connections, checks every echo (opcode, length and a sequence number;
// every byte with -verify; from 8 KiB on, without -verify, every message
// shares one payload built per connection, written with writev, and the
// echo's bytes past the sequence number are dropped in the kernel
// unread), and reports messages/s, MB/s, the p50 and p99
// round trip and, given the server's -pid, the server's CPU time per
// message from /proc/PID/stat over the measured interval; with -burst each
// connection writes its window in one write and waits for all of it. In
// idle mode it
// opens -conns connections spread over source addresses 127.0.0.2 and up,
// echoes one message on each, waits for the server's memory to settle and
// reports the growth of its VmRSS per connection, then checks that every
// connection still echoes. In broadcast mode it opens -conns connections
// (spread over source addresses as in idle mode) and one control
// connection, which sends a -size text message per round that the server
// sends on to every connection; every connection must receive every
// round's message, exactly, once; it reports when they arrived, from the
// send, and the server's CPU time per broadcast. With -deflate it offers
// permessage-deflate without context takeover and inflates what arrives.
//
// Every run is bounded: it stops by itself, and a server that stalls past
// the run's deadline fails it. It exits with status 1 when anything was
// wrong, printing no figures.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	var (
		mode      = flag.String("mode", "echo", "echo, idle or broadcast")
		addr      = flag.String("addr", "", "server address, host:port on loopback")
		label     = flag.String("label", "", "server name to put in the result")
		pid       = flag.Int("pid", 0, "server process ID, for its CPU time and memory")
		conns     = flag.Int("conns", 50, "connections")
		size      = flag.Int("size", 1024, "message size in bytes (at least 8)")
		window    = flag.Int("window", 4, "echo: messages in flight per connection")
		burst     = flag.Bool("burst", false, "echo: write the window's messages in one write and wait for all their echoes")
		warmup    = flag.Duration("warmup", time.Second, "echo: time before measuring")
		duration  = flag.Duration("duration", 5*time.Second, "echo: measured time")
		verify    = flag.Bool("verify", false, "echo: check every byte of every echo")
		perSource = flag.Int("per-source", 1000, "idle, broadcast: connections per source address")
		rounds    = flag.Int("rounds", 10, "broadcast: measured rounds")
		warmupR   = flag.Int("warmup-rounds", 1, "broadcast: rounds before measuring")
		deflate   = flag.Bool("deflate", false, "broadcast: offer permessage-deflate, no context takeover")
		settleFor = flag.Duration("settle", 2*time.Second, "idle: how long the server's RSS must hold")
		settleMax = flag.Duration("settle-max", 20*time.Second, "idle: longest wait for the RSS to settle")
		timeout   = flag.Duration("timeout", 10*time.Second, "deadline of a handshake, of the drain, of the close and of a broadcast round")
		quiet     = flag.Duration("quiet", 500*time.Millisecond, "how long to sample the machine's load before the run")
		asJSON    = flag.Bool("json", false, "print the result as one JSON line (and in words on stderr)")
	)
	flag.Parse()
	res, err := run(*addr, func() (any, error) {
		d := dialConfig{addr: *addr, timeout: *timeout, bufSize: 4096}
		switch *mode {
		case "echo":
			return runEcho(echoConfig{
				dial: d, label: *label, conns: *conns, size: *size, window: *window, burst: *burst,
				warmup: *warmup, duration: *duration, verify: *verify, pid: *pid, grace: *timeout, quiet: *quiet,
			})
		case "idle":
			if *pid == 0 {
				return nil, fmt.Errorf("load: idle mode needs the server's -pid")
			}
			n, err := sourcesNeeded(*conns, *perSource)
			if err != nil {
				return nil, err
			}
			d.source, d.bufSize = sourceFor(*perSource), 512
			return runIdle(idleConfig{
				dial: d, label: *label, conns: *conns, size: *size, pid: *pid,
				settle: *settleFor, settleMax: *settleMax, quiet: *quiet,
			}, n)
		case "broadcast":
			n, err := sourcesNeeded(*conns+1, *perSource)
			if err != nil {
				return nil, err
			}
			// A broadcast message (1 KiB and its header) fits the buffer.
			d.source, d.bufSize, d.deflate = sourceFor(*perSource), 2048, *deflate
			return runBroadcast(bcastConfig{
				dial: d, label: *label, conns: *conns, size: *size, rounds: *rounds, warmup: *warmupR,
				pid: *pid, timeout: *timeout, quiet: *quiet,
			}, n)
		}
		return nil, fmt.Errorf("load: unknown mode %q", *mode)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *asJSON {
		// The JSON line for the report on stdout, the same for a person
		// on stderr.
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		fmt.Fprintln(os.Stderr, describe(res))
		return
	}
	fmt.Println(describe(res))
}

// run checks the address is on loopback, then runs fn.
func run(addr string, fn func() (any, error)) (any, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("load: -addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("load: -addr %q is not a loopback address", addr)
	}
	return fn()
}

// describe formats a result for a person.
func describe(res any) string {
	switch r := res.(type) {
	case *echoResult:
		kind := "window"
		if r.Burst {
			kind = "burst"
		}
		s := fmt.Sprintf("%s echo %d B x %d conns (%s %d, %.1fs): %.0f msgs/s, %.1f MB/s, rtt p50 %.0f us p99 %.0f us, load CPU %.0f%%",
			r.Label, r.Size, r.Conns, kind, r.Window, r.Seconds, r.MsgsPerSec, r.MBPerSec, r.P50us, r.P99us, r.LoadCPU*100)
		if r.ServerCPU != 0 {
			s += fmt.Sprintf(", server CPU %.2f us/msg (%.0f%%)", r.ServerCPUus, r.ServerCPU*100)
		}
		if r.ServerCore != 0 && r.LoadCore != 0 {
			s += fmt.Sprintf(", cores busy: server's %.0f%%, load's %.0f%%, %.2f cores by others", r.ServerCore*100, r.LoadCore*100, r.OtherDuring)
		}
		return s + fmt.Sprintf("; %.2f cores busy before", r.BusyBefore)
	case *bcastResult:
		comp := "plain"
		if r.Deflate {
			comp = "deflate"
		}
		s := fmt.Sprintf("%s broadcast %d B (%s, %d B on the wire) to %d conns, %d rounds: last arrival median %.2f ms, arrival p50 %.2f ms p99 %.2f ms max %.2f ms, load CPU %.0f%%",
			r.Label, r.Size, comp, r.WireBytes, r.Conns, r.Rounds, r.LastMedianms, r.ArrivalP50ms, r.ArrivalP99ms, r.ArrivalMaxms, r.LoadCPU*100)
		if r.ServerCPU != 0 {
			s += fmt.Sprintf(", server CPU %.2f ms/broadcast (%.2f us/delivery, %.0f%%)", r.ServerCPUms, r.ServerCPUus, r.ServerCPU*100)
		}
		if r.ServerCore != 0 && r.LoadCore != 0 {
			s += fmt.Sprintf(", cores busy: server's %.0f%%, load's %.0f%%, %.2f cores by others", r.ServerCore*100, r.LoadCore*100, r.OtherDuring)
		}
		return s + fmt.Sprintf(", %d clean closes; %.2f cores busy before", r.CleanCloses, r.BusyBefore)
	case *idleResult:
		return fmt.Sprintf("%s idle %d conns over %d sources: RSS %d -> %d KiB, %.2f KiB/conn, %d threads (settled %t after %.1fs); %.2f cores busy before",
			r.Label, r.Conns, r.Sources, r.RSSBefore, r.RSSAfter, r.KiBPerConn, r.Threads, r.Settled, r.SettleSecs, r.BusyBefore)
	}
	return fmt.Sprint(res)
}
