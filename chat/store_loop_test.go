package chat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
	"duplex/conn"
)

// TestBrokerInLoop: with the broker and a Loop of one worker, a client's sends wait for NATS on their
// own, not on the worker: while the stream holds back every append of one room, a member of another
// room is still served and acked. Once let through, the held client's many sends are all acked, in the
// order sent, and each is stored once.
func TestBrokerInLoop(t *testing.T) {
	ns := startEmbedded(t, t.TempDir(), 0)
	b, err := broker.Connect(broker.Config{URLs: ns.ClientURL()})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	l, err := conn.NewLoop(&conn.LoopOptions{Workers: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	srv, hs := startServer(t, &chat.Config{Broker: b, Loop: l, Rate: 1e9, Burst: 1 << 30})
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	var held atomic.Bool
	held.Store(true)
	chat.SetAppendHook(srv.Hub(), func(room string) {
		if room == "slow" && held.Load() {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-hold
		}
	})

	ann := dial(t, wsURL(hs), nil)
	write(t, ann, chat.Event{Type: chat.KindJoin, Room: "slow", Nick: "ann"})
	readOf(t, ann, chat.KindWelcome)
	bob := dial(t, wsURL(hs), nil)
	write(t, bob, chat.Event{Type: chat.KindJoin, Room: "lobby", Nick: "bob"})
	readOf(t, bob, chat.KindWelcome)

	const n = 50
	for i := range n {
		write(t, ann, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("a", i), Text: fmt.Sprint("a", i)})
	}
	<-entered
	write(t, bob, chat.Event{Type: chat.KindSend, ID: "b0", Text: "b0"})
	ack := readOf(t, bob, chat.KindAck)
	assert.Equal(t, "b0", ack.ID, "another room's send is acked while the held room's appends wait")

	held.Store(false)
	close(hold)
	var acks []string
	msgs := map[string]int{}
	var last uint64
	for len(acks) < n || len(msgs) < n {
		ev, err := read(t, ann)
		require.NoError(t, err)
		switch ev.Type {
		case chat.KindAck:
			acks = append(acks, ev.ID)
			assert.Greater(t, ev.Seq, last, "acks in the order of the sends")
			last = ev.Seq
		case chat.KindMessage:
			msgs[ev.Text]++
		case chat.KindError:
			t.Fatalf("refused: %+v", ev)
		}
	}
	for i := range n {
		assert.Equal(t, fmt.Sprint("a", i), acks[i])
		assert.Equal(t, 1, msgs[fmt.Sprint("a", i)])
	}
	recs, _, err := b.Range(context.Background(), "slow", 0, 1<<20)
	require.NoError(t, err)
	stored := map[string]int{}
	for _, rec := range recs {
		if ev := decodeEvent(t, rec.Payload); ev.Type == chat.KindMessage {
			stored[ev.Text]++
		}
	}
	assert.Len(t, stored, n)
	for text, k := range stored {
		assert.Equal(t, 1, k, "%s stored once", text)
	}
}
