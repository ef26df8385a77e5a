package chat_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"duplex/chat"
	"duplex/chat/broker"
)

// BenchmarkRoomOverNodes: members spread over one or three chat nodes in one room, a sender on each node
// taking turns; every member's socket is drained. It reports deliveries per second and the p50 and p99
// latency from a send to its delivery in a member's socket, in memory, on one embedded NATS server, and
// on a cluster of three NATS servers with the room replicated three times and a chat node on each, so
// the figures of one run compare them (run with a fixed count, e.g. -benchtime=300x; loopback only). The senders
// do not wait for acks, so in memory, where a send costs no round trip, sends outrun delivery and the
// latency is mostly queueing; on NATS each sender is paced by its Append round trip.
func BenchmarkRoomOverNodes(b *testing.B) {
	const members = 30
	for _, tc := range []struct {
		name    string
		nodes   int
		nats    bool
		cluster bool
	}{{"memory-1node", 1, false, false}, {"nats-1node", 1, true, false}, {"nats-3nodes", 3, true, false},
		{"cluster-3nodes", 3, true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var joiners []func(nick string) *fakeSocket
			var urls []string
			switch {
			case tc.cluster:
				urls = startCluster(b, "bench")
			case tc.nats:
				urls = []string{startEmbedded(b, b.TempDir(), 0).ClientURL()}
			}
			for i := range tc.nodes {
				if tc.nats {
					cfg := broker.Config{URLs: urls[i%len(urls)]}
					if tc.cluster {
						cfg.Replicas = 3
					}
					n := startNodeWith(b, cfg)
					joiners = append(joiners, func(nick string) *fakeSocket { f, _ := n.joinAs(b, "bench", nick, 0, ""); return f })
				} else {
					h := newHarness(b, &chat.Config{Rate: 1e9, Burst: 1 << 30, MaxConnsPerIP: members + 1, QueueSize: 1 << 16})
					joiners = append(joiners, func(nick string) *fakeSocket { f, _ := h.join(b, "bench", nick); return f })
				}
			}
			var mu sync.Mutex
			var lat []time.Duration
			var drained sync.WaitGroup
			drain := func(f *fakeSocket) {
				drained.Add(1)
				go func() {
					defer drained.Done()
					var mine []time.Duration
					for n := 0; n < b.N; {
						var ev chat.Event
						if json.Unmarshal(<-f.out, &ev) != nil || ev.Type != chat.KindMessage {
							continue
						}
						sent, err := strconv.ParseInt(ev.Text, 10, 64)
						if err != nil {
							continue
						}
						mine = append(mine, time.Since(time.Unix(0, sent)))
						n++
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			var senders []*fakeSocket
			for i := range members {
				f := joiners[i%tc.nodes](fmt.Sprint("m", i))
				drain(f)
				if i < tc.nodes {
					senders = append(senders, f)
				}
			}
			time.Sleep(200 * time.Millisecond) // let the joined notices pass
			b.ResetTimer()
			for i := range b.N {
				senders[i%len(senders)].send(b, chat.Event{Type: chat.KindSend, ID: "b" + strconv.Itoa(i), Text: strconv.FormatInt(time.Now().UnixNano(), 10)})
			}
			drained.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
