package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
	"duplex/chat/broker/brokertest"
)

// startCluster starts three clustered JetStream servers on loopback and returns their client URLs
// once room's stream, replicated three times, exists: made here, once the meta group has a leader, so
// that the nodes' first joins do not race the cluster's forming.
func startCluster(t testing.TB, room string) []string {
	t.Helper()
	urls := brokertest.URLs(brokertest.StartCluster(t, 3))
	b, err := broker.Connect(broker.Config{URLs: urls[0], Replicas: 3, Timeout: time.Second})
	require.NoError(t, err)
	defer b.Close()
	require.Eventually(t, func() bool {
		_, err := b.Info(context.Background(), room)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "room %s not created", room)
	return urls
}

// view is what one client has seen of the room's messages, and the acks of its sends.
type view struct {
	f     *fakeSocket
	nick  string
	seqs  []uint64          // message seqs in the order received
	texts map[uint64]string // message text by seq
	acks  map[string]uint64 // ack seq by send id
	// draining: reading what a dead node still wrote; refusals are not resent on its socket
	draining bool
	moved    uint64 // the since of the resume after the node died
	src      []string
}

func newView(f *fakeSocket, nick string) *view {
	return &view{f: f, nick: nick, texts: map[uint64]string{}, acks: map[string]uint64{}}
}

// take records one event; a message seen twice fails the test.
func (v *view) take(t testing.TB, ev chat.Event) {
	t.Helper()
	switch ev.Type {
	case chat.KindMessage:
		_, dup := v.texts[ev.Seq]
		require.False(t, dup, "%s got message %d twice; seen %v; last at move %d", v.nick, ev.Seq, v.seqs, v.moved)
		v.seqs = append(v.seqs, ev.Seq)
		v.texts[ev.Seq] = ev.Text
	case chat.KindAck:
		v.acks[ev.ID] = ev.Seq
	case chat.KindError:
		// A page resends a refused send after retry_ms, as this does (with the same id).
		if ev.ID == "" {
			require.Contains(t, []string{chat.ErrCodeUnavailable, chat.CodeAvailable}, ev.Code, "%s: %+v", v.nick, ev)
			return // the dead node's notice that its store went away
		}
		require.Equal(t, chat.ErrCodeUnavailable, ev.Code, "%s: %+v", v.nick, ev)
		if v.draining {
			return // from a dead node: resent with the other unacked sends after the move
		}
		t.Logf("%s: send %s refused (%s), resent", v.nick, ev.ID, ev.Text)
		time.Sleep(time.Duration(ev.RetryMS) * time.Millisecond)
		v.f.send(t, chat.Event{Type: chat.KindSend, ID: ev.ID, Text: ev.ID})
	}
}

// until reads events into v until it has seen every text of want and the ack of each of its own.
func (v *view) until(t testing.TB, want []string) {
	t.Helper()
	for {
		have := map[string]bool{}
		for _, text := range v.texts {
			have[text] = true
		}
		missing := 0
		for _, w := range want {
			if !have[w] {
				missing++
			}
			if _, acked := v.acks[w]; strings.HasPrefix(w, v.nick+"-") && !acked {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		v.take(t, v.f.next(t))
	}
}

// TestBrokerClusterThreeNodes: three NATS servers in a cluster, three chat nodes, two clients on each,
// all in one room. Every client receives every message exactly once, in one order, and every send is
// acked with the seq the others see. Then a node dies with sends of its clients in flight: they
// reconnect to another node, resume with since, resend what was not acked, and end with every message
// exactly once, each of their sends stored once.
func TestBrokerClusterThreeNodes(t *testing.T) {
	urls := startCluster(t, "lobby")
	var nodes []*node
	for i, u := range urls {
		nodes = append(nodes, startNodeWith(t, broker.Config{URLs: u, Name: fmt.Sprint("node", i), Replicas: 3}))
	}
	var views []*view
	epoch := ""
	for i := range 6 {
		nick := fmt.Sprint("u", i)
		f, w := nodes[i%3].joinAs(t, "lobby", nick, 0, "")
		epoch = w.Epoch
		views = append(views, newView(f, nick))
	}
	var all []string
	for k := range 5 {
		for _, v := range views {
			id := fmt.Sprintf("%s-%d", v.nick, k)
			v.f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: id})
			all = append(all, id)
		}
	}
	for _, v := range views {
		v.until(t, all)
	}
	for _, v := range views {
		assert.Equal(t, views[0].seqs, v.seqs, "%s sees the room in the same order as %s", v.nick, views[0].nick)
		for id, seq := range v.acks {
			assert.Equal(t, id, views[0].texts[seq], "%s's ack of %s names its seq", v.nick, id)
		}
		for k := range 5 {
			assert.Contains(t, v.acks, fmt.Sprintf("%s-%d", v.nick, k), "every send is acked")
		}
	}

	// Node 0 dies with two sends of each of its clients in flight.
	dead := []*view{views[0], views[3]}
	for _, v := range dead {
		for k := range 2 {
			id := fmt.Sprintf("%s-p%d", v.nick, k)
			v.f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: id})
			all = append(all, id)
		}
	}
	nodes[0].kill(t)
	resent := 0
	for i, v := range dead {
		// Read what the dead node still delivered before it closed the connection.
		v.draining = true
		for {
			select {
			case b := <-v.f.out:
				var ev chat.Event
				require.NoError(t, json.Unmarshal(b, &ev))
				v.take(t, ev)
				continue
			case <-v.f.closed:
			}
			if len(v.f.out) == 0 {
				break
			}
		}
		last := uint64(0)
		if n := len(v.seqs); n > 0 {
			last = v.seqs[n-1]
		}
		v.moved = last
		f, w := nodes[1+i].joinAs(t, "lobby", v.nick, last, epoch)
		require.Equal(t, epoch, w.Epoch)
		require.False(t, w.More)
		for _, raw := range w.History {
			var ev chat.Event
			require.NoError(t, json.Unmarshal(raw, &ev))
			v.take(t, ev)
		}
		v.f, v.draining = f, false
		for k := range 2 {
			id := fmt.Sprintf("%s-p%d", v.nick, k)
			if _, acked := v.acks[id]; !acked {
				resent++
				v.f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: id})
			}
		}
	}
	t.Logf("%d of 4 in-flight sends resent after the node died", resent)
	for _, v := range views {
		v.until(t, all)
	}
	// Every client, the moved ones included, has every message exactly once (take fails on a repeat),
	// and the room holds each in-flight send once.
	for _, v := range views {
		assert.Len(t, v.texts, len(all), "%s has every message", v.nick)
	}
	count := map[string]int{}
	for _, text := range views[1].texts {
		count[text]++
	}
	for _, id := range all {
		assert.Equal(t, 1, count[id], "%s stored once", id)
	}
	rb, err := broker.Connect(broker.Config{URLs: urls[1]})
	require.NoError(t, err)
	defer rb.Close()
	recs, _, err := rb.Range(context.Background(), "lobby", 0, 0)
	require.NoError(t, err)
	stored := map[string]int{}
	for _, r := range recs {
		var ev chat.Event
		require.NoError(t, json.Unmarshal(r.Payload, &ev))
		if ev.Type == chat.KindMessage {
			stored[ev.Text]++
		}
	}
	for _, id := range all {
		assert.Equal(t, 1, stored[id], "the stream holds %s once", id)
	}
	assert.Len(t, stored, len(all))
}
