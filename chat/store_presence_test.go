package chat_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
)

// beat is the presence heartbeat of these tests; entries expire after three missed ones.
const beat = 200 * time.Millisecond

// roster is one client's view of the room's members: its welcome's users, then every joined, left
// and members event after it, read by a goroutine of its own.
type roster struct {
	mu      sync.Mutex
	users   map[string]bool
	changes []string       // "+nick" and "-nick" in the order received, members events included
	counts  map[string]int // of each change
	notices int            // numbered joined and left notices
	members int            // members events
}

func follow(t *testing.T, f *fakeSocket, welcome chat.Event) *roster {
	t.Helper()
	r := &roster{users: map[string]bool{}, counts: map[string]int{}}
	for _, u := range welcome.Users {
		r.users[u] = true
	}
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			var b []byte
			select {
			case b = <-f.out:
			case <-stop:
				return
			}
			ev, err := jsonEvent(b)
			if err != nil {
				continue
			}
			r.mu.Lock()
			switch ev.Type {
			case chat.KindMessage:
				r.counts["m:"+ev.Text]++
			case chat.KindJoined:
				r.notices++
				r.apply(ev.Nick, true)
			case chat.KindLeft:
				r.notices++
				r.apply(ev.Nick, false)
			case chat.KindMembers:
				r.members++
				for _, n := range ev.Left {
					r.apply(n, false)
				}
				for _, n := range ev.Joined {
					r.apply(n, true)
				}
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return r
}

// apply notes a change, under r.mu.
func (r *roster) apply(nick string, joined bool) {
	change := "-" + nick
	if joined {
		r.users[nick] = true
		change = "+" + nick
	} else {
		delete(r.users, nick)
	}
	r.changes = append(r.changes, change)
	r.counts[change]++
}

// times is how often change ("+nick" or "-nick") was seen.
func (r *roster) times(change string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[change]
}

func (r *roster) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for u := range r.users {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func (r *roster) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// presenceNodes starts n chat nodes with presence on urls (one URL each, round robin).
func presenceNodes(t *testing.T, urls []string, n int, o nodeOpts) []*node {
	t.Helper()
	var nodes []*node
	for i := range n {
		oi := o
		oi.presence = fmt.Sprint("node", i)
		if oi.beat == 0 {
			oi.beat = beat
		}
		nodes = append(nodes, startNodeOpts(t, broker.Config{URLs: urls[i%len(urls)], Name: fmt.Sprint("node", i)}, oi))
	}
	return nodes
}

// eventuallyAll waits until every roster lists want.
func eventuallyAll(t *testing.T, within time.Duration, want []string, rs ...*roster) {
	t.Helper()
	for i, r := range rs {
		require.Eventually(t, func() bool { return slices.Equal(r.list(), want) }, within, tick,
			"roster %d: %v, want %v", i, r.list(), want)
	}
}

// storedKinds counts the kinds of the records of room in the stream.
func storedKinds(t *testing.T, b *broker.Broker, room string) map[chat.Kind]int {
	t.Helper()
	recs, _, err := b.Range(context.Background(), room, 0, 1<<20)
	require.NoError(t, err)
	out := map[chat.Kind]int{}
	for _, rec := range recs {
		out[decodeEvent(t, rec.Payload).Type]++
	}
	return out
}

// TestPresenceListsEveryNode: three chat nodes on a three-server cluster, a member on each. Every
// member's list holds all three, each joined is stored once, and a node that dies (its NATS connection
// gone, no clean-up) leaves the others' lists within the presence TTL, with one stored left per member.
func TestPresenceListsEveryNode(t *testing.T) {
	urls := startCluster(t, "lobby")
	nodes := presenceNodes(t, urls, 3, nodeOpts{})
	var rs []*roster
	for i, n := range nodes {
		f, w := n.joinAs(t, "lobby", fmt.Sprint("u", i), 0, "")
		rs = append(rs, follow(t, f, w))
	}
	eventuallyAll(t, wait, []string{"u0", "u1", "u2"}, rs...)
	// A newcomer's welcome lists the members of every node.
	_, w := nodes[1].joinAs(t, "lobby", "late", 0, "")
	assert.Equal(t, []string{"late", "u0", "u1", "u2"}, w.Users)
	eventuallyAll(t, wait, []string{"late", "u0", "u1", "u2"}, rs...)

	killed := time.Now()
	nodes[2].kill(t)
	ttl := 3 * beat
	// The TTL, plus the server's expiry pass and a loaded machine's scheduling (under -race on two
	// busy cores the pass has taken over two seconds).
	eventuallyAll(t, ttl+5*time.Second, []string{"late", "u0", "u1"}, rs[0], rs[1])
	t.Logf("a dead node's member left the others' lists %v after it died (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)

	require.Eventually(t, func() bool { return storedKinds(t, nodes[0].b, "lobby")[chat.KindLeft] == 1 }, wait, tick)
	kinds := storedKinds(t, nodes[0].b, "lobby")
	assert.Equal(t, 4, kinds[chat.KindJoined], "one joined per member, however many nodes announced it")
	time.Sleep(2 * beat) // time for a second left, if the nodes' dedupe failed
	assert.Equal(t, 1, storedKinds(t, nodes[0].b, "lobby")[chat.KindLeft], "one left for u2, though two nodes saw it go")
	for _, r := range rs[:2] {
		assert.Equal(t, 1, r.times("-u2"))
	}
}

// TestPresenceMoveAcrossNodes: a member whose connection drops resumes its session on another node
// within the grace period: nobody sees it leave or join, the old node lets go of it, and it leaves
// once, everywhere, when it leaves for good.
func TestPresenceMoveAcrossNodes(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), 0)
	grace := nodeOpts{chat: func(c *chat.Config) { c.Grace = 10 * time.Second }}
	nodes := presenceNodes(t, []string{s.ClientURL()}, 3, grace)
	fa, wa := nodes[0].joinAs(t, "lobby", "ann", 0, "")
	fb, wb := nodes[1].joinAs(t, "lobby", "bob", 0, "")
	rb := follow(t, fb, wb)
	fc, wc := nodes[2].joinAs(t, "lobby", "cy", 0, "")
	rc := follow(t, fc, wc)
	eventuallyAll(t, wait, []string{"ann", "bob", "cy"}, rb, rc)
	// Once the three joined notices are stored, a message after them is a barrier: whoever has it has
	// every notice before it.
	require.Eventually(t, func() bool { return storedKinds(t, nodes[1].b, "lobby")[chat.KindJoined] == 3 }, wait, tick)
	fc.send(t, chat.Event{Type: chat.KindSend, ID: "sync", Text: "sync"})
	require.Eventually(t, func() bool { return rb.times("m:sync") == 1 && rc.times("m:sync") == 1 }, wait, tick)
	before := len(rc.seen())

	fa.leave() // the network drops: ann keeps its place for the grace period
	f2 := nodes[2].h.connect(1024)
	f2.send(t, chat.Event{Type: chat.KindJoin, Room: "lobby", Nick: "ann", Session: wa.Session, Since: wa.Seq, Epoch: wa.Epoch})
	w2 := f2.nextOf(t, chat.KindWelcome)
	assert.Equal(t, wa.Session, w2.Session, "the same session, resumed on another node")
	assert.Equal(t, []string{"ann", "bob", "cy"}, w2.Users)
	// The old node lets go of it: its entry for ann goes, node 2's stays.
	require.Eventually(t, func() bool {
		entries, err := nodes[1].p.Entries(context.Background(), "lobby")
		if err != nil {
			return false
		}
		var where []string
		for _, e := range entries {
			if e.Member == "ann" {
				where = append(where, e.Node)
			}
		}
		return slices.Equal(where, []string{"node2"})
	}, wait, tick, "node0 lets go of ann")
	time.Sleep(5 * beat)
	assert.Equal(t, []string{"ann", "bob", "cy"}, rb.list())
	assert.Equal(t, []string{"ann", "bob", "cy"}, rc.list())
	assert.Empty(t, rc.seen()[before:], "no left or joined for a move within the grace period")
	assert.Equal(t, 3, storedKinds(t, nodes[1].b, "lobby")[chat.KindJoined], "ann's one joined, bob's and cy's")

	f2.bye() // ann leaves for good
	eventuallyAll(t, wait, []string{"bob", "cy"}, rb, rc)
	time.Sleep(2 * beat)
	assert.Equal(t, 1, rc.times("-ann"))
	assert.Equal(t, 1, storedKinds(t, nodes[1].b, "lobby")[chat.KindLeft])
}

// TestPresenceLargeRoomOverNodes: a room above PresenceBatch spread over two nodes sends its joins and
// leaves, those of the other node's members too, in members events, and stores no notice.
func TestPresenceLargeRoomOverNodes(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), 0)
	batch := nodeOpts{chat: func(c *chat.Config) { c.PresenceBatch, c.PresenceInterval = 2, 50*time.Millisecond }}
	nodes := presenceNodes(t, []string{s.ClientURL()}, 2, batch)
	var rs []*roster
	var want []string
	for i := range 3 {
		nick := fmt.Sprint("u", i)
		f, w := nodes[i%2].joinAs(t, "lobby", nick, 0, "")
		rs = append(rs, follow(t, f, w))
		want = append(want, nick)
		eventuallyAll(t, wait, want, rs...)
	}
	for i := 3; i < 8; i++ {
		nick := fmt.Sprint("u", i)
		f, w := nodes[i%2].joinAs(t, "lobby", nick, 0, "")
		rs = append(rs, follow(t, f, w))
		want = append(want, nick)
	}
	slices.Sort(want)
	eventuallyAll(t, wait, want, rs...)
	for i, r := range rs[:3] {
		r.mu.Lock()
		assert.Positive(t, r.members, "roster %d: members events", i)
		r.mu.Unlock()
	}
	time.Sleep(4 * 50 * time.Millisecond) // a few presence intervals, for any notice on its way
	// u0 and u1 joined a room of at most PresenceBatch members; the others did not.
	assert.Equal(t, map[chat.Kind]int{chat.KindJoined: 2}, storedKinds(t, nodes[0].b, "lobby"), "no notice stored above PresenceBatch")
}

// TestPresenceCleanShutdownLeavesAtOnce: a node that shuts down cleanly removes its members' entries,
// so the other nodes list them as gone at once, long before the presence TTL.
func TestPresenceCleanShutdownLeavesAtOnce(t *testing.T) {
	s := startEmbedded(t, t.TempDir(), 0)
	const slowBeat = 5 * time.Second // a TTL of 15s, which the test must not wait for
	nodes := presenceNodes(t, []string{s.ClientURL()}, 2, nodeOpts{beat: slowBeat})
	fa, wa := nodes[0].joinAs(t, "lobby", "ann", 0, "")
	ra := follow(t, fa, wa)
	// bob's welcome may come before ann's presence reached his node: his
	// view must hold her soon, not at once.
	fb, wb := nodes[1].joinAs(t, "lobby", "bob", 0, "")
	rb := follow(t, fb, wb)
	eventuallyAll(t, wait, []string{"ann", "bob"}, ra, rb)
	stopped := time.Now()
	nodes[1].stop(t)
	eventuallyAll(t, 3*time.Second, []string{"ann"}, ra)
	assert.Less(t, time.Since(stopped), 3*slowBeat, "gone before the TTL")
	assert.Equal(t, 1, ra.times("-bob"))
}
