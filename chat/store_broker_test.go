package chat_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
)

// node is one chat hub on a broker, as cmd/chat runs it; stop shuts the hub down, then closes the broker.
type node struct {
	h *harness
	b *broker.Broker
	p *broker.Presence // nil without presence across nodes
}

// startNode connects a broker to urls and runs a hub on it. The hub is shut down before the broker
// closes, at the end of the test or at stop.
func startNode(t testing.TB, urls string) *node {
	t.Helper()
	return startNodeWith(t, broker.Config{URLs: urls})
}

func startNodeWith(t testing.TB, cfg broker.Config) *node {
	t.Helper()
	return startNodeOpts(t, cfg, nodeOpts{})
}

// nodeOpts are a test node's settings beyond the broker's.
type nodeOpts struct {
	chat     func(*chat.Config) // changes the hub's config, if set
	presence string             // the node's presence name; "" runs without presence across nodes
	beat     time.Duration      // the presence heartbeat (TTL three of them)
}

func startNodeOpts(t testing.TB, cfg broker.Config, o nodeOpts) *node {
	t.Helper()
	cfg.ReconnectWait = 50 * time.Millisecond
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	var hub atomic.Pointer[chat.Hub]
	cfg.OnStatus = func(up bool) {
		if h := hub.Load(); h != nil {
			h.StoreStatus(up)
		}
	}
	b, err := broker.Connect(cfg)
	require.NoError(t, err)
	t.Cleanup(b.Close) // runs after the harness's shutdown, registered below
	ccfg := &chat.Config{Broker: b, Grace: -1, Rate: 1e9, Burst: 1 << 30, MaxConnsPerIP: 100, QueueSize: 1 << 16}
	if o.presence != "" {
		p, err := b.Presence(context.Background(), broker.PresenceConfig{Node: o.presence, Heartbeat: o.beat})
		require.NoError(t, err)
		t.Cleanup(p.Close) // after the hub's shutdown, before the broker's close
		ccfg.Presence = p
	}
	if o.chat != nil {
		o.chat(ccfg)
	}
	n := &node{h: newHarness(t, ccfg), b: b, p: ccfg.Presence}
	hub.Store(n.h.hub)
	return n
}

func (n *node) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, n.h.hub.Shutdown(ctx))
	n.h.wg.Wait()
	if n.p != nil {
		n.p.Close()
	}
	n.b.Close()
}

// kill is a node dying: its NATS connection goes first, with whatever was in flight, then its clients'
// connections.
func (n *node) kill(t testing.TB) {
	t.Helper()
	n.b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, n.h.hub.Shutdown(ctx))
	n.h.wg.Wait()
}

// joinAs joins room as nick with since and epoch, and returns the socket and the welcome. A join
// refused as unavailable, as it may be while a cluster that just formed places the room's stream,
// is tried again after its retry_ms, as a client does, for up to wait.
func (n *node) joinAs(t testing.TB, room, nick string, since uint64, epoch string) (*fakeSocket, chat.Event) {
	t.Helper()
	f := n.h.connect(1024)
	deadline := time.Now().Add(wait)
	for {
		f.send(t, chat.Event{Type: chat.KindJoin, Room: room, Nick: nick, Since: since, Epoch: epoch})
		w := f.next(t)
		if w.Type == chat.KindError && w.Code == chat.ErrCodeUnavailable && w.RetryMS > 0 && time.Now().Before(deadline) {
			t.Logf("join of %s refused as unavailable: trying again in %d ms", nick, w.RetryMS)
			time.Sleep(time.Duration(w.RetryMS) * time.Millisecond)
			continue
		}
		require.Equal(t, chat.KindWelcome, w.Type, "welcome expected, got %+v", w)
		return f, w
	}
}

// say sends text with id and returns the seq of its ack, reading past the broadcasts that come first.
func say(t testing.TB, f *fakeSocket, id, text string) uint64 {
	t.Helper()
	f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: text})
	for {
		ev := f.next(t)
		require.NotEqual(t, chat.KindError, ev.Type, "send %s refused: %+v", id, ev)
		if ev.Type == chat.KindAck && ev.ID == id {
			return ev.Seq
		}
	}
}

// startEmbedded runs an embedded NATS server on dir at port (0: any) and returns it; the test stops it
// at its end unless it was stopped before.
func startEmbedded(t testing.TB, dir string, port int) *broker.Server {
	t.Helper()
	s, err := broker.StartEmbedded(broker.Options{Dir: dir, Port: port})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

func portOf(t testing.TB, s *broker.Server) int {
	t.Helper()
	u, err := url.Parse(s.ClientURL())
	require.NoError(t, err)
	_, p, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	return port
}

// TestBrokerRestartKeepsHistoryAndEpoch: a chat node and its embedded NATS stop and start again on the
// same directory. The room keeps its epoch and numbering, a client resuming with since gets exactly
// the events it missed, and a resend of an acked id is acked with its first seq and not stored again.
func TestBrokerRestartKeepsHistoryAndEpoch(t *testing.T) {
	dir := t.TempDir()
	ns := startEmbedded(t, dir, 0)
	n := startNode(t, ns.ClientURL())
	ada, w := n.joinAs(t, "r", "ada", 0, "")
	epoch := w.Epoch
	require.NotEmpty(t, epoch)
	joined := ada.nextOf(t, chat.KindJoined)
	require.Equal(t, "ada", joined.Nick)
	seen := say(t, ada, "m1", "one")
	s2 := say(t, ada, "m2", "two")
	s3 := say(t, ada, "m3", "three")
	assert.Equal(t, []uint64{seen + 1, seen + 2}, []uint64{s2, s3}, "the stream numbers sends without gaps")
	n.stop(t)
	ns.Shutdown()

	ns = startEmbedded(t, dir, 0)
	n = startNode(t, ns.ClientURL())
	ada, w = n.joinAs(t, "r", "ada", seen, epoch)
	assert.Equal(t, epoch, w.Epoch, "the epoch outlives a restart")
	assert.Equal(t, s3, w.Seq)
	assert.False(t, w.More)
	var texts []string
	var seqs []uint64
	for _, raw := range w.History {
		ev := decodeEvent(t, raw)
		texts = append(texts, ev.Text)
		seqs = append(seqs, ev.Seq)
	}
	assert.Equal(t, []string{"two", "three"}, texts, "exactly what was missed")
	assert.Equal(t, []uint64{s2, s3}, seqs)

	j := ada.nextOf(t, chat.KindJoined).Seq
	assert.Equal(t, s3+1, j)
	// A resend of an id acked before the restart: acked with the first seq, stored once.
	assert.Equal(t, s2, say(t, ada, "m2", "two"))
	ada.send(t, chat.Event{Type: chat.KindSend, ID: "m4", Text: "four"})
	var got []chat.Event
	for {
		ev := ada.next(t)
		if ev.Type == chat.KindMessage {
			got = append(got, ev)
		}
		if ev.Type == chat.KindAck && ev.ID == "m4" {
			assert.Equal(t, j+1, ev.Seq, "the resend took no seq")
			break
		}
	}
	if len(got) == 0 { // the ack may come before the broadcast
		got = append(got, ada.nextOf(t, chat.KindMessage))
	}
	require.Len(t, got, 1)
	assert.Equal(t, "four", got[0].Text)
	assert.Equal(t, j+1, got[0].Seq)
}

// TestBrokerOutageRefusesSends: while the NATS server is down a send is refused with unavailable and
// never acked; once it is back the node reconnects by itself, sends are stored again, the refused one
// can be resent, and every member hears them in order.
func TestBrokerOutageRefusesSends(t *testing.T) {
	dir := t.TempDir()
	ns := startEmbedded(t, dir, 0)
	port := portOf(t, ns)
	n := startNode(t, ns.ClientURL())
	ada, _ := n.joinAs(t, "r", "ada", 0, "")
	ada.nextOf(t, chat.KindJoined)
	ada.send(t, chat.Event{Type: chat.KindSend, ID: "m1", Text: "one"})
	s1, heard := nextAckOrMessage(t, ada, "m1", "one")
	require.Equal(t, s1, heard)

	ns.Shutdown()
	require.Eventually(t, func() bool { return !n.b.Available() }, wait, tick)
	notice := ada.next(t)
	assert.Equal(t, chat.KindError, notice.Type, "members are told the store is gone: %+v", notice)
	assert.Equal(t, chat.ErrCodeUnavailable, notice.Code)
	assert.Empty(t, notice.ID)
	ada.send(t, chat.Event{Type: chat.KindSend, ID: "m2", Text: "two"})
	ev := ada.next(t)
	require.Equal(t, chat.KindError, ev.Type, "a send while NATS is down: %+v", ev)
	assert.Equal(t, chat.ErrCodeUnavailable, ev.Code)
	assert.Equal(t, "m2", ev.ID)
	assert.Positive(t, ev.RetryMS)

	startEmbedded(t, dir, port)
	require.Eventually(t, n.b.Available, wait, tick)
	back := ada.nextOf(t, chat.KindError)
	assert.Equal(t, chat.CodeAvailable, back.Code, "and that it is back")
	ada.send(t, chat.Event{Type: chat.KindSend, ID: "m2", Text: "two"})
	s2, heard2 := nextAckOrMessage(t, ada, "m2", "two")
	assert.Equal(t, s1+1, s2, "the refused send was not stored")
	assert.Equal(t, s2, heard2, "the subscription resumed after the outage")
}

// TestBrokerNodesShareARoom: two chat nodes on one NATS server; members on both hear every message
// once, in the same order, each sender acked with the seq every member sees.
func TestBrokerNodesShareARoom(t *testing.T) {
	ns := startEmbedded(t, t.TempDir(), 0)
	a, b := startNode(t, ns.ClientURL()), startNode(t, ns.ClientURL())
	ada, _ := a.joinAs(t, "r", "ada", 0, "")
	bob, _ := b.joinAs(t, "r", "bob", 0, "")
	const each = 10
	acks := map[string]uint64{}
	for i := range each {
		for _, s := range []struct {
			f    *fakeSocket
			nick string
		}{{ada, "ada"}, {bob, "bob"}} {
			id := s.nick + strconv.Itoa(i)
			s.f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: id})
		}
	}
	order := func(f *fakeSocket, nick string) []string {
		var texts []string
		for len(texts) < 2*each {
			ev := f.next(t)
			switch ev.Type {
			case chat.KindMessage:
				texts = append(texts, ev.Text+"@"+strconv.FormatUint(ev.Seq, 10))
			case chat.KindAck:
				acks[ev.ID] = ev.Seq
			case chat.KindError:
				t.Fatalf("%s refused: %+v", nick, ev)
			}
		}
		return texts
	}
	fromA, fromB := order(ada, "ada"), order(bob, "bob")
	assert.Equal(t, fromA, fromB, "both nodes deliver the room in one order")
	for id, seq := range acks {
		assert.Contains(t, fromA, id+"@"+strconv.FormatUint(seq, 10), "ack of %s names the seq delivered", id)
	}
}

// TestBrokerResumeOlderThanTheCache: a client resumes from a seq older than the events the node keeps
// at hand (History 5): the welcome reads the rest from the stream and holds every event after since
// exactly once, in order, without more.
func TestBrokerResumeOlderThanTheCache(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), 0)
	n := startNodeOpts(t, broker.Config{URLs: s.ClientURL()}, nodeOpts{chat: func(c *chat.Config) { c.History = 5 }})
	f, w := n.joinAs(t, "lobby", "ann", 0, "")
	since := say(t, f, "m0", "m0")
	var last uint64
	for i := 1; i < 20; i++ {
		last = say(t, f, fmt.Sprint("m", i), fmt.Sprint("m", i))
	}
	// The node applies the events as its subscription brings them back, which may be after their
	// acks; a resume from ahead of the node gets them as they come rather than in its welcome.
	require.Eventually(t, func() bool { return chat.RoomSeq(n.h.hub, "lobby") >= last }, wait, tick)
	_, w2 := n.joinAs(t, "lobby", "bob", since, w.Epoch)
	assert.False(t, w2.More, "every event after since fits the welcome")
	var seqs []uint64
	var texts []string
	for _, raw := range w2.History {
		ev := decodeEvent(t, raw)
		seqs = append(seqs, ev.Seq)
		if ev.Type == chat.KindMessage {
			texts = append(texts, ev.Text)
		}
	}
	require.NotEmpty(t, seqs, "welcome %+v (since %d, last %d)", w2, since, last)
	assert.Equal(t, since+1, seqs[0])
	for i := 1; i < len(seqs); i++ {
		assert.Equal(t, seqs[i-1]+1, seqs[i], "consecutive, each once")
	}
	assert.GreaterOrEqual(t, seqs[len(seqs)-1], last)
	var want []string
	for i := 1; i < 20; i++ {
		want = append(want, fmt.Sprint("m", i))
	}
	assert.Equal(t, want, texts)
}
