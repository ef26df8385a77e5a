package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat/broker"
)

// Short heartbeats keep the tests fast: entries expire 1s after a node's last beat.
const (
	testBeat   = 250 * time.Millisecond
	testMissed = 4
	testTTL    = testBeat * testMissed
)

func presence(t *testing.T, b *broker.Broker, node string) *broker.Presence {
	t.Helper()
	p, err := b.Presence(ctxT(t), broker.PresenceConfig{Node: node, Heartbeat: testBeat, Missed: testMissed})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// change is a Change with the time it was seen.
type change struct {
	broker.Change
	at time.Time
}

type watcher struct {
	mu  sync.Mutex
	chs []change
}

func (w *watcher) list() []broker.Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]broker.Change, len(w.chs))
	for i, c := range w.chs {
		out[i] = c.Change
	}
	return out
}

func (w *watcher) at(i int) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.chs[i].at
}

func watch(t *testing.T, p *broker.Presence, room string) *watcher {
	t.Helper()
	w := &watcher{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- p.Watch(ctx, room, func(c broker.Change) {
			w.mu.Lock()
			w.chs = append(w.chs, change{c, time.Now()})
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
	})
	return w
}

func joined(m string) broker.Change { return broker.Change{Member: m, Joined: true} }
func left(m string) broker.Change   { return broker.Change{Member: m, Joined: false} }

func TestPresenceAcrossNodes(t *testing.T) {
	s := start(t, t.TempDir(), 0)
	pa := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-a")
	pb := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-b")
	ctx := ctxT(t)

	require.NoError(t, pa.Join(ctx, "lobby", "ada"))
	w := watch(t, pb, "lobby") // starts with ada already there
	require.NoError(t, pb.Join(ctx, "lobby", "bob"))
	require.NoError(t, pa.Join(ctx, "elsewhere", "eve"))

	members, err := pb.Members(ctx, "lobby")
	require.NoError(t, err)
	assert.Equal(t, []string{"ada", "bob"}, members, "each node sees members of every node")

	// A member present through two nodes joins once and leaves when the last node lets go.
	require.NoError(t, pa.Join(ctx, "lobby", "cy"))
	require.NoError(t, pb.Join(ctx, "lobby", "cy"))
	require.NoError(t, pa.Leave(ctx, "lobby", "cy"))
	members, err = pa.Members(ctx, "lobby")
	require.NoError(t, err)
	assert.Equal(t, []string{"ada", "bob", "cy"}, members)
	require.NoError(t, pb.Leave(ctx, "lobby", "cy"))

	want := []broker.Change{joined("ada"), joined("bob"), joined("cy"), left("cy")}
	require.Eventually(t, func() bool { return len(w.list()) >= len(want) }, 5*time.Second, 10*time.Millisecond)
	// Several heartbeats pass: rewrites of present entries must not show as joins.
	time.Sleep(2 * testBeat)
	assert.Equal(t, want, w.list())
}

// A node that stops beating (its process died: here its connection is cut without a leave) drops out
// of every other node's view within Heartbeat x Missed, without anyone cleaning up after it.
func TestPresenceOfADeadNodeExpires(t *testing.T) {
	s := start(t, t.TempDir(), 0)
	ba := connect(t, broker.Config{URLs: s.ClientURL()})
	pa := presence(t, ba, "node-a")
	pb := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-b")
	ctx := ctxT(t)
	require.NoError(t, pa.Join(ctx, "lobby", "ada"))
	require.NoError(t, pb.Join(ctx, "lobby", "bob"))
	w := watch(t, pb, "lobby")
	require.Eventually(t, func() bool { return len(w.list()) == 2 }, 5*time.Second, 10*time.Millisecond)

	died := time.Now()
	ba.Close()
	require.Eventually(t, func() bool { return len(w.list()) == 3 }, testTTL+3*time.Second, 10*time.Millisecond)
	assert.Equal(t, left("ada"), w.list()[2])
	took := w.at(2).Sub(died)
	t.Logf("dead node's member left after %v (TTL %v)", took, testTTL)
	// The entry goes by expiry, not because the connection closed: not long before the TTL (the
	// last beat came up to a beat before the death, later under load), and within the stated time.
	assert.GreaterOrEqual(t, took, testTTL/2)
	assert.Less(t, took, testTTL+time.Second)

	members, err := pb.Members(ctx, "lobby")
	require.NoError(t, err)
	assert.Equal(t, []string{"bob"}, members, "bob's node kept beating")
}

// A clean Close removes the node's entries at once, without waiting for them to expire.
func TestPresenceCloseLeavesAtOnce(t *testing.T) {
	s := start(t, t.TempDir(), 0)
	pa, err := connect(t, broker.Config{URLs: s.ClientURL()}).Presence(ctxT(t),
		broker.PresenceConfig{Node: "node-a", Heartbeat: 5 * time.Second, Missed: 3})
	require.NoError(t, err)
	pb := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-b")
	require.NoError(t, pa.Join(ctxT(t), "lobby", "ada"))
	w := watch(t, pb, "lobby")
	require.Eventually(t, func() bool { return len(w.list()) == 1 }, 5*time.Second, 10*time.Millisecond)
	closed := time.Now()
	pa.Close()
	pa.Close() // a second Close is harmless
	require.Eventually(t, func() bool { return len(w.list()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, left("ada"), w.list()[1])
	assert.Less(t, w.at(1).Sub(closed), time.Second, "well before the 15s TTL")
}

// Presence outlives a NATS restart: the bucket is still there, and the heartbeats of a node that stayed
// up keep its members in every node's view.
func TestPresenceSurvivesServerRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, 0)
	url := s.ClientURL()
	status := make(chan bool, 16)
	pa := presence(t, connect(t, broker.Config{URLs: url, OnStatus: func(up bool) { status <- up }}), "node-a")
	require.NoError(t, pa.Join(ctxT(t), "lobby", "ada"))
	// Both nodes bound the bucket before the restart; neither creates it again after.
	pb := presence(t, connect(t, broker.Config{URLs: url}), "node-b")

	s.Shutdown()
	require.False(t, nextStatus(t, status))
	var port int
	_, err := fmt.Sscanf(url, "nats://127.0.0.1:%d", &port)
	require.NoError(t, err)
	start(t, dir, port)
	require.True(t, nextStatus(t, status), "reconnected")
	// Past one TTL, only a resumed heartbeat can have kept ada's entry.
	time.Sleep(testTTL + testBeat)
	members, err := pb.Members(ctxT(t), "lobby")
	require.NoError(t, err)
	assert.Equal(t, []string{"ada"}, members)
}

// A watch carries on across a NATS restart, and a node that died during the outage is reported gone
// once the watcher is back, whether it sees the expiry or reads the room afresh.
func TestPresenceWatchAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, 0)
	url := s.ClientURL()
	ba := connect(t, broker.Config{URLs: url})
	pa := presence(t, ba, "node-a")
	pb := presence(t, connect(t, broker.Config{URLs: url}), "node-b")
	require.NoError(t, pa.Join(ctxT(t), "lobby", "ada"))
	require.NoError(t, pb.Join(ctxT(t), "lobby", "bob"))
	w := watch(t, pb, "lobby")
	require.Eventually(t, func() bool { return len(w.list()) == 2 }, 5*time.Second, 10*time.Millisecond)

	s.Shutdown()
	ba.Close()                       // node a dies while NATS is away
	time.Sleep(testTTL + 2*testBeat) // past ada's TTL
	var port int
	_, err := fmt.Sscanf(url, "nats://127.0.0.1:%d", &port)
	require.NoError(t, err)
	start(t, dir, port)

	present := func() []string {
		in := map[string]bool{}
		for _, c := range w.list() {
			in[c.Member] = c.Joined
		}
		var out []string
		for m, ok := range in {
			if ok {
				out = append(out, m)
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		p := present()
		return len(p) == 1 && p[0] == "bob"
	}, 10*time.Second, 20*time.Millisecond, "changes seen: %v", w.list())
	// Each change alternates per member: never two joins or two leaves in a row.
	last := map[string]bool{}
	for _, c := range w.list() {
		prev, seen := last[c.Member]
		assert.True(t, !seen || prev != c.Joined, "%v repeated", c)
		last[c.Member] = c.Joined
	}
}

// TestPresenceEntriesCarryValues: JoinWith's value reaches Entries and WatchEntries on other nodes,
// a new value shows as the entry again, a leave as the entry going, and heartbeats show as nothing.
func TestPresenceEntriesCarryValues(t *testing.T) {
	s := start(t, t.TempDir(), 0)
	pa := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-a")
	pb := presence(t, connect(t, broker.Config{URLs: s.ClientURL()}), "node-b")
	ctx := ctxT(t)
	require.NoError(t, pa.JoinWith(ctx, "lobby", "ada", []byte("s1")))
	entries, err := pb.Entries(ctx, "lobby")
	require.NoError(t, err)
	assert.Equal(t, []broker.Entry{{Member: "ada", Node: "node-a", Value: []byte("s1"), Present: true}}, entries)

	var mu sync.Mutex
	var seen []broker.Entry
	wctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- pb.WatchEntries(wctx, "lobby", func(e broker.Entry) {
			mu.Lock()
			seen = append(seen, e)
			mu.Unlock()
		})
	}()
	defer func() {
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
	}()
	n := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	require.Eventually(t, func() bool { return n() == 1 }, 5*time.Second, 10*time.Millisecond, "the initial entry")
	want := []broker.Entry{
		{Member: "ada", Node: "node-a", Value: []byte("s1"), Present: true},
		{Member: "bob", Node: "node-b", Value: []byte("s2"), Present: true},
		{Member: "ada", Node: "node-a", Value: []byte("s3"), Present: true},
		{Member: "ada", Node: "node-a"},
	}
	// One step at a time, each seen before the next: a watcher that restarts (a loaded machine's
	// missed pings) reports only the difference, which would fold a value and a leave into one.
	require.NoError(t, pb.JoinWith(ctx, "lobby", "bob", []byte("s2")))
	require.Eventually(t, func() bool { return n() >= 2 }, 5*time.Second, 10*time.Millisecond, "bob")
	require.NoError(t, pa.JoinWith(ctx, "lobby", "ada", []byte("s3")))
	require.Eventually(t, func() bool { return n() >= 3 }, 5*time.Second, 10*time.Millisecond, "ada's new value")
	require.NoError(t, pa.Leave(ctx, "lobby", "ada"))
	require.Eventually(t, func() bool { return n() >= 4 }, 5*time.Second, 10*time.Millisecond, "ada's leave")
	// Several heartbeats: neither a rewrite of bob nor a late one of ada (a heartbeat that listed ada
	// before the leave) may show.
	time.Sleep(3 * testBeat)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, want, seen)
}
