package chat_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"duplex/chat"
)

// BenchmarkBroadcast measures one message from post to delivery in every member's socket, for rooms of
// several sizes.
func BenchmarkBroadcast(b *testing.B) {
	for _, members := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("members-", members), func(b *testing.B) {
			h := newHarness(b, &chat.Config{Rate: 1e9, Burst: 1 << 30, MaxConnsPerIP: members + 1, QueueSize: 1 << 16})
			var drained sync.WaitGroup
			drain := func(f *fakeSocket) { // reads until it has seen b.N messages
				drained.Add(1)
				go func() {
					defer drained.Done()
					for n := 0; n < b.N; {
						// A prefix test rather than a decode, so the benchmark measures the hub, not this loop.
						if bytes.HasPrefix(<-f.out, []byte(`{"type":"message"`)) {
							n++
						}
					}
				}()
			}
			sender, _ := h.join(b, "", "sender")
			drain(sender)
			for i := range members - 1 {
				f, _ := h.join(b, "", fmt.Sprint("m", i))
				drain(f)
			}
			b.ResetTimer()
			for range b.N {
				sender.send(b, chat.Event{Type: chat.KindSend, Text: "benchmark message of a typical length, about sixty bytes"})
			}
			drained.Wait()
			b.ReportMetric(float64(b.N*members)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
