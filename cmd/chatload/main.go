// Command chatload measures the chat server under a bounded load of one room on loopback: N clients
// join, then each sends one message every interval for a duration, and every member times every message
// from its send to its arrival.
//
//	go run ./cmd/chatload -clients 1000 -interval 10s -duration 30s
//
// It reports the time for the N clients to join, the server's resident memory per idle joined client
// (read from /proc/<pid>/status before the clients join and once they have, each time after the server
// collected garbage), the fraction of messages delivered to every member, and the 50th and 99th
// percentiles of the send-to-receive latency over all members. With the server's process known it also
// reports the server's CPU time and its write(2) calls while sending (from /proc/<pid>/io: how many
// deliveries share a write), and the CPU time of the load clients themselves, which compete with the
// server for the same cores.
//
// CHATLOAD_CPUPROFILE=file writes a CPU profile of the server it starts, CHATLOAD_CLIENT_CPUPROFILE=file
// one of the load clients, CHATLOAD_HEAPPROFILE=file the server's heap once the clients have joined;
// read them with go tool pprof.
//
// By default it starts the server itself, as a child process running this same executable, so that the
// server's memory is its own; -addr points it at a running server instead (-pid then names its process
// for the memory figure). Only loopback addresses are accepted: this is a benchmark, not a flood tool.
// The clients and the server share the machine, so the figures are a ratio of load to capacity of this
// machine, not a property of the server alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of a run.
const (
	maxClients  = 10000
	maxDuration = 5 * time.Minute
)

func main() {
	if os.Getenv(serveEnv) != "" {
		if err := serveChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv(clientProfileEnv); path != "" {
		// A CPU profile of the load clients alone, for go tool pprof.
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "chatload:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if _, err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "chatload:", err)
			os.Exit(2)
		}
	}
}

// options are a run's settings.
type options struct {
	clients  int
	interval time.Duration
	duration time.Duration
	addr     string
	pid      int
	room     string
	par      int
	event    bool
	batch    int
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&o.clients, "clients", 100, fmt.Sprintf("clients in the room (1 to %d)", maxClients))
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "time between two messages of one client")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, fmt.Sprintf("time the clients send for (at most %v)", maxDuration))
	fs.StringVar(&o.addr, "addr", "", "host:port of a running chat server on loopback (default: start one)")
	fs.IntVar(&o.pid, "pid", 0, "process id of the server at -addr, for its memory")
	fs.StringVar(&o.room, "room", "load", "room to join")
	fs.IntVar(&o.par, "par", 64, "connections dialled at once while joining")
	fs.BoolVar(&o.event, "event", false, "the server it starts serves the members readiness-driven (chat.Config.Loop)")
	fs.IntVar(&o.batch, "presence-batch", 100, "the server it starts batches joins and leaves in rooms above this size (chat.Config.PresenceBatch;\n0: a numbered notice for each, as before batching)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.clients < 1 || o.clients > maxClients:
		return nil, fmt.Errorf("-clients %d: want 1 to %d", o.clients, maxClients)
	case o.duration <= 0 || o.duration > maxDuration:
		return nil, fmt.Errorf("-duration %v: want more than 0 and at most %v", o.duration, maxDuration)
	case o.interval <= 0:
		return nil, fmt.Errorf("-interval %v: must be positive", o.interval)
	case o.batch < 0:
		return nil, fmt.Errorf("-presence-batch %d: must not be negative", o.batch)
	case o.par < 1:
		return nil, fmt.Errorf("-par %d: must be positive", o.par)
	}
	if o.addr != "" {
		host, _, err := net.SplitHostPort(o.addr)
		if err != nil {
			return nil, fmt.Errorf("-addr %q: %w", o.addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("-addr %q: only loopback addresses", o.addr)
		}
	}
	return &o, nil
}

// result holds a run's figures.
type result struct {
	Clients        int
	Join           time.Duration
	RSSBeforeKiB   int64 // the server's, before the clients joined (0: unknown)
	RSSJoinedKiB   int64 // and with every client joined and idle
	Sent, Acked    int64
	Refused        int64
	Expected, Got  int64 // deliveries: acked messages times members, and those that arrived
	P50, P99, PMax time.Duration
	LoadAvg        string
	ServerCounters string // the server's refusal and drop counters, from /metrics
	// CPU time of the server during the joins and during the sends (0: unknown)
	JoinCPU, SendCPU time.Duration
	// CPU time of this process, the load clients, during the sends: on one machine the clients compete
	// with the server for the same cores, so their cost is part of every latency figure.
	ClientSendCPU time.Duration
	// SendWrites is how many write system calls the server made during the sends (0: unknown): against
	// Got, how many deliveries share a write.
	SendWrites int64
}

// Delivered is the fraction of the expected deliveries that arrived.
func (r *result) Delivered() float64 {
	if r.Expected == 0 {
		return 0
	}
	return float64(r.Got) / float64(r.Expected)
}

// PerClientKiB is the server's resident memory per idle joined client.
func (r *result) PerClientKiB() float64 {
	if r.RSSBeforeKiB == 0 || r.RSSJoinedKiB == 0 {
		return 0
	}
	return float64(r.RSSJoinedKiB-r.RSSBeforeKiB) / float64(r.Clients)
}

func (r *result) write(w io.Writer) {
	fmt.Fprintf(w, "clients            %d\n", r.Clients)
	fmt.Fprintf(w, "join time          %v for all %d\n", r.Join.Round(time.Millisecond), r.Clients)
	if r.JoinCPU > 0 || r.SendCPU > 0 {
		fmt.Fprintf(w, "server CPU         %v joining, %v sending and delivering\n", r.JoinCPU, r.SendCPU)
	}
	if r.SendWrites > 0 {
		fmt.Fprintf(w, "server writes      %d write(2) calls for %d deliveries while sending\n", r.SendWrites, r.Got)
	}
	if r.ClientSendCPU > 0 {
		fmt.Fprintf(w, "load clients CPU   %v sending and receiving\n", r.ClientSendCPU)
	}
	if r.RSSJoinedKiB > 0 {
		fmt.Fprintf(w, "server RSS         %d KiB before, %d KiB joined: %.1f KiB per idle joined client\n",
			r.RSSBeforeKiB, r.RSSJoinedKiB, r.PerClientKiB())
	}
	fmt.Fprintf(w, "messages           %d sent, %d acked, %d refused\n", r.Sent, r.Acked, r.Refused)
	fmt.Fprintf(w, "delivered          %d of %d (%.4f)\n", r.Got, r.Expected, r.Delivered())
	fmt.Fprintf(w, "latency            p50 %v, p99 %v, max %v\n", r.P50.Round(10*time.Microsecond),
		r.P99.Round(10*time.Microsecond), r.PMax.Round(10*time.Microsecond))
	fmt.Fprintf(w, "load average       %s\n", r.LoadAvg)
	if r.ServerCounters != "" {
		fmt.Fprintf(w, "server counters    %s\n", r.ServerCounters)
	}
}

// scrape reads the server's counters of drops and refusals from /metrics.
func scrape(addr string) string {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ""
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		for _, name := range []string{"chat_slow_clients_dropped_total", "chat_overloaded_total", "chat_rate_limited_total"} {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				out = append(out, strings.TrimPrefix(strings.TrimSuffix(name, "_total"), "chat_")+"="+v)
			}
		}
	}
	return strings.Join(out, " ")
}

// run performs one measurement and writes its report to out.
func run(ctx context.Context, args []string, out io.Writer) (*result, error) {
	o, err := parseFlags(args, out)
	if err != nil {
		return nil, err
	}
	addr, pid := o.addr, o.pid
	var srv *child
	if addr == "" {
		if srv, err = startChild(o.clients, o.event, o.batch); err != nil {
			return nil, err
		}
		defer srv.stop()
		addr, pid = srv.addr, srv.cmd.Process.Pid
	}
	res := &result{Clients: o.clients}
	measure := func() int64 {
		if srv != nil {
			if err := srv.collect(); err != nil {
				return 0
			}
		}
		if pid == 0 {
			return 0
		}
		kib, _ := rssKiB(pid)
		return kib
	}
	res.RSSBeforeKiB = measure()
	cpu := func() time.Duration {
		if pid == 0 {
			return 0
		}
		d, _ := cpuTime(pid)
		return d
	}
	cpu0 := cpu()

	start := time.Now()
	var ct counts
	var readers sync.WaitGroup
	url := "ws://" + addr + "/ws"
	jctx, cancel := context.WithTimeout(ctx, 3*time.Minute) // a bound, not a target
	clients, took, err := joinAll(jctx, url, o.room, o.clients, o.par, func(lc *loadClient) {
		// Each client reads from its welcome on, as a page does, so the joins that follow it do not
		// fill its queue.
		readers.Add(1)
		go func() {
			defer readers.Done()
			lc.read(start, &ct)
		}()
	})
	cancel()
	if err != nil {
		readers.Wait()
		return nil, err
	}
	res.Join = took
	time.Sleep(time.Second) // let the last joined notices arrive
	cpu1 := cpu()
	res.JoinCPU = cpu1 - cpu0
	self0, _ := cpuTime(os.Getpid())
	writes := func() int64 {
		if pid == 0 {
			return 0
		}
		n, _ := writeCalls(pid)
		return n
	}
	writes0 := writes()
	res.RSSJoinedKiB = measure()

	sctx, stopSend := context.WithTimeout(ctx, o.duration)
	var senders sync.WaitGroup
	for _, lc := range clients {
		senders.Add(1)
		go func() {
			defer senders.Done()
			lc.send(sctx, start, o.interval, &ct)
		}()
	}
	senders.Wait()
	stopSend()
	// Wait for the stragglers: until every sent message was acked or refused and every acked one reached
	// every member, or nothing moved for 5 s.
	got := func() int64 {
		var n int64
		for _, lc := range clients {
			n += lc.got.Load()
		}
		return n
	}
	progress := func() int64 { return got() + ct.acked.Load() + ct.refused.Load() }
	pending := func() bool {
		return ct.acked.Load()+ct.refused.Load() < ct.sent.Load() || got() < ct.acked.Load()*int64(o.clients)
	}
	last, still := progress(), time.Now()
	for pending() && time.Since(still) < 5*time.Second {
		time.Sleep(50 * time.Millisecond)
		if n := progress(); n != last {
			last, still = n, time.Now()
		}
	}
	res.SendCPU = cpu() - cpu1
	if writes0 > 0 {
		res.SendWrites = writes() - writes0
	}
	if self1, err := cpuTime(os.Getpid()); err == nil {
		res.ClientSendCPU = self1 - self0
	}
	res.LoadAvg = loadAvg()
	res.ServerCounters = scrape(addr)
	for _, lc := range clients {
		_ = lc.c.CloseNow()
	}
	readers.Wait()

	res.Sent, res.Acked, res.Refused = ct.sent.Load(), ct.acked.Load(), ct.refused.Load()
	res.Expected, res.Got = res.Acked*int64(o.clients), got()
	var lats []int32
	for _, lc := range clients {
		lats = append(lats, lc.lats...)
	}
	slices.Sort(lats)
	if len(lats) > 0 {
		pct := func(p float64) time.Duration {
			return time.Duration(lats[min(len(lats)-1, int(p*float64(len(lats))))]) * time.Microsecond
		}
		res.P50, res.P99, res.PMax = pct(0.50), pct(0.99), time.Duration(lats[len(lats)-1])*time.Microsecond
	}
	res.write(out)
	return res, nil
}

// loadAvg is the machine's load average as /proc/loadavg says it (1, 5 and 15 minutes).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
