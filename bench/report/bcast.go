package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The broadcast rows: one message sent to every connection of a room, each
// server's library preparing it once (gorilla's PreparedMessage, gws's
// Broadcaster, duplex's PreparedMessage), uncompressed and compressed.

// compression names a broadcast row's variant.
func (r row) compression() string {
	if r.deflate {
		return "permessage-deflate"
	}
	return "uncompressed"
}

// renderBroadcastDetail writes every figure of a broadcast row, by server.
func renderBroadcastDetail(b *strings.Builder, m meta, res *results, r row) {
	fmt.Fprintf(b, "## %s broadcast to %s conns, %s\n\n", sizeName(r.size), thousands(float64(r.conns)), r.compression())
	b.WriteString("Times are from just before the control connection sent the message: \"until the last\" is the median over the rounds of when the last connection had it; the arrivals are every connection's of every round. CPU per delivery divides by the connections and the control connection's own copy.\n\n")
	b.WriteString("| server | runs | rounds | until the last (ms) | arrival p50 (ms) | arrival p99 (ms) | arrival max (ms) | server CPU (ms/broadcast) | server CPU (us/delivery) | bytes on the wire | server process CPU | server core busy | load core busy | other work (cores) |\n")
	b.WriteString("|---" + strings.Repeat("|---:", 13) + "|\n")
	for _, name := range m.serversOf(res, r) {
		recs := res.runs[r][name]
		med := func(f func(record) float64) string { return num(summarize(recs, f).median) }
		pct := func(f func(record) float64) string {
			return strconv.FormatFloat(summarize(recs, f).median*100, 'f', 0, 64) + "%"
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, len(recs),
			strconv.FormatFloat(summarize(recs, func(x record) float64 { return float64(x.Rounds) }).median, 'f', -1, 64),
			cell(recs, func(x record) float64 { return x.LastMedianms }),
			med(func(x record) float64 { return x.ArrivalP50ms }),
			med(func(x record) float64 { return x.ArrivalP99ms }),
			med(func(x record) float64 { return x.ArrivalMaxms }),
			cell(recs, func(x record) float64 { return x.BcastCPUms }),
			med(func(x record) float64 { return x.DeliveryCPU }),
			med(func(x record) float64 { return float64(x.WireBytes) }),
			pct(func(x record) float64 { return x.ServerCPU }),
			pct(func(x record) float64 { return x.ServerCore }),
			pct(func(x record) float64 { return x.LoadCore }),
			med(record.other))
	}
	b.WriteString("\n")
}
