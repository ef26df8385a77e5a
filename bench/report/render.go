package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// meta describes the run a report covers.
type meta struct {
	command   string
	started   time.Time
	finished  time.Time
	goVersion string
	cpu       string
	cores     int
	memory    string
	kernel    string
	loadStart string
	loadEnd   string
	pinned    bool
	servers   []string // in the order of bench/servers.conf
	ref       string   // the server the ratios are taken for
}

// render writes the report as Markdown.
func render(w io.Writer, m meta, res *results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# bench results\n\n")
	fmt.Fprintf(&b, "Written by `%s`; %s to %s (UTC).\n\n", m.command,
		m.started.UTC().Format("2006-01-02 15:04"), m.finished.UTC().Format("15:04"))
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| machine | %s, %d cores, %s, Linux %s |\n", m.cpu, m.cores, m.memory, m.kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.goVersion)
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s at the start, %s at the end (the runs themselves keep two cores busy) |\n",
		m.loadStart, m.loadEnd)
	fmt.Fprintf(&b, "| other work | %s |\n", otherWorkLine(res))
	pin := "server on core 0, load generator on core 1 (taskset)"
	if !m.pinned {
		pin = "not pinned (taskset missing): figures are rougher"
	}
	fmt.Fprintf(&b, "| method | %s; a fresh server process per run; each cell the median of the runs, ± half their range |\n\n", pin)

	renderSummary(&b, m, res)
	renderRatios(&b, m, res)
	renderNotes(&b, res)
	for _, r := range res.rows {
		renderDetail(&b, m, res, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// title names a row's headline figure: its first.
func (r row) title() string { return r.measure(r.metric()) }

// measure names figure m of row r.
func (r row) measure(m metric) string {
	switch m {
	case metricBcastLast:
		return fmt.Sprintf("%s broadcast to %s conns, %s: until the last had it (ms)", sizeName(r.size), thousands(float64(r.conns)), r.compression())
	case metricBcastCPU:
		return fmt.Sprintf("%s broadcast to %s conns, %s: server CPU per broadcast (ms)", sizeName(r.size), thousands(float64(r.conns)), r.compression())
	case metricMemory:
		return fmt.Sprintf("idle RSS per connection, %s conns (KiB)", thousands(float64(r.conns)))
	case metricThroughput:
		return fmt.Sprintf("%s echo%s, %d conns (msgs/s)", sizeName(r.size), r.bursts(), r.conns)
	}
	return fmt.Sprintf("server CPU per echoed %s message%s, %d conns (us)", sizeName(r.size), r.bursts(), r.conns)
}

// bursts names how an echo row's messages were sent: "" for one write
// each, as they came back.
func (r row) bursts() string {
	if r.mode == "burst" {
		return " in bursts"
	}
	return ""
}

// servers returns the servers with runs in row r, in the configured order.
func (m meta) serversOf(res *results, r row) []string {
	var s []string
	for _, name := range m.servers {
		if len(res.runs[r][name]) > 0 {
			s = append(s, name)
		}
	}
	return s
}

// columns returns the configured servers that have a run in any row.
func (m meta) columns(res *results) []string {
	var s []string
	for _, name := range m.servers {
		for _, r := range res.rows {
			if len(res.runs[r][name]) > 0 {
				s = append(s, name)
				break
			}
		}
	}
	return s
}

func renderSummary(b *strings.Builder, m meta, res *results) {
	cols := m.columns(res)
	b.WriteString("## Summary\n\n| measure | " + strings.Join(cols, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---:", len(cols)) + "|\n")
	for _, r := range res.rows {
		for _, met := range r.metrics() {
			b.WriteString("| " + r.measure(met))
			for _, name := range cols {
				s := summarize(res.runs[r][name], met.value)
				if s.n == 0 {
					b.WriteString(" | –")
					continue
				}
				fmt.Fprintf(b, " | %s ±%.0f%%", num(s.median), s.spread()*100)
			}
			b.WriteString(" |\n")
		}
	}
	b.WriteString("\n")
}

// peers returns the servers other than the reference and its variants
// (names starting with the reference's name and a dash).
func (m meta) peers(cols []string) []string {
	var p []string
	for _, name := range cols {
		if name != m.ref && !strings.HasPrefix(name, m.ref+"-") {
			p = append(p, name)
		}
	}
	return p
}

func renderRatios(b *strings.Builder, m meta, res *results) {
	peers := m.peers(m.columns(res))
	if len(peers) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s / peer\n\n", m.ref)
	fmt.Fprintf(b, "The ratio of medians, %s's over the peer's. For CPU, memory and time below 1 means %s spends less; for messages/s above 1 means %s is faster. \"best peer\" is the best of the peers in that row.\n\n", m.ref, m.ref, m.ref)
	b.WriteString("| measure | " + strings.Join(peers, " | ") + " | best peer |\n")
	b.WriteString("|---" + strings.Repeat("|---:", len(peers)+1) + "|\n")
	for _, r := range res.rows {
		for _, met := range r.metrics() {
			renderRatio(b, m, res, r, met, peers)
		}
	}
	b.WriteString("\n")
}

// renderRatio writes the ratios of figure met of row r.
func renderRatio(b *strings.Builder, m meta, res *results, r row, met metric, peers []string) {
	ref := summarize(res.runs[r][m.ref], met.value)
	b.WriteString("| " + r.measure(met))
	best := math.NaN()
	for _, p := range peers {
		s := summarize(res.runs[r][p], met.value)
		if ref.n == 0 || s.n == 0 || s.median == 0 {
			b.WriteString(" | –")
			continue
		}
		fmt.Fprintf(b, " | %.2f", ref.median/s.median)
		if math.IsNaN(best) || met.lowerIsBetter() == (s.median < best) {
			best = s.median
		}
	}
	if math.IsNaN(best) {
		b.WriteString(" | – |\n")
		return
	}
	fmt.Fprintf(b, " | %.2f |\n", ref.median/best)
}

// Thresholds past which a run is flagged.
const (
	saturated = 0.95 // a core this busy had no time to spare
	unused    = 0.90 // a throughput row whose server's core was less busy
	otherWork = 0.50 // cores busy with other work before or during a run
)

func renderNotes(b *strings.Builder, res *results) {
	var (
		notes       []string
		total, busy int
		worst       float64
	)
	for _, r := range res.rows {
		for name, recs := range res.runs[r] {
			for _, rec := range recs {
				if n := note(r, rec); n != "" {
					notes = append(notes, r.title()+", "+name+": "+n)
				}
				total++
				if o := rec.other(); o > otherWork {
					busy++
					worst = max(worst, o)
				}
			}
		}
	}
	notes = dedupe(notes)
	if busy > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d runs shared the machine with other work, which kept more than %.2f cores busy before or during the run (at worst %.2f): read the ratios rather than the absolute figures, and doubt the rows where this is common", busy, total, otherWork, worst))
	}
	if len(notes) == 0 {
		return
	}
	b.WriteString("## Notes\n\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	b.WriteString("\n")
}

// note says what is doubtful about one run, or "".
func note(r row, rec record) string {
	switch {
	case r.mode == "idle":
		if !rec.Settled {
			return "the RSS had not settled"
		}
	case rec.LoadCore >= saturated && rec.ServerCore > 0 && rec.ServerCore < unused:
		return fmt.Sprintf("the load generator's core was %.0f%% busy, the server's %.0f%%: the figure may be the generator's limit", rec.LoadCore*100, rec.ServerCore*100)
	case r.metric() == metricThroughput && rec.ServerCore > 0 && rec.ServerCore < unused:
		return fmt.Sprintf("the server's core was only %.0f%% busy", rec.ServerCore*100)
	}
	return ""
}

// dedupe keeps the first of each repeated note, sorted for a stable report.
func dedupe(notes []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range notes {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func renderDetail(b *strings.Builder, m meta, res *results, r row) {
	if r.mode == "broadcast" {
		renderBroadcastDetail(b, m, res, r)
		return
	}
	fmt.Fprintf(b, "## %s\n\n", r.title())
	if r.mode == "idle" {
		b.WriteString("| server | runs | KiB/conn | RSS before (KiB) | RSS after (KiB) | threads |\n|---|---:|---:|---:|---:|---:|\n")
		for _, name := range m.serversOf(res, r) {
			recs := res.runs[r][name]
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n", name, len(recs),
				cell(recs, func(x record) float64 { return x.KiBPerConn }),
				num(summarize(recs, func(x record) float64 { return float64(x.RSSBefore) }).median),
				num(summarize(recs, func(x record) float64 { return float64(x.RSSAfter) }).median),
				strconv.FormatFloat(summarize(recs, func(x record) float64 { return float64(x.Threads) }).median, 'f', -1, 64))
		}
		b.WriteString("\n")
		return
	}
	b.WriteString("| server | runs | server CPU (us/msg) | msgs/s | MB/s | rtt p50 (us) | rtt p99 (us) | server process CPU | server core busy | load core busy | other work (cores) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range m.serversOf(res, r) {
		recs := res.runs[r][name]
		med := func(f func(record) float64) string { return num(summarize(recs, f).median) }
		pct := func(f func(record) float64) string {
			return strconv.FormatFloat(summarize(recs, f).median*100, 'f', 0, 64) + "%"
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, len(recs),
			cell(recs, func(x record) float64 { return x.ServerCPUus }),
			cell(recs, func(x record) float64 { return x.MsgsPerSec }),
			med(func(x record) float64 { return x.MBPerSec }),
			med(func(x record) float64 { return x.P50us }),
			med(func(x record) float64 { return x.P99us }),
			pct(func(x record) float64 { return x.ServerCPU }),
			pct(func(x record) float64 { return x.ServerCore }),
			pct(func(x record) float64 { return x.LoadCore }),
			med(record.other))
	}
	b.WriteString("\n")
}

// cell formats a median with its range.
func cell(recs []record, f func(record) float64) string {
	s := summarize(recs, f)
	if s.n < 2 {
		return num(s.median)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.median), num(s.lowest), num(s.highest))
}

// num formats a figure with three significant digits or so, and thousands
// separators from 1,000.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return thousands(v)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// thousands formats v rounded to an integer with commas between groups of
// three digits.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(math.Abs(v)), 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if v < 0 {
		return "-" + string(out)
	}
	return string(out)
}

// sizeName writes a message size as people do: 16 B, 1 KiB, 64 KiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// other is how many cores other work kept busy around a run: before it,
// or during it on the pinned cores, whichever is more.
func (r record) other() float64 { return max(r.BusyBefore, r.OtherDuring) }

// otherWorkLine summarizes how busy other work kept the machine around
// the runs.
func otherWorkLine(res *results) string {
	var all []record
	for _, r := range res.rows {
		for _, recs := range res.runs[r] {
			all = append(all, recs...)
		}
	}
	if len(all) == 0 {
		return "no runs"
	}
	s := summarize(all, record.other)
	return fmt.Sprintf("cores other work kept busy just before or during a run: median %.2f, at most %.2f", s.median, s.highest)
}
