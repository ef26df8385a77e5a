package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// record is one line the load generator printed with -json: an echo, an
// idle or a broadcast result (the fields of the other modes stay zero).
type record struct {
	Mode   string `json:"mode"`
	Label  string `json:"label"`
	Conns  int    `json:"conns"`
	Size   int    `json:"size"`
	Window int    `json:"window"`
	Burst  bool   `json:"burst"`

	Seconds     float64 `json:"seconds"`
	MsgsPerSec  float64 `json:"msgs_per_s"`
	MBPerSec    float64 `json:"mb_per_s"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	ServerCPUus float64 `json:"server_cpu_us_per_msg"`
	ServerCPU   float64 `json:"server_cpu"`
	LoadCPU     float64 `json:"load_cpu"`
	ServerCore  float64 `json:"server_core_busy"`
	LoadCore    float64 `json:"load_core_busy"`

	KiBPerConn float64 `json:"kib_per_conn"`
	RSSBefore  int64   `json:"rss_before_kib"`
	RSSAfter   int64   `json:"rss_after_kib"`
	Threads    int64   `json:"threads"`
	Settled    bool    `json:"settled"`

	Deflate      bool    `json:"deflate"`
	Rounds       int     `json:"rounds"`
	WireBytes    int     `json:"wire_bytes"`
	ArrivalP50ms float64 `json:"arrival_p50_ms"`
	ArrivalP99ms float64 `json:"arrival_p99_ms"`
	ArrivalMaxms float64 `json:"arrival_max_ms"`
	LastMedianms float64 `json:"last_median_ms"`
	BcastCPUms   float64 `json:"server_cpu_ms_per_bcast"`
	DeliveryCPU  float64 `json:"server_cpu_us_per_delivery"`
	CleanCloses  int     `json:"clean_closes"`

	BusyBefore  float64    `json:"busy_before"`
	OtherDuring float64    `json:"other_during"`
	LoadAvg     [3]float64 `json:"loadavg"`
}

// row identifies a row of the results: a mode, a message size, a number
// of connections and, for a broadcast, whether it was compressed. An echo
// whose window was written in bursts is a row of its own, mode "burst".
type row struct {
	mode    string
	size    int
	conns   int
	deflate bool
}

// throughputSize is the message size from which a row is headed by
// messages/s instead of server CPU per message: large messages are bound
// by copying, small ones by system calls.
const throughputSize = 64 << 10

// metric is the figure that heads a row.
type metric int

const (
	metricCPU        metric = iota // server CPU us per message, lower is better
	metricThroughput               // messages/s, higher is better
	metricMemory                   // KiB of RSS per idle connection, lower is better
	metricBcastLast                // ms until every connection had a broadcast, lower is better
	metricBcastCPU                 // server CPU ms per broadcast, lower is better
)

// metrics returns the figures that head a row, in the summary and the
// ratios: a broadcast has two, how long until the last connection had the
// message and what it cost the server.
func (r row) metrics() []metric {
	if r.mode == "broadcast" {
		return []metric{metricBcastLast, metricBcastCPU}
	}
	return []metric{r.metric()}
}

// metric returns the first figure of a row.
func (r row) metric() metric {
	switch {
	case r.mode == "broadcast":
		return metricBcastLast
	case r.mode == "idle":
		return metricMemory
	case r.size >= throughputSize:
		return metricThroughput
	}
	return metricCPU
}

// value returns the record's figure for m.
func (m metric) value(rec record) float64 {
	switch m {
	case metricThroughput:
		return rec.MsgsPerSec
	case metricMemory:
		return rec.KiBPerConn
	case metricBcastLast:
		return rec.LastMedianms
	case metricBcastCPU:
		return rec.BcastCPUms
	}
	return rec.ServerCPUus
}

func (m metric) lowerIsBetter() bool { return m != metricThroughput }

// results holds the records grouped by row and server, rows in the order
// first seen.
type results struct {
	rows []row
	runs map[row]map[string][]record
}

// readResults reads JSON lines; blank lines are skipped.
func readResults(r io.Reader) (*results, error) {
	res := &results{runs: map[row]map[string][]record{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("report: line %d: %w", n, err)
		}
		if rec.Mode != "echo" && rec.Mode != "idle" && rec.Mode != "broadcast" {
			return nil, fmt.Errorf("report: line %d: unknown mode %q", n, rec.Mode)
		}
		k := row{rec.Mode, rec.Size, rec.Conns, rec.Deflate}
		if k.mode == "echo" && rec.Burst {
			k.mode = "burst"
		}
		if k.mode == "idle" {
			k.size = 0
		}
		if res.runs[k] == nil {
			res.runs[k] = map[string][]record{}
			res.rows = append(res.rows, k)
		}
		res.runs[k][rec.Label] = append(res.runs[k][rec.Label], rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return res, nil
}

// summary is the median of a figure over a row's runs for one server,
// with the extremes.
type summary struct {
	n               int
	median          float64
	lowest, highest float64
}

func summarize(recs []record, f func(record) float64) summary {
	if len(recs) == 0 {
		return summary{}
	}
	v := make([]float64, len(recs))
	for i, r := range recs {
		v[i] = f(r)
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return summary{n: len(v), median: m, lowest: v[0], highest: v[len(v)-1]}
}

// spread is half the range as a fraction of the median.
func (s summary) spread() float64 {
	if s.median == 0 {
		return 0
	}
	return (s.highest - s.lowest) / 2 / s.median
}
