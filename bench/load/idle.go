package main

import (
	"fmt"
	"net"
	"time"
)

// idleConfig is an idle run: conns connections opened, each echoing one
// message, then left idle until the server's memory settles.
type idleConfig struct {
	dial      dialConfig
	label     string
	conns     int
	size      int
	pid       int
	settle    time.Duration // the RSS must hold this long
	settleMax time.Duration // the longest wait for it
	quiet     time.Duration // how long to sample the machine's load first
}

// idleResult is what an idle run measured.
type idleResult struct {
	Mode       string     `json:"mode"`
	Label      string     `json:"label"`
	Conns      int        `json:"conns"`
	Sources    int        `json:"sources"`
	RSSBefore  int64      `json:"rss_before_kib"`
	RSSAfter   int64      `json:"rss_after_kib"`
	KiBPerConn float64    `json:"kib_per_conn"`
	Threads    int64      `json:"threads"`
	Settled    bool       `json:"settled"`
	BusyBefore float64    `json:"busy_before"` // cores other work kept busy before the run
	SettleSecs float64    `json:"settle_s"`
	LoadAvg    [3]float64 `json:"loadavg"`
}

// sourceBase is the first source address of an idle run. 127.0.0.1 is
// left to everything else on the machine.
var sourceBase = net.IPv4(127, 0, 0, 2).To4()

// sourceFor spreads connections over 127.0.0.2, 127.0.0.3, ..., perSource
// on each, so that no source address runs out of ephemeral ports.
func sourceFor(perSource int) func(i int) net.IP {
	return func(i int) net.IP {
		ip := make(net.IP, 4)
		copy(ip, sourceBase)
		ip[3] += byte(i / perSource)
		return ip
	}
}

// sourcesNeeded returns how many source addresses conns connections take,
// or an error when 127.0.0.2-254 are not enough.
func sourcesNeeded(conns, perSource int) (int, error) {
	if perSource < 1 {
		return 0, fmt.Errorf("load: %d connections per source address", perSource)
	}
	n := (conns + perSource - 1) / perSource
	if n > 253 {
		return 0, fmt.Errorf("load: %d connections need %d source addresses, past 127.0.0.254", conns, n)
	}
	return n, nil
}

// runIdle measures the server's resident memory before the connections
// open and once they idle, and checks at the end that every connection
// still echoes.
func runIdle(cfg idleConfig, sources int) (*idleResult, error) {
	if cfg.size < seqLen {
		return nil, fmt.Errorf("load: size %d is below the %d-byte sequence number", cfg.size, seqLen)
	}
	busy, err := sampleBusy(cfg.quiet)
	if err != nil {
		return nil, err
	}
	before, err := procStatus(cfg.pid, "VmRSS")
	if err != nil {
		return nil, err
	}
	clients := make([]*client, cfg.conns)
	defer closeAll(clients)
	echo := func(i int) error {
		c := clients[i]
		_ = c.nc.SetDeadline(time.Now().Add(cfg.dial.timeout))
		if err := c.send(0, 1); err != nil {
			return fmt.Errorf("load: conn %d: %w", i, err)
		}
		if _, err := c.receive(); err != nil {
			return fmt.Errorf("load: conn %d: %w", i, err)
		}
		return c.nc.SetDeadline(time.Time{})
	}
	err = parallel(cfg.conns, dialWorkers, func(i int) error {
		nc, br, err := cfg.dial.dial(i)
		if err != nil {
			return err
		}
		clients[i] = newClient(i, nc, br, cfg.size, 1, true)
		return echo(i)
	})
	if err != nil {
		return nil, err
	}

	start := time.Now()
	after, settled, err := settle(cfg.pid, cfg.settle, cfg.settleMax)
	if err != nil {
		return nil, err
	}
	res := &idleResult{
		Mode: "idle", Label: cfg.label, Conns: cfg.conns, Sources: sources,
		RSSBefore: before, RSSAfter: after,
		KiBPerConn: float64(after-before) / float64(cfg.conns),
		Settled:    settled, SettleSecs: time.Since(start).Seconds(),
		BusyBefore: busy,
	}
	if res.Threads, err = procStatus(cfg.pid, "Threads"); err != nil {
		return nil, err
	}
	// Every connection must have stayed open and served.
	if err := parallel(cfg.conns, dialWorkers, echo); err != nil {
		return nil, err
	}
	res.LoadAvg, err = loadAvg()
	return res, err
}

// settlePoll is how often settle samples the RSS.
const settlePoll = 250 * time.Millisecond

// settle waits until pid's RSS has stayed within 0.5% (or 256 KiB) for
// hold, at most limit, and returns it with whether it settled.
func settle(pid int, hold, limit time.Duration) (int64, bool, error) {
	deadline := time.Now().Add(limit)
	lo, err := procStatus(pid, "VmRSS")
	if err != nil {
		return 0, false, err
	}
	hi, since := lo, time.Now()
	for {
		time.Sleep(settlePoll)
		rss, err := procStatus(pid, "VmRSS")
		if err != nil {
			return 0, false, err
		}
		lo, hi = min(lo, rss), max(hi, rss)
		if hi-lo > max(hi/200, 256) {
			lo, hi, since = rss, rss, time.Now()
		}
		switch {
		case time.Since(since) >= hold:
			return rss, true, nil
		case time.Now().After(deadline):
			return rss, false, nil
		}
	}
}
