package broker_test

import (
	"context"
	"fmt"
	"testing"

	"duplex/chat/broker"
)

// BenchmarkAppend measures one acknowledged Append at a time (a chat node's send-to-ack path) on the
// embedded server and on a three-server cluster with three replicas, in the same run, so the two can be
// compared as a ratio. Parallel runs the same with 8 x GOMAXPROCS senders at once. The servers run in
// the benchmark's process, so B/op and allocs/op count theirs too.
//
//	go test ./chat/broker -run '^$' -bench Append -benchtime 2000x -count 3
func BenchmarkAppend(b *testing.B) {
	payload := make([]byte, 200) // a typical chat line with its JSON
	setups := []struct {
		name string
		url  func(b *testing.B) string
		reps int
	}{
		{"embedded", func(b *testing.B) string { return start(b, b.TempDir(), 0).ClientURL() }, 1},
		{"cluster3-r3", func(b *testing.B) string { return startCluster(b, 3)[0].ClientURL() }, 3},
	}
	for _, s := range setups {
		b.Run(s.name+"/serial", func(b *testing.B) {
			br := connect(b, broker.Config{URLs: s.url(b), Replicas: s.reps})
			ctx := context.Background()
			if _, _, err := br.Append(ctx, "bench", "warm", payload); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := br.Append(ctx, "bench", fmt.Sprint(i), payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/parallel", func(b *testing.B) {
			br := connect(b, broker.Config{URLs: s.url(b), Replicas: s.reps})
			ctx := context.Background()
			if _, _, err := br.Append(ctx, "bench", "warm", payload); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(8) // 16 senders on 2 cores, as many clients of one node would be
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// No id: this measures the log, not the duplicate index.
					if _, _, err := br.Append(ctx, "bench", "", payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
