package chat

import (
	"fmt"
	"net/http"
)

// The metrics are written by hand in the Prometheus text format (version 0.0.4) rather than with
// github.com/prometheus/client_golang: the format of a dozen counters is four lines each and stable,
// and the library would add eight modules to the requirements of every module that builds cmd/chat,
// the browser tests' among them, for no counter it can compute better. The counters are read from
// Stats at each scrape, so the hot path keeps its plain atomic counters.

// metric is one exported counter or gauge.
type metric struct {
	name, kind, help string
	value            func(Stats) int64
}

var metrics = []metric{
	{"chat_connections_total", "counter", "WebSocket connections admitted.", func(s Stats) int64 { return s.ConnectionsTotal }},
	{"chat_connections_active", "gauge", "WebSocket connections open now.", func(s Stats) int64 { return s.ConnectionsActive }},
	{"chat_messages_in_total", "counter", "Messages read from clients.", func(s Stats) int64 { return s.MessagesIn }},
	{"chat_messages_out_total", "counter", "Messages written to clients.", func(s Stats) int64 { return s.MessagesOut }},
	{"chat_slow_clients_dropped_total", "counter", "Clients dropped for not keeping up (1013).", func(s Stats) int64 { return s.SlowDropped }},
	{"chat_rate_limited_total", "counter", "Messages refused with rate_limited for the sender's rate.", func(s Stats) int64 { return s.RateLimited }},
	{"chat_overloaded_total", "counter", "Sends refused with rate_limited because the room was behind.", func(s Stats) int64 { return s.Overloaded }},
	{"chat_abuse_closed_total", "counter", "Clients closed for ignoring rate_limited (1008).", func(s Stats) int64 { return s.AbuseClosed }},
	{"chat_too_long_total", "counter", "Sends refused with too_long.", func(s Stats) int64 { return s.TooLong }},
	{"chat_too_big_total", "counter", "Clients closed for a message over the read limit (1009).", func(s Stats) int64 { return s.TooBig }},
	{"chat_room_full_total", "counter", "Joins refused with room_full.", func(s Stats) int64 { return s.RoomFull }},
	{"chat_sessions_resumed_total", "counter", "Sessions resumed within the grace period.", func(s Stats) int64 { return s.Resumed }},
	{"chat_refused_per_address_total", "counter", "Connections refused by the per-address limit (1008).", func(s Stats) int64 { return s.RefusedPerIP }},
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	st := s.hub.Stats()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	for _, m := range metrics {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.kind, m.name, m.value(st))
	}
}
