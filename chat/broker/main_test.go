package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"duplex/chat/broker"
)

// TestMain fails the package when a goroutine outlives the tests: a Subscribe, Watch or heartbeat that
// did not end, or a NATS client or server left running. nats-server and nats.go need no exceptions
// here: after Shutdown and Close they leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs an embedded server on dir and stops it when the test ends.
func start(t testing.TB, dir string, port int) *broker.Server {
	t.Helper()
	s, err := broker.StartEmbedded(broker.Options{Dir: dir, Port: port})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

// connect returns a Broker on url, closed when the test ends.
func connect(t testing.TB, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.Connect(cfg)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return b
}

// collector gathers what a subscription delivers, safe to read from the test goroutine.
type collector struct {
	mu   sync.Mutex
	recs []broker.Record
}

func (c *collector) add(r broker.Record) {
	c.mu.Lock()
	c.recs = append(c.recs, r)
	c.mu.Unlock()
}

func (c *collector) seqs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint64, len(c.recs))
	for i, r := range c.recs {
		out[i] = r.Seq
	}
	return out
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// subscribe runs Subscribe in a goroutine until the test ends and returns what it collects; the
// cleanup checks that it ended with the context's error.
func subscribe(t *testing.T, b *broker.Broker, room string, after uint64) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Subscribe(ctx, room, after, c.add) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Error("Subscribe did not return after its context ended")
		}
	})
	return c
}

// seqRange returns from, from+1, ..., to.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
