package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// echoConfig is an echo run: conns connections, each keeping window
// messages of size bytes in flight, measured for duration after warmup.
type echoConfig struct {
	dial     dialConfig
	label    string
	conns    int
	size     int
	window   int
	burst    bool // write the window in one Write and wait for all of it
	warmup   time.Duration
	duration time.Duration
	verify   bool
	pid      int // the server's process, 0 for no CPU figure
	grace    time.Duration
	quiet    time.Duration // how long to sample the machine's load first
}

// The phases of an echo run.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDrain
)

// echoResult is what an echo run measured. Per-message figures count one
// echo: a message read and written back by the server.
type echoResult struct {
	Mode     string  `json:"mode"`
	Label    string  `json:"label"`
	Conns    int     `json:"conns"`
	Size     int     `json:"size"`
	Window   int     `json:"window"`
	Burst    bool    `json:"burst,omitempty"`
	Verify   bool    `json:"verify"`
	Seconds  float64 `json:"seconds"`
	Messages uint64  `json:"messages"`

	MsgsPerSec float64 `json:"msgs_per_s"`
	MBPerSec   float64 `json:"mb_per_s"` // payload echoed, one direction, 10^6 bytes
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`

	// ServerCPUus is the server's CPU time per echo, in microseconds;
	// ServerCPU and LoadCPU are the CPU the server and this process used
	// over the interval, as a fraction of one core.
	ServerCPUus float64 `json:"server_cpu_us_per_msg,omitempty"`
	ServerCPU   float64 `json:"server_cpu,omitempty"`
	LoadCPU     float64 `json:"load_cpu"`

	// ServerCore and LoadCore are how busy the core the server and this
	// process are pinned to were, as a fraction, softirq time included:
	// a saturated core is near 1 even when the process's own CPU time is
	// not, the kernel's network work being counted apart. They are absent
	// when a process is not pinned to one core.
	ServerCore float64 `json:"server_core_busy,omitempty"`
	LoadCore   float64 `json:"load_core_busy,omitempty"`

	// BusyBefore is how many cores other work kept busy just before the
	// connections opened, while the server waited. OtherDuring is the time
	// of the two pinned cores that neither the server nor this process
	// spent over the interval, in cores: other work, or kernel work done
	// outside both (a few tenths of a core at most on a quiet machine).
	BusyBefore  float64 `json:"busy_before"`
	OtherDuring float64 `json:"other_during,omitempty"`

	CleanCloses int        `json:"clean_closes"`
	LoadAvg     [3]float64 `json:"loadavg"`
}

// echoRun is the state the connections of a run share.
type echoRun struct {
	cfg    echoConfig
	start  time.Time
	phase  atomic.Int32
	echoed atomic.Uint64
	hist   histogram
}

// cpuMark is the CPU time of the server, of this process and of each core
// at an instant.
type cpuMark struct {
	at             time.Time
	server, client float64
	cores          []cpuTimes
	echoed         uint64
}

func (r *echoRun) mark() (cpuMark, error) {
	echoed := r.echoed.Load()
	m, err := markCPU(r.cfg.pid)
	m.echoed = echoed
	return m, err
}

// markCPU reads the CPU times of now: of the server pid (none when 0), of
// this process and of every core.
func markCPU(pid int) (cpuMark, error) {
	m := cpuMark{at: time.Now()}
	var err error
	if m.cores, err = readCPUTimes(); err != nil {
		return m, err
	}
	if pid != 0 {
		if m.server, err = procCPU(pid); err != nil {
			return m, err
		}
	}
	m.client, err = procCPU(os.Getpid())
	return m, err
}

// runEcho opens the connections, runs the echo and measures it. Any wrong
// echo, failed connection or missed deadline is an error: a run either
// checks out whole or reports nothing.
func runEcho(cfg echoConfig) (*echoResult, error) {
	if cfg.size < seqLen {
		return nil, fmt.Errorf("load: size %d is below the %d-byte sequence number", cfg.size, seqLen)
	}
	busy, err := sampleBusy(cfg.quiet)
	if err != nil {
		return nil, err
	}
	clients := make([]*client, cfg.conns)
	err = parallel(cfg.conns, dialWorkers, func(i int) error {
		nc, br, err := cfg.dial.dial(i)
		if err == nil {
			clients[i] = newClient(i, nc, br, cfg.size, cfg.window, cfg.verify)
		}
		return err
	})
	if err != nil {
		closeAll(clients)
		return nil, err
	}

	r := &echoRun{cfg: cfg, start: time.Now()}
	deadline := r.start.Add(cfg.warmup + cfg.duration + cfg.grace)
	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errs   []error
		failed atomic.Bool
		clean  atomic.Int64
	)
	for _, c := range clients {
		_ = c.nc.SetDeadline(deadline)
		wg.Go(func() {
			err := r.loop(c)
			if err == nil {
				if c.close(cfg.grace) {
					clean.Add(1)
				}
				return
			}
			c.nc.Close()
			failed.Store(true)
			errMu.Lock()
			errs = append(errs, fmt.Errorf("load: conn %d: %w", c.id, err))
			errMu.Unlock()
		})
	}

	time.Sleep(cfg.warmup)
	m0, err0 := r.mark()
	r.phase.Store(phaseMeasure)
	time.Sleep(cfg.duration)
	r.phase.Store(phaseDrain)
	m1, err1 := r.mark()
	wg.Wait()
	if failed.Load() {
		return nil, fmt.Errorf("%w (%d connections failed)", errs[0], len(errs))
	}
	if err := errors.Join(err0, err1); err != nil {
		return nil, err
	}
	res, err := r.result(m0, m1, int(clean.Load()))
	if res != nil {
		res.BusyBefore = busy
	}
	return res, err
}

// loop keeps window messages in flight on c until the run drains, then
// reads the echoes still due.
func (r *echoRun) loop(c *client) error {
	if r.cfg.burst {
		return r.burstLoop(c)
	}
	w := r.cfg.window
	for range w {
		if err := c.send(time.Since(r.start), w); err != nil {
			return err
		}
	}
	for c.nextRecv < c.nextSend {
		seq, err := c.receive()
		if err != nil {
			return err
		}
		now := time.Since(r.start)
		phase := r.phase.Load()
		if phase == phaseMeasure {
			r.hist.record(now - c.sent[seq%uint64(w)])
		}
		r.echoed.Add(1)
		if phase != phaseDrain {
			if err := c.send(now, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// burstLoop writes window messages in one Write, reads their echoes and
// starts over, until the run drains. Each message's round trip counts from
// the burst's write.
func (r *echoRun) burstLoop(c *client) error {
	w := r.cfg.window
	for {
		if err := c.sendBurst(time.Since(r.start), w, w); err != nil {
			return err
		}
		for c.nextRecv < c.nextSend {
			seq, err := c.receive()
			if err != nil {
				return err
			}
			if r.phase.Load() == phaseMeasure {
				r.hist.record(time.Since(r.start) - c.sent[seq%uint64(w)])
			}
			r.echoed.Add(1)
		}
		if r.phase.Load() == phaseDrain {
			return nil
		}
	}
}

func (r *echoRun) result(m0, m1 cpuMark, clean int) (*echoResult, error) {
	secs := m1.at.Sub(m0.at).Seconds()
	n := m1.echoed - m0.echoed
	if n == 0 {
		return nil, fmt.Errorf("%w: no message echoed in %.1fs", errEcho, secs)
	}
	res := &echoResult{
		Mode: "echo", Label: r.cfg.label,
		Conns: r.cfg.conns, Size: r.cfg.size, Window: r.cfg.window, Burst: r.cfg.burst, Verify: r.cfg.verify,
		Seconds: secs, Messages: n,
		MsgsPerSec:  float64(n) / secs,
		MBPerSec:    float64(n) * float64(r.cfg.size) / secs / 1e6,
		P50us:       micros(r.hist.quantile(0.50)),
		P99us:       micros(r.hist.quantile(0.99)),
		LoadCPU:     (m1.client - m0.client) / secs,
		CleanCloses: clean,
	}
	if r.cfg.pid != 0 {
		cpu := m1.server - m0.server
		res.ServerCPUus = cpu / float64(n) * 1e6
		res.ServerCPU = cpu / secs
		res.ServerCore = max(busyBetween(m0.cores, m1.cores, pinnedCore(r.cfg.pid)), 0)
	}
	res.LoadCore = max(busyBetween(m0.cores, m1.cores, pinnedCore(os.Getpid())), 0)
	if res.ServerCore > 0 && res.LoadCore > 0 {
		res.OtherDuring = max(res.ServerCore-res.ServerCPU, 0) + max(res.LoadCore-res.LoadCPU, 0)
	}
	var err error
	res.LoadAvg, err = loadAvg()
	return res, err
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func closeAll(clients []*client) {
	for _, c := range clients {
		if c != nil {
			c.nc.Close()
		}
	}
}
