package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat/broker"
	"duplex/chat/broker/brokertest"
)

var startCluster = brokertest.StartCluster

// Three servers in a cluster, three Brokers (one per server, as three chat nodes would be) appending
// to one room at once: every append is acknowledged, every subscriber sees every record exactly once
// and all in the same order. Halfway, the server under the first Broker is killed: the others carry
// on, the first Broker reconnects to a surviving server, its subscription resumes without a gap, and
// its appends, retried with the same id as a chat client would resend, are stored once.
func TestClusterOneRoomThreeNodes(t *testing.T) {
	const (
		nodes   = 3
		perNode = 20
		room    = "lobby"
	)
	t0 := time.Now()
	servers := startCluster(t, nodes)
	t.Logf("cluster formed in %v", time.Since(t0))
	// Put the first node on the server that leads the room's stream, so the kill below is the worst
	// case: the stream has no leader until the survivors elect one (4-9s in nats-server).
	setup := connect(t, broker.Config{URLs: servers[0].ClientURL(), Replicas: nodes})
	before, err := setup.Info(ctxT(t), room)
	require.NoError(t, err)
	setup.Close()
	for i, s := range servers {
		if s.JetStreamIsStreamLeader("$G", "CHAT_ROOM_"+room) {
			servers[0], servers[i] = servers[i], servers[0]
		}
	}
	require.True(t, servers[0].JetStreamIsStreamLeader("$G", "CHAT_ROOM_"+room))
	status := make(chan bool, 16)
	var brokers []*broker.Broker
	for i, s := range servers {
		cfg := broker.Config{URLs: s.ClientURL(), Name: fmt.Sprint("node-", i), Replicas: nodes, Timeout: 2 * time.Second}
		if i == 0 {
			cfg.OnStatus = func(up bool) { status <- up }
		}
		brokers = append(brokers, connect(t, cfg))
	}
	// Presence is shared too: each node sees the members of every node, whichever server it is on.
	var pres []*broker.Presence
	for i, b := range brokers {
		p, err := b.Presence(ctxT(t), broker.PresenceConfig{Node: fmt.Sprint("node-", i)})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		require.NoError(t, p.Join(ctxT(t), room, fmt.Sprint("user-", i)))
		pres = append(pres, p)
	}
	// Each node's view is the replicated bucket as its server has it, which may lag the joins
	// just made on the others by a moment.
	for i, p := range pres {
		deadline := time.Now().Add(10 * time.Second)
		members, err := p.Members(ctxT(t), room)
		for err == nil && len(members) < nodes && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			members, err = p.Members(ctxT(t), room)
		}
		require.NoError(t, err)
		assert.Equal(t, []string{"user-0", "user-1", "user-2"}, members, "node %d", i)
	}

	var subs []*collector
	for _, b := range brokers {
		subs = append(subs, subscribe(t, b, room, 0))
	}

	type ack struct {
		id  string
		seq uint64
	}
	acks := make(chan ack, nodes*perNode)
	var sent sync.WaitGroup
	half := make(chan struct{}, nodes*perNode)
	errs := make(chan error, nodes)
	var retries atomic.Int64
	for n, b := range brokers {
		sent.Add(1)
		go func() {
			defer sent.Done()
			for i := range perNode {
				id := fmt.Sprintf("n%d-%d", n, i)
				seq, tries, err := appendRetrying(b, room, id, []byte(id), 30*time.Second)
				retries.Add(int64(tries - 1))
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
				acks <- ack{id, seq}
				half <- struct{}{}
			}
		}()
	}
	for range nodes * perNode / 2 {
		<-half
	}
	killed := servers[0].ClientURL()
	t.Logf("half sent at %v", time.Since(t0))
	servers[0].Shutdown()
	t.Logf("killed at %v", time.Since(t0))
	sent.Wait()
	t.Logf("all sent at %v", time.Since(t0))
	close(acks)
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	t.Logf("appends retried after a failure: %d", retries.Load())
	seqOf := map[string]uint64{}
	bySeq := map[uint64]string{}
	for a := range acks {
		seqOf[a.id] = a.seq
		other, dup := bySeq[a.seq]
		assert.False(t, dup, "seq %d acknowledged for %s and %s", a.seq, other, a.id)
		bySeq[a.seq] = a.id
	}
	const total = nodes * perNode
	require.Len(t, seqOf, total, "every append acknowledged")
	for s := uint64(1); s <= total; s++ {
		assert.Contains(t, bySeq, s, "acknowledged seqs are 1..%d with no gap", total)
	}

	for i, c := range subs {
		require.Eventually(t, func() bool { return c.len() >= total }, 20*time.Second, 20*time.Millisecond,
			"subscriber %d got %d of %d", i, c.len(), total)
	}
	t.Logf("all received at %v", time.Since(t0))
	time.Sleep(100 * time.Millisecond) // room for a wrong repeat to arrive
	for i, c := range subs {
		assert.Equal(t, seqRange(1, total), c.seqs(), "subscriber %d: every record once, in order", i)
		c.mu.Lock()
		for _, r := range c.recs {
			assert.Equal(t, bySeq[r.Seq], string(r.Payload), "subscriber %d seq %d", i, r.Seq)
			assert.Equal(t, bySeq[r.Seq], r.ID)
		}
		c.mu.Unlock()
	}
	assert.Equal(t, []bool{false, true}, drain(status), "the first node saw NATS go and come back")
	assert.True(t, brokers[0].Available(), "the first node reconnected")
	assert.NotEqual(t, killed, brokers[0].ConnectedURL(), "to a surviving server")
	info, err := brokers[1].Info(ctxT(t), room)
	require.NoError(t, err)
	assert.Equal(t, uint64(total), info.Count, "retried appends stored once")
	assert.Equal(t, before.Epoch, info.Epoch, "a new stream leader keeps the room's epoch")
}

// appendRetrying appends like a chat client that resends with the same id until it gets an ack.
func appendRetrying(b *broker.Broker, room, id string, payload []byte, within time.Duration) (seq uint64, tries int, err error) {
	deadline := time.Now().Add(within)
	for {
		tries++
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		seq, _, err = b.Append(ctx, room, id, payload)
		cancel()
		if err == nil {
			return seq, tries, nil
		}
		if errors.Is(err, broker.ErrClosed) || time.Now().After(deadline) {
			return 0, tries, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func drain(c chan bool) []bool {
	var out []bool
	for {
		select {
		case v := <-c:
			out = append(out, v)
		default:
			return out
		}
	}
}
