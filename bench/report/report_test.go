package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func line(t *testing.T, r record) string {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

func echo(label string, size, conns int, cpu, rate float64) record {
	return record{Mode: "echo", Label: label, Size: size, Conns: conns, ServerCPUus: cpu,
		MsgsPerSec: rate, ServerCPU: 0.8, LoadCPU: 0.5, ServerCore: 1, LoadCore: 0.9,
		LoadAvg: [3]float64{0.1, 0.1, 0.1}}
}

func idle(label string, kib float64) record {
	return record{Mode: "idle", Label: label, Conns: 10000, KiBPerConn: kib, Settled: true,
		RSSBefore: 5000, RSSAfter: 5000 + int64(kib*10000), Threads: 5}
}

// fixture is three runs of two rows and an idle row, for two servers.
func fixture(t *testing.T) string {
	var lines []string
	for _, c := range []float64{6, 7, 5} {
		lines = append(lines, line(t, echo("duplex", 16, 50, c, 100000)))
		lines = append(lines, line(t, echo("gorilla", 16, 50, c+2, 90000)))
		lines = append(lines, line(t, echo("gws", 16, 50, c+1, 90000)))
	}
	for _, r := range []float64{24000, 25000, 23000} {
		lines = append(lines, line(t, echo("duplex", 65536, 50, 40, r)))
		lines = append(lines, line(t, echo("gorilla", 65536, 50, 80, r/2)))
		lines = append(lines, line(t, echo("gws", 65536, 50, 30, r*1.25)))
	}
	lines = append(lines, line(t, idle("duplex", 16)), line(t, idle("nbio", 2)))
	return strings.Join(lines, "\n") + "\n\n"
}

func TestReadResults(t *testing.T) {
	res, err := readResults(strings.NewReader(fixture(t)))
	require.NoError(t, err)
	assert.Equal(t, []row{{"echo", 16, 50, false}, {"echo", 65536, 50, false}, {"idle", 0, 10000, false}}, res.rows)
	assert.Len(t, res.runs[row{"echo", 16, 50, false}]["gorilla"], 3)
	assert.Len(t, res.runs[row{"idle", 0, 10000, false}]["nbio"], 1)

	_, err = readResults(strings.NewReader(`{"mode":"bogus"}`))
	require.Error(t, err)
	_, err = readResults(strings.NewReader(`not json`))
	require.Error(t, err)
}

func TestSummarize(t *testing.T) {
	f := func(r record) float64 { return r.ServerCPUus }
	recs := []record{{ServerCPUus: 3}, {ServerCPUus: 1}, {ServerCPUus: 2}}
	s := summarize(recs, f)
	assert.Equal(t, summary{n: 3, median: 2, lowest: 1, highest: 3}, s)
	assert.InDelta(t, 0.5, s.spread(), 1e-12)
	assert.InDelta(t, 2.5, summarize(append(recs, record{ServerCPUus: 4}), f).median, 1e-12)
	assert.Zero(t, summarize(nil, f).n)
}

func TestRowMetric(t *testing.T) {
	assert.Equal(t, metricCPU, row{"echo", 16, 50, false}.metric())
	assert.Equal(t, metricCPU, row{"echo", 1024, 500, false}.metric())
	assert.Equal(t, metricThroughput, row{"echo", 65536, 50, false}.metric())
	assert.Equal(t, metricMemory, row{"idle", 0, 10000, false}.metric())
	assert.Equal(t, "server CPU per echoed 16 B message, 50 conns (us)", row{"echo", 16, 50, false}.title())
	assert.Equal(t, "64 KiB echo, 500 conns (msgs/s)", row{"echo", 65536, 500, false}.title())
	assert.Equal(t, "idle RSS per connection, 10,000 conns (KiB)", row{"idle", 0, 10000, false}.title())
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(fixture(t)), 0o644))
	out := filepath.Join(dir, "RESULTS.md")
	m := meta{command: "bench/run.sh", servers: []string{"duplex", "duplex-ready", "gorilla", "gws", "nbio"}, ref: "duplex", pinned: true}
	require.NoError(t, run(in, out, m, time.Now().Format(time.RFC3339)))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)

	// Medians with their spread: 6 (5-7), gorilla 8 (7-9).
	assert.Contains(t, md, "| server CPU per echoed 16 B message, 50 conns (us) | 6.00 ±17% | 8.00 ±12% | 7.00 ±14% | – |")
	// Ratios: 6/8 and 6/7 with gws best; 24,000/12,000 and 24,000/30,000;
	// 16/2 for nbio.
	assert.Contains(t, md, "| server CPU per echoed 16 B message, 50 conns (us) | 0.75 | 0.86 | – | 0.86 |")
	assert.Contains(t, md, "| 64 KiB echo, 50 conns (msgs/s) | 2.00 | 0.80 | – | 0.80 |")
	assert.Contains(t, md, "| idle RSS per connection, 10,000 conns (KiB) | – | – | 8.00 | 8.00 |")
	// A variant with no runs is no column, and a variant is no peer.
	assert.NotContains(t, md, "duplex-ready")
	assert.Contains(t, md, "| measure | gorilla | gws | nbio | best peer |")
	assert.Contains(t, md, "| duplex | 3 | 6.00 (5.00–7.00) |")
	assert.Contains(t, md, "| nbio | 1 | 2.00 | 5,000 | 25,000 | 5 |")
	assert.NotContains(t, md, "## Notes")
}

func TestRenderNotes(t *testing.T) {
	busy := echo("duplex", 16, 50, 6, 1000)
	busy.LoadCore, busy.ServerCore, busy.BusyBefore = 0.99, 0.8, 0.7
	slow := echo("gws", 65536, 50, 6, 1000)
	slow.ServerCore, slow.OtherDuring = 0.5, 0.6
	unsettled := idle("nbio", 1)
	unsettled.Settled = false
	res, err := readResults(strings.NewReader(line(t, busy) + "\n" + line(t, slow) + "\n" + line(t, unsettled)))
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, render(&b, meta{servers: []string{"duplex", "gws", "nbio"}, ref: "duplex", cores: 2}, res))
	md := b.String()
	assert.Contains(t, md, "duplex: the load generator's core was 99% busy, the server's 80%")
	assert.Contains(t, md, "gws: the server's core was only 50% busy")
	assert.Contains(t, md, "nbio: the RSS had not settled")
	assert.Contains(t, md, "2 of 3 runs shared the machine with other work, which kept more than 0.50 cores busy before or during the run (at worst 0.70)")
	assert.Contains(t, md, "median 0.60, at most 0.70")
}

func TestNumbers(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.00", 6.044: "6.04", 16.64: "16.6", 123.4: "123", 24266.4: "24,266", 1234567: "1,234,567", -1500: "-1,500",
	} {
		assert.Equal(t, want, num(v), "%v", v)
	}
	for n, want := range map[int]string{16: "16 B", 1024: "1 KiB", 65536: "64 KiB", 1000: "1000 B", 1 << 20: "1 MiB"} {
		assert.Equal(t, want, sizeName(n))
	}
}

// TestRenderKeepsHandWritten checks that a new report keeps what follows
// the marker in the report it replaces, and nothing else of it.
func TestRenderKeepsHandWritten(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(fixture(t)), 0o644))
	out := filepath.Join(dir, "RESULTS.md")
	tail := keptMarker + "\n\n## A projection\n\nby hand\n"
	require.NoError(t, os.WriteFile(out, []byte("# old figures\n\n| stale | 1 |\n\n"+tail), 0o644))
	m := meta{command: "bench/run.sh", servers: []string{"duplex", "gorilla", "gws", "nbio"}, ref: "duplex", pinned: true}
	require.NoError(t, run(in, out, m, time.Now().Format(time.RFC3339)))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)
	assert.NotContains(t, md, "stale")
	assert.True(t, strings.HasSuffix(md, tail), "the hand-written part ends the new report")
	assert.Contains(t, md, "## Summary")
	assert.Equal(t, 1, strings.Count(md, keptMarker))
}

func bcast(label string, deflate bool, last, cpu float64) record {
	return record{Mode: "broadcast", Label: label, Conns: 10000, Size: 1024, Deflate: deflate, Rounds: 10,
		WireBytes: 1024, LastMedianms: last, ArrivalP50ms: last / 2, ArrivalP99ms: last * 0.9, ArrivalMaxms: last * 1.1,
		BcastCPUms: cpu, DeliveryCPU: cpu * 1000 / 10001, ServerCPU: 0.9, ServerCore: 1, LoadCore: 0.7}
}

// bcastFixture is two runs of both broadcast rows for duplex, its loop
// variant, gorilla and gws, after an echo row that coder ran in.
func bcastFixture(t *testing.T) string {
	var lines []string
	lines = append(lines, line(t, echo("duplex", 16, 50, 6, 1000)), line(t, echo("coder", 16, 50, 12, 1000)))
	for _, f := range []float64{1, 1.5} {
		for _, deflate := range []bool{false, true} {
			lines = append(lines,
				line(t, bcast("duplex", deflate, 40*f, 30*f)),
				line(t, bcast("duplex-loop", deflate, 30*f, 20*f)),
				line(t, bcast("gorilla", deflate, 80*f, 60*f)),
				line(t, bcast("gws", deflate, 50*f, 40*f)))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestReadBroadcastResults(t *testing.T) {
	res, err := readResults(strings.NewReader(bcastFixture(t)))
	require.NoError(t, err)
	plain, comp := row{"broadcast", 1024, 10000, false}, row{"broadcast", 1024, 10000, true}
	assert.Equal(t, []row{{"echo", 16, 50, false}, plain, comp}, res.rows, "compressed and not are two rows")
	assert.Len(t, res.runs[plain]["gws"], 2)
	assert.Len(t, res.runs[comp]["duplex-loop"], 2)
	assert.Equal(t, []metric{metricBcastLast, metricBcastCPU}, plain.metrics())
	assert.Equal(t, []metric{metricCPU}, row{"echo", 16, 50, false}.metrics())
	assert.Equal(t, "1 KiB broadcast to 10,000 conns, permessage-deflate: until the last had it (ms)", comp.title())
	assert.Equal(t, "1 KiB broadcast to 10,000 conns, uncompressed: server CPU per broadcast (ms)", plain.measure(metricBcastCPU))
}

func TestRenderBroadcast(t *testing.T) {
	res, err := readResults(strings.NewReader(bcastFixture(t)))
	require.NoError(t, err)
	var b strings.Builder
	m := meta{servers: []string{"duplex", "duplex-loop", "gorilla", "coder", "gws"}, ref: "duplex", pinned: true}
	require.NoError(t, render(&b, m, res))
	md := b.String()

	// Summary: medians of 40 and 60 (±20%), 30 and 45, ... per server;
	// coder ran no broadcast.
	assert.Contains(t, md, "| 1 KiB broadcast to 10,000 conns, uncompressed: until the last had it (ms) | 50.0 ±20% | 37.5 ±20% | 100 ±20% | – | 62.5 ±20% |")
	assert.Contains(t, md, "| 1 KiB broadcast to 10,000 conns, permessage-deflate: server CPU per broadcast (ms) | 37.5 ±20% | 25.0 ±20% | 75.0 ±20% | – | 50.0 ±20% |")
	// Ratios against gorilla and gws (coder has none): 50/100, 50/62.5,
	// the best peer being gws; the loop variant is no peer.
	assert.Contains(t, md, "| measure | gorilla | coder | gws | best peer |")
	assert.Contains(t, md, "| 1 KiB broadcast to 10,000 conns, uncompressed: until the last had it (ms) | 0.50 | – | 0.80 | 0.80 |")
	assert.Contains(t, md, "| 1 KiB broadcast to 10,000 conns, permessage-deflate: server CPU per broadcast (ms) | 0.50 | – | 0.75 | 0.75 |")
	// The detail of each row, every server that ran it.
	assert.Contains(t, md, "## 1 KiB broadcast to 10,000 conns, uncompressed\n")
	assert.Contains(t, md, "## 1 KiB broadcast to 10,000 conns, permessage-deflate\n")
	assert.Contains(t, md, "| duplex | 2 | 10 | 50.0 (40.0–60.0) | 25.0 | 45.0 | 55.0 | 37.5 (30.0–45.0) | 3.75 | 1,024 | 90% | 100% | 70% | 0.00 |")
	assert.Equal(t, 2, strings.Count(md, "\n| gws | 2 | 10 |"))
	assert.NotContains(t, md, "| coder | 2 |")
}

// TestRenderBroadcastKeepsHandWritten checks that a report of the
// broadcast rows alone keeps, as any report does, what was written by
// hand below the marker in the report it replaces.
func TestRenderBroadcastKeepsHandWritten(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(bcastFixture(t)), 0o644))
	out := filepath.Join(dir, "RESULTS.md")
	tail := keptMarker + "\n\n## Idle, by hand\n\n| idle | 6.4 |\n"
	require.NoError(t, os.WriteFile(out, []byte("# old\n\n"+tail), 0o644))
	m := meta{command: "bench/run.sh --rows broadcast", servers: []string{"duplex", "gorilla", "gws"}, ref: "duplex", pinned: true}
	require.NoError(t, run(in, out, m, time.Now().Format(time.RFC3339)))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)
	assert.True(t, strings.HasSuffix(md, tail))
	assert.Contains(t, md, "## 1 KiB broadcast to 10,000 conns, permessage-deflate\n")
	assert.Less(t, strings.Index(md, "## 1 KiB broadcast"), strings.Index(md, keptMarker), "the generated part comes first")
}

// TestBurstRowsStandApart keeps an echo in bursts out of the echo row of the
// same size and connections: the two measure different sending.
func TestBurstRowsStandApart(t *testing.T) {
	burst := echo("duplex", 16, 50, 3, 200000)
	burst.Burst = true
	in := line(t, echo("duplex", 16, 50, 6, 100000)) + "\n" + line(t, burst) + "\n"
	res, err := readResults(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, []row{{"echo", 16, 50, false}, {"burst", 16, 50, false}}, res.rows)
	assert.InDelta(t, 3, res.runs[res.rows[1]]["duplex"][0].ServerCPUus, 1e-9)
	assert.Equal(t, metricCPU, res.rows[1].metric())
	assert.Equal(t, "server CPU per echoed 16 B message in bursts, 50 conns (us)", res.rows[1].title())
}
