package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bcastConfig is a broadcast run: conns connections that only listen and
// one control connection that sends a message of size bytes per round,
// which the server sends on to every connection; warmup rounds first, then
// rounds measured.
type bcastConfig struct {
	dial    dialConfig // deflate set for the compressed row
	label   string
	conns   int
	size    int
	rounds  int
	warmup  int
	pid     int           // the server's process, 0 for no CPU figure
	timeout time.Duration // for every connection to join, and for each round
	quiet   time.Duration // how long to sample the machine's load first
}

// bcastResult is what a broadcast run measured. An arrival is one
// connection's receipt of one round's message, timed from just before the
// control connection wrote it.
type bcastResult struct {
	Mode    string `json:"mode"`
	Label   string `json:"label"`
	Conns   int    `json:"conns"`
	Sources int    `json:"sources"`
	Size    int    `json:"size"`
	Deflate bool   `json:"deflate"`
	Rounds  int    `json:"rounds"`
	Warmup  int    `json:"warmup_rounds"`
	// WireBytes is the payload of the frame as it came, compressed or not.
	WireBytes int `json:"wire_bytes"`

	// ArrivalP50ms, ArrivalP99ms and ArrivalMaxms are over every arrival
	// of the measured rounds; LastMedianms is the median over the rounds of
	// the time until the last connection had the round's message.
	ArrivalP50ms float64 `json:"arrival_p50_ms"`
	ArrivalP99ms float64 `json:"arrival_p99_ms"`
	ArrivalMaxms float64 `json:"arrival_max_ms"`
	LastMedianms float64 `json:"last_median_ms"`
	Seconds      float64 `json:"seconds"`

	// ServerCPUms is the server's CPU time per broadcast, ServerCPUus the
	// same per message delivered (conns+1 a broadcast, the control
	// connection's copy included); ServerCPU and LoadCPU are the CPU the
	// server and this process used over the measured rounds, as a
	// fraction of one core.
	ServerCPUms float64 `json:"server_cpu_ms_per_bcast,omitempty"`
	ServerCPUus float64 `json:"server_cpu_us_per_delivery,omitempty"`
	ServerCPU   float64 `json:"server_cpu,omitempty"`
	LoadCPU     float64 `json:"load_cpu"`

	// As in an echo result.
	ServerCore  float64 `json:"server_core_busy,omitempty"`
	LoadCore    float64 `json:"load_core_busy,omitempty"`
	BusyBefore  float64 `json:"busy_before"`
	OtherDuring float64 `json:"other_during,omitempty"`

	CleanCloses int        `json:"clean_closes"`
	LoadAvg     [3]float64 `json:"loadavg"`
}

var (
	errBroadcast = errors.New("load: wrong broadcast")
	errJoin      = errors.New("load: connections missing from the server's room")
)

// minBcastSize leaves room for the round number that starts every
// broadcast payload.
const minBcastSize = 32

// bcastPayload is round's message: chat-like text, as compressible as a
// chat line (words from a small vocabulary, in an order of the round's
// own), exactly size bytes, starting with the round number so that a
// message of another round never passes for this one.
func bcastPayload(round, size int) []byte {
	words := []string{"the", "room", "hello", "message", "again", "broadcast", "of", "and", "to", "every",
		"connection", "wire", "frame", "deflate", "ten", "thousand", "users", "online", "now", "ok"}
	b := []byte(`{"round":` + strconv.Itoa(round) + `,"text":"`)
	rng := rand.New(rand.NewPCG(uint64(round), 0x5eed))
	for len(b) < size-2 {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, ' ')
	}
	b = append(b[:size-2], `"}`...)
	return b
}

// bcastRun is the state the connections of a run share.
type bcastRun struct {
	cfg      bcastConfig
	start    time.Time
	payloads [][]byte       // by round
	sentAt   []atomic.Int64 // by round: the send time, from start
	left     []atomic.Int64 // by round: connections still to receive it
	done     []chan struct{}
	last     []atomic.Int64 // by round: the latest arrival, from the send
	hist     histogram      // arrivals of the measured rounds
	// wire is, by round, a frame payload already inflated and found
	// right: a connection that received the same bytes needs no inflating.
	wire []atomic.Pointer[[]byte]
}

// runBroadcast opens the connections, waits until the server's room holds
// them all, runs the rounds and measures them. A connection that misses a
// round, gets a message wrong or one too many, fails the run.
func runBroadcast(cfg bcastConfig, sources int) (*bcastResult, error) {
	if cfg.size < minBcastSize {
		return nil, fmt.Errorf("load: size %d is below %d bytes", cfg.size, minBcastSize)
	}
	if cfg.rounds < 1 || cfg.warmup < 0 || cfg.conns < 1 {
		return nil, fmt.Errorf("load: %d connections, %d rounds after %d warmup", cfg.conns, cfg.rounds, cfg.warmup)
	}
	busy, err := sampleBusy(cfg.quiet)
	if err != nil {
		return nil, err
	}
	// conns listeners, then the control connection, last.
	peers := make([]*client, cfg.conns+1)
	defer closeAll(peers)
	err = parallel(len(peers), dialWorkers, func(i int) error {
		nc, br, err := cfg.dial.dial(i)
		if err == nil {
			peers[i] = newPeer(i, nc, br)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	ctl := peers[cfg.conns]
	if err := awaitMembers(ctl, cfg.conns+1, cfg.dial.deflate, cfg.timeout); err != nil {
		return nil, err
	}

	n := cfg.warmup + cfg.rounds
	r := &bcastRun{
		cfg: cfg, start: time.Now(),
		payloads: make([][]byte, n), sentAt: make([]atomic.Int64, n), left: make([]atomic.Int64, n),
		done: make([]chan struct{}, n), last: make([]atomic.Int64, n), wire: make([]atomic.Pointer[[]byte], n),
	}
	for i := range n {
		r.payloads[i] = bcastPayload(i, cfg.size)
		r.left[i].Store(int64(cfg.conns))
		r.done[i] = make(chan struct{})
	}
	// Bounds every read of the run: a server that stalls fails it.
	deadline := r.start.Add(time.Duration(n+2) * cfg.timeout)
	for _, p := range peers {
		_ = p.nc.SetDeadline(deadline)
	}

	var (
		wg      sync.WaitGroup
		errMu   sync.Mutex
		errs    []error
		failed  = make(chan struct{})
		failure sync.Once
		clean   atomic.Int64
	)
	fail := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
		failure.Do(func() { close(failed) })
	}
	for _, c := range peers[:cfg.conns] {
		wg.Go(func() {
			if err := r.listen(c); err != nil {
				c.nc.Close()
				fail(fmt.Errorf("load: conn %d: %w", c.id, err))
				return
			}
			if ok, err := c.closeExact(cfg.timeout); err != nil {
				fail(fmt.Errorf("load: conn %d: %w", c.id, err))
			} else if ok {
				clean.Add(1)
			}
		})
	}

	var m0, m1 cpuMark
	runErr := func() error {
		for round := range n {
			if round == cfg.warmup {
				if m0, err = markCPU(cfg.pid); err != nil {
					return err
				}
			}
			if err := r.send(ctl, round); err != nil {
				return err
			}
			select {
			case <-r.done[round]:
			case <-failed:
				return nil
			case <-time.After(cfg.timeout):
				return fmt.Errorf("%w: %d of %d connections still without round %d after %v",
					errBroadcast, r.left[round].Load(), cfg.conns, round, cfg.timeout)
			}
		}
		// What the server still does for the last round (a queued write,
		// a goroutine ending) belongs to it.
		time.Sleep(50 * time.Millisecond)
		m1, err = markCPU(cfg.pid)
		return err
	}()
	if runErr != nil {
		fail(runErr)
	}
	select {
	case <-failed:
		// The rounds stopped: no listener waits for the next one.
		closeAll(peers)
	default:
		if ok, err := ctl.closeExact(cfg.timeout); err != nil {
			fail(fmt.Errorf("load: control connection: %w", err))
		} else if ok {
			clean.Add(1)
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w (%d failures)", errs[0], len(errs))
	}
	res := r.result(m0, m1, sources, int(clean.Load()))
	res.BusyBefore = busy
	res.WireBytes = cfg.size
	if w := r.wire[n-1].Load(); w != nil {
		res.WireBytes = len(*w)
	}
	res.LoadAvg, err = loadAvg()
	return res, err
}

// newPeer wraps an upgraded connection that only receives: it needs no
// payload buffers of its own, only the key source for its control frames.
func newPeer(id int, nc net.Conn, br *bufio.Reader) *client {
	var seed [32]byte
	seed[0], seed[1], seed[2] = byte(id), byte(id>>8), byte(id>>16)
	return &client{id: id, nc: nc, br: br, rng: rand.NewChaCha8(seed)}
}

// awaitMembers asks the server, on ctl, how many connections its room
// holds until it holds want, within timeout: a server adds a connection
// after its handshake, which the client may have seen end before.
func awaitMembers(ctl *client, want int, deflate bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	_ = ctl.nc.SetDeadline(deadline)
	defer ctl.nc.SetDeadline(time.Time{})
	for {
		if err := ctl.writeText([]byte(membersQuery)); err != nil {
			return err
		}
		op, compressed, p, err := ctl.readMessage(deflate, 64)
		if err == nil && compressed {
			// Some servers compress every message, however short.
			ctl.in, err = inflate(ctl.in, p, 64)
			p = ctl.in
		}
		if err != nil {
			return err
		}
		got, ok := parseMembers(p)
		if op != opText || !ok {
			return fmt.Errorf("%w: %q in answer to %q", errBroadcast, p, membersQuery)
		}
		switch {
		case got == want:
			return nil
		case got > want:
			return fmt.Errorf("%w: the room holds %d connections, %d opened", errJoin, got, want)
		case time.Now().After(deadline.Add(-20 * time.Millisecond)):
			return fmt.Errorf("%w: %d of %d after %v", errJoin, got, want, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The members query of the servers' room (bench/internal/serve, which the
// load generator may not import: it is built beside the libraries).
const membersQuery = "members"

func parseMembers(p []byte) (int, bool) {
	s, ok := bytes.CutPrefix(p, []byte(membersQuery+" "))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(s))
	return n, err == nil && n >= 0
}

// send writes round's message on the control connection, stamped, and
// reads the copy the server sends back to it.
func (r *bcastRun) send(ctl *client, round int) error {
	r.sentAt[round].Store(int64(time.Since(r.start)))
	if err := ctl.writeText(r.payloads[round]); err != nil {
		return fmt.Errorf("load: control connection: %w", err)
	}
	if _, err := r.receive(ctl, round); err != nil {
		return fmt.Errorf("load: control connection: %w", err)
	}
	return nil
}

// listen receives every round on c, in order, timing the measured ones.
func (r *bcastRun) listen(c *client) error {
	for round := range r.payloads {
		at, err := r.receive(c, round)
		if err != nil {
			return err
		}
		if round >= r.cfg.warmup {
			d := at - time.Duration(r.sentAt[round].Load())
			r.hist.record(d)
			atomicMax(&r.last[round], int64(d))
		}
		if r.left[round].Add(-1) == 0 {
			close(r.done[round])
		}
	}
	return nil
}

// receive reads the next message on c and checks it is round's: a text
// message of the payload sent, compressed if and only if the run
// negotiated compression. It returns the time it was read, from the
// run's start, before it was checked.
func (r *bcastRun) receive(c *client, round int) (time.Duration, error) {
	op, compressed, p, err := c.readMessage(r.cfg.dial.deflate, 4*r.cfg.size+1024)
	at := time.Since(r.start)
	if err != nil {
		return 0, err
	}
	if op != opText {
		return 0, fmt.Errorf("%w: round %d came as %s, sent as text", errBroadcast, round, op)
	}
	want := r.payloads[round]
	if !r.cfg.dial.deflate {
		if !bytes.Equal(p, want) {
			return 0, fmt.Errorf("%w: round %d: %d bytes, not the %d sent (differs at byte %d)", errBroadcast, round, len(p), len(want), firstDiff(p, want))
		}
		return at, nil
	}
	if !compressed {
		return 0, fmt.Errorf("%w: round %d arrived uncompressed, with permessage-deflate negotiated", errBroadcast, round)
	}
	if seen := r.wire[round].Load(); seen != nil && bytes.Equal(*seen, p) {
		return at, nil // the same bytes as a copy that inflated right
	}
	c.in, err = inflate(c.in, p, len(want))
	if err != nil {
		return 0, fmt.Errorf("round %d: %w", round, err)
	}
	if !bytes.Equal(c.in, want) {
		return 0, fmt.Errorf("%w: round %d inflates to %d bytes, not the %d sent (differs at byte %d)", errBroadcast, round, len(c.in), len(want), firstDiff(c.in, want))
	}
	seen := slices.Clone(p)
	r.wire[round].CompareAndSwap(nil, &seen)
	return at, nil
}

func atomicMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

func (r *bcastRun) result(m0, m1 cpuMark, sources, clean int) *bcastResult {
	secs := m1.at.Sub(m0.at).Seconds()
	lasts := make([]float64, r.cfg.rounds)
	for i := range lasts {
		lasts[i] = millis(time.Duration(r.last[r.cfg.warmup+i].Load()))
	}
	slices.Sort(lasts)
	res := &bcastResult{
		Mode: "broadcast", Label: r.cfg.label, Conns: r.cfg.conns, Sources: sources, Size: r.cfg.size,
		Deflate: r.cfg.dial.deflate, Rounds: r.cfg.rounds, Warmup: r.cfg.warmup,
		ArrivalP50ms: millis(r.hist.quantile(0.50)),
		ArrivalP99ms: millis(r.hist.quantile(0.99)),
		ArrivalMaxms: lasts[len(lasts)-1],
		LastMedianms: median(lasts),
		Seconds:      secs,
		LoadCPU:      (m1.client - m0.client) / secs,
		CleanCloses:  clean,
	}
	if r.cfg.pid != 0 {
		cpu := m1.server - m0.server
		res.ServerCPUms = cpu / float64(r.cfg.rounds) * 1e3
		res.ServerCPUus = cpu / float64(r.cfg.rounds*(r.cfg.conns+1)) * 1e6
		res.ServerCPU = cpu / secs
		res.ServerCore = max(busyBetween(m0.cores, m1.cores, pinnedCore(r.cfg.pid)), 0)
	}
	res.LoadCore = max(busyBetween(m0.cores, m1.cores, pinnedCore(os.Getpid())), 0)
	if res.ServerCore > 0 && res.LoadCore > 0 {
		res.OtherDuring = max(res.ServerCore-res.ServerCPU, 0) + max(res.LoadCore-res.LoadCPU, 0)
	}
	return res
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median of sorted values.
func median(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
