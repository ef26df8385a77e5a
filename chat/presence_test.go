package chat_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
)

// TestPresenceBatchThreshold: up to PresenceBatch members a room records numbered joined notices; the
// join that takes it past the threshold is announced in an unnumbered members event instead, which the
// newcomer gets too, after a welcome that lists the members as announced so far.
func TestPresenceBatchThreshold(t *testing.T) {
	h := newHarness(t, &chat.Config{PresenceBatch: 2, PresenceInterval: 50 * time.Millisecond})
	ada, _ := h.join(t, "", "ada")
	ada.nextOf(t, chat.KindJoined)
	bob, wb := h.join(t, "", "bob")
	j := bob.next(t)
	require.Equal(t, chat.KindJoined, j.Type, "a room of two records the join")
	assert.Equal(t, "bob", ada.nextOf(t, chat.KindJoined).Nick)

	cy, wc := h.join(t, "", "cy")
	assert.Equal(t, []string{"ada", "bob"}, wc.Users, "the list as announced: cy's own join is pending")
	assert.Equal(t, j.Seq, wc.Seq, "the third join is not recorded")
	for name, f := range map[string]*fakeSocket{"ada": ada, "bob": bob, "cy": cy} {
		ev := f.next(t)
		require.Equal(t, chat.KindMembers, ev.Type, "%s: %+v", name, ev)
		assert.Equal(t, []string{"cy"}, ev.Joined, name)
		assert.Empty(t, ev.Left, name)
		assert.Equal(t, 3, ev.Count, name)
		assert.Zero(t, ev.Seq, "%s: members events are not numbered", name)
		assert.False(t, ev.Time.IsZero(), name)
	}
	assert.Equal(t, wb.Seq+1, wc.Seq, "only bob's joined was recorded after bob's welcome")
}

// TestPresenceBatchCoalesces: the changes of one interval go out in one members event, sorted; a nick
// that joins and leaves within it, or leaves and comes back, is not announced at all.
func TestPresenceBatchCoalesces(t *testing.T) {
	// The interval is long enough that the quick joins and leaves below fall within one.
	const interval = 2 * time.Second
	h := newHarness(t, &chat.Config{PresenceBatch: 1, PresenceInterval: interval})
	ada, _ := h.join(t, "", "ada")
	ada.nextOf(t, chat.KindJoined)
	h.join(t, "", "dee")
	bob, _ := h.join(t, "", "bob")
	x, _ := h.join(t, "", "x")
	x.bye()
	x2, _ := joinWhenFree(t, h, "x")
	x2.bye() // x again, and gone again: still nothing to announce
	h.join(t, "", "cy")
	ev := ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "%+v", ev)
	assert.Equal(t, []string{"bob", "cy", "dee"}, ev.Joined, "x came and went within the interval")
	assert.Empty(t, ev.Left)
	assert.Equal(t, 4, ev.Count)

	// bob leaves and comes back within the next interval, and eve arrives: only eve is news.
	_, w := h.join(t, "", "eve")
	assert.Equal(t, []string{"ada", "bob", "cy", "dee"}, w.Users)
	bob.bye()
	joinWhenFree(t, h, "bob")
	ev = ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "%+v", ev)
	assert.Equal(t, []string{"eve"}, ev.Joined)
	assert.Empty(t, ev.Left, "bob's leave and return cancel out")
	assert.Equal(t, 5, ev.Count)
}

// joinWhenFree joins as nick once the nick is free: a member that left with 1000 leaves as its reader
// ends, so a quick rejoin may still find the nick taken.
func joinWhenFree(t testing.TB, h *harness, nick string) (*fakeSocket, chat.Event) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		f := h.connect(1024)
		f.send(t, chat.Event{Type: chat.KindJoin, Nick: nick})
		ev := f.next(t)
		if ev.Type == chat.KindWelcome {
			return f, ev
		}
		require.Equal(t, chat.ErrCodeNickTaken, ev.Code, "%+v", ev)
		require.True(t, time.Now().Before(deadline), "%s still taken after %v", nick, wait)
		f.bye()
		time.Sleep(tick)
	}
}

// TestPresenceShrinkFlushesFirst: a room that falls back to PresenceBatch members records the leave as
// a notice, after sending what was pending, so that no member sees the changes out of order.
func TestPresenceShrinkFlushesFirst(t *testing.T) {
	h := newHarness(t, &chat.Config{PresenceBatch: 2, PresenceInterval: time.Minute})
	ada, _ := h.join(t, "", "ada")
	h.join(t, "", "bob")
	cy, _ := h.join(t, "", "cy") // pending for a minute
	ada.nextOf(t, chat.KindJoined)
	require.Equal(t, "bob", ada.nextOf(t, chat.KindJoined).Nick)
	cy.bye()
	ev := ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "the pending join goes first: %+v", ev)
	assert.Equal(t, []string{"cy"}, ev.Joined)
	assert.Equal(t, 3, ev.Count)
	ev = ada.next(t)
	require.Equal(t, chat.KindLeft, ev.Type, "%+v", ev)
	assert.Equal(t, "cy", ev.Nick)
}

// TestPresenceBatchGraceResume: in a batching room too, a member who drops and resumes within the grace
// period is announced neither gone nor back; one who does not come back is announced gone once.
func TestPresenceBatchGraceResume(t *testing.T) {
	const grace = 300 * time.Millisecond
	h := newHarness(t, &chat.Config{PresenceBatch: 1, PresenceInterval: 20 * time.Millisecond, Grace: grace})
	ada, _ := h.join(t, "", "ada")
	ada.nextOf(t, chat.KindJoined)
	bob, wb := h.join(t, "", "bob")
	require.Equal(t, []string{"bob"}, ada.nextOf(t, chat.KindMembers).Joined)

	bob.leave()
	require.Eventually(t, func() bool { return h.hub.Stats().ConnectionsActive == 1 }, wait, tick)
	back := h.connect(64)
	back.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob", Session: wb.Session, Epoch: wb.Epoch})
	w := back.nextOf(t, chat.KindWelcome)
	assert.Equal(t, []string{"ada", "bob"}, w.Users)
	time.Sleep(2 * grace) // past the grace period: a leave would have been sent by now
	h.join(t, "", "cy")
	ev := ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "nothing about bob before cy's arrival, got %+v", ev)
	assert.Equal(t, []string{"cy"}, ev.Joined)
	assert.Empty(t, ev.Left)
	assert.Equal(t, 3, ev.Count)

	back.leave()
	ev = ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "%+v", ev)
	assert.Equal(t, []string{"bob"}, ev.Left, "bob's grace ended")
	assert.Equal(t, 2, ev.Count)
}

// view is a client's member list, as the page keeps it: the welcome's users, then every joined, left
// and members event applied. It records every change that does not fit the list it has: a join of a
// member already there (doubled) or a leave of one not there (lost).
type memberView struct {
	nick   string
	users  map[string]bool
	misfit []string
}

func newMemberView(w chat.Event) *memberView {
	v := &memberView{nick: w.Nick, users: make(map[string]bool)}
	for _, u := range w.Users {
		v.users[u] = true
	}
	return v
}

func (v *memberView) join(nick string) {
	if v.users[nick] && nick != v.nick { // a small room's welcome lists the newcomer before its notice
		v.misfit = append(v.misfit, "joined "+nick+" twice")
	}
	v.users[nick] = true
}

func (v *memberView) leave(nick string) {
	if !v.users[nick] {
		v.misfit = append(v.misfit, "left "+nick+" unknown")
	}
	delete(v.users, nick)
}

func (v *memberView) apply(t testing.TB, ev chat.Event) {
	t.Helper()
	switch ev.Type {
	case chat.KindJoined:
		v.join(ev.Nick)
	case chat.KindLeft:
		v.leave(ev.Nick)
	case chat.KindMembers:
		for _, n := range ev.Left {
			v.leave(n)
		}
		for _, n := range ev.Joined {
			v.join(n)
		}
		assert.Len(t, v.users, ev.Count, "%s: count of %+v", v.nick, ev)
	}
}

func (v *memberView) list() []string {
	var l []string
	for u := range v.users {
		l = append(l, u)
	}
	slices.Sort(l)
	return l
}

// TestPresenceViewsStayConsistent joins and leaves members at random around the threshold, with a short
// interval so that welcomes fall between a change and its members event, and checks every member's
// view: no change ever misfits it, and once the room is quiet every view is the room's member list.
func TestPresenceViewsStayConsistent(t *testing.T) {
	h := newHarness(t, &chat.Config{PresenceBatch: 4, PresenceInterval: 5 * time.Millisecond, MaxConnsPerIP: 1000})
	type live struct {
		f *fakeSocket
		v *memberView
	}
	members := map[string]*live{}
	// drain applies what has arrived for every member, without waiting.
	drain := func() {
		for _, m := range members {
			for {
				select {
				case b := <-m.f.out:
					// Not require: drain also runs in EventuallyWithT's goroutine.
					ev, err := jsonEvent(b)
					assert.NoError(t, err)
					m.v.apply(t, ev)
					continue
				default:
				}
				break
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		drain()
		if len(members) > 1 && rng.IntN(2) == 0 {
			names := make([]string, 0, len(members))
			for n := range members {
				names = append(names, n)
			}
			slices.Sort(names)
			n := names[rng.IntN(len(names))]
			members[n].f.bye()
			delete(members, n)
			continue
		}
		nick := fmt.Sprintf("m%d", i)
		f, w := h.join(t, "", nick)
		members[nick] = &live{f, newMemberView(w)}
		if rng.IntN(8) == 0 {
			time.Sleep(10 * time.Millisecond) // let a members event pass now and then
		}
	}
	// Once the room is quiet (the last members event out), every view is the room's member list.
	want := slices.Sorted(maps.Keys(members))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		drain()
		for n, m := range members {
			assert.Equal(c, want, m.v.list(), "%s's view", n)
		}
	}, wait, tick)
	for n, m := range members {
		assert.Empty(t, m.v.misfit, n)
	}
}

// TestBrokerLargeRoomPresence: on the broker too, a room above the threshold announces a join in a
// members event to the node's members, and stores no notice for it in the room's stream, whose next
// number goes to the next message.
func TestBrokerLargeRoomPresence(t *testing.T) {
	ns := startEmbedded(t, t.TempDir(), 0)
	b, err := broker.Connect(broker.Config{URLs: ns.ClientURL(), Timeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(b.Close) // after the harness's shutdown, registered below
	h := newHarness(t, &chat.Config{Broker: b, PresenceBatch: 1, PresenceInterval: 20 * time.Millisecond})
	ada, _ := h.join(t, "r", "ada")
	j := ada.nextOf(t, chat.KindJoined)
	require.Equal(t, "ada", j.Nick, "a room of one stores the notice")
	_, wb := h.join(t, "r", "bob")
	assert.Equal(t, []string{"ada"}, wb.Users, "the list as announced")
	ev := ada.next(t)
	require.Equal(t, chat.KindMembers, ev.Type, "%+v", ev)
	assert.Equal(t, []string{"bob"}, ev.Joined)
	assert.Equal(t, 2, ev.Count)
	assert.Equal(t, j.Seq+1, say(t, ada, "m1", "hello"), "no notice of bob's join was stored")
}
