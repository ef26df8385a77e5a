package chat_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// tickClock is a clock that moves one second per reading, safe across goroutines.
func tickClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

// TestJoinWelcomePresenceAndMessages follows two members through a room. Grace is off, so a member whose
// connection ends leaves at once.
func TestJoinWelcomePresenceAndMessages(t *testing.T) {
	h := newHarness(t, &chat.Config{Now: tickClock(), Grace: -1})

	alice, w := h.join(t, "", "alice")
	assert.Equal(t, "lobby", w.Room, "a join without a room goes to the default room")
	assert.Equal(t, "alice", w.Nick)
	assert.Equal(t, []string{"alice"}, w.Users)
	assert.Empty(t, w.History)
	assert.NotEmpty(t, w.Epoch)

	j := alice.nextOf(t, chat.KindJoined)
	assert.Equal(t, "alice", j.Nick)
	assert.Equal(t, uint64(1), j.Seq)

	alice.send(t, chat.Event{Type: chat.KindSend, Text: "first"})
	m1 := alice.nextOf(t, chat.KindMessage)
	assert.Equal(t, "first", m1.Text)
	assert.Equal(t, "alice", m1.Nick)
	assert.Equal(t, uint64(2), m1.Seq)
	assert.True(t, m1.Time.After(j.Time), "timestamps come from the server clock, in order")

	bob, wb := h.join(t, "lobby", "bob")
	assert.Equal(t, []string{"alice", "bob"}, wb.Users)
	assert.Equal(t, uint64(2), wb.Seq, "the welcome tells the latest sequence number")
	require.Len(t, wb.History, 2, "the newcomer gets the record: alice joined, first")

	bj := alice.nextOf(t, chat.KindJoined)
	assert.Equal(t, "bob", bj.Nick)
	assert.Equal(t, uint64(3), bj.Seq)

	bob.send(t, chat.Event{Type: chat.KindSend, Text: "hi alice"})
	for _, f := range []*fakeSocket{alice, bob} {
		m := f.nextOf(t, chat.KindMessage)
		assert.Equal(t, "hi alice", m.Text)
		assert.Equal(t, "bob", m.Nick)
		assert.Equal(t, uint64(4), m.Seq)
	}

	bob.leave()
	l := alice.nextOf(t, chat.KindLeft)
	assert.Equal(t, "bob", l.Nick)
	assert.Equal(t, uint64(5), l.Seq)

	// joined and left are the only presence news: no full list follows them.
	alice.send(t, chat.Event{Type: chat.KindSend, Text: "after"})
	assert.Equal(t, chat.KindMessage, alice.next(t).Type, "the message follows the left notice directly")
}

// TestBroadcastEncodesOnce checks that every member is handed the same encoded bytes.
func TestBroadcastEncodesOnce(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.join(t, "", "a")
	b, _ := h.join(t, "", "b")
	for _, f := range []*fakeSocket{a, b} {
		f.nextOf(t, chat.KindJoined)
	}
	a.nextOf(t, chat.KindJoined) // b's arrival, which b already skipped
	a.send(t, chat.Event{Type: chat.KindSend, Text: "once"})
	ra, rb := a.nextRaw(t), b.nextRaw(t)
	assert.Equal(t, "once", decodeEvent(t, ra).Text)
	assert.Same(t, &ra[0], &rb[0], "one encoding shared by all members")
}

func TestRoomsAreSeparate(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.join(t, "a", "sam")
	b, _ := h.join(t, "b", "sam") // the same nickname is fine in another room
	a.send(t, chat.Event{Type: chat.KindSend, Text: "in a"})
	b.send(t, chat.Event{Type: chat.KindSend, Text: "in b"})
	assert.Equal(t, "in a", a.nextOf(t, chat.KindMessage).Text)
	assert.Equal(t, "in b", b.nextOf(t, chat.KindMessage).Text)
}

func TestRequestErrorsKeepTheConnection(t *testing.T) {
	h := newHarness(t, &chat.Config{Rate: 1000, Burst: 1000})
	_, _ = h.join(t, "", "Ada")
	f := h.connect(64)

	cases := []struct {
		name string
		raw  string
		code string
	}{
		{"not-json", `hello`, chat.ErrCodeBadRequest},
		{"unknown-type", `{"type":"dance"}`, chat.ErrCodeBadRequest},
		{"send-before-join", `{"type":"send","text":"hi"}`, chat.ErrCodeNotJoined},
		{"nick-empty", `{"type":"join","nick":""}`, chat.ErrCodeBadNick},
		{"nick-control", `{"type":"join","nick":"a\u0007b"}`, chat.ErrCodeBadNick},
		{"nick-bidi-override", `{"type":"join","nick":"a\u202eb"}`, chat.ErrCodeBadNick},
		{"nick-too-long", `{"type":"join","nick":"abcdefghijklmnopqrstuvwxy"}`, chat.ErrCodeBadNick},
		{"nick-taken-any-case", `{"type":"join","nick":"ada"}`, chat.ErrCodeNickTaken},
		{"room-upper-case", `{"type":"join","room":"Lobby","nick":"bo"}`, chat.ErrCodeBadRoom},
		{"room-slash", `{"type":"join","room":"a/b","nick":"bo"}`, chat.ErrCodeBadRoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.sendRaw(t, []byte(tc.raw))
			ev := f.next(t)
			assert.Equal(t, chat.KindError, ev.Type)
			assert.Equal(t, tc.code, ev.Code)
		})
	}

	// After all of that, the same connection joins and talks.
	f.send(t, chat.Event{Type: chat.KindJoin, Nick: "bo"})
	assert.Equal(t, chat.KindWelcome, f.next(t).Type)
	f.sendRaw(t, []byte(`{"type":"join","nick":"bo2"}`))
	assert.Equal(t, chat.ErrCodeAlreadyJoined, f.nextOf(t, chat.KindError).Code)
	for _, text := range []string{"", "  \n ", "bell\a"} {
		f.send(t, chat.Event{Type: chat.KindSend, Text: text})
		assert.Equal(t, chat.ErrCodeBadText, f.nextOf(t, chat.KindError).Code, "text %q", text)
	}
	f.send(t, chat.Event{Type: chat.KindSend, Text: "two\nlines\tand a tab"})
	assert.Equal(t, "two\nlines\tand a tab", f.nextOf(t, chat.KindMessage).Text)
}

func TestHistoryIsBoundedAndResumable(t *testing.T) {
	h := newHarness(t, &chat.Config{History: 3, Rate: 1000, Burst: 1000})
	a, _ := h.join(t, "", "a")
	for i := range 5 {
		a.send(t, chat.Event{Type: chat.KindSend, Text: fmt.Sprint("m", i)})
	}
	last := a.nextOf(t, chat.KindMessage)
	for last.Text != "m4" {
		last = a.nextOf(t, chat.KindMessage)
	}

	_, w := h.join(t, "", "b")
	texts := historyTexts(t, w)
	assert.Equal(t, []string{"m2", "m3", "m4"}, texts, "only the last 3 events are kept")

	// A client coming back with the room's epoch gets only what it missed.
	c := h.connect(64)
	c.send(t, chat.Event{Type: chat.KindJoin, Nick: "c", Since: last.Seq - 1, Epoch: w.Epoch})
	wc := c.nextOf(t, chat.KindWelcome)
	assert.Equal(t, []string{"m4", "joined b"}, historyTexts(t, wc))

	// With another epoch (the room it knew is gone), its numbering means nothing: it gets the whole record.
	d := h.connect(64)
	d.send(t, chat.Event{Type: chat.KindJoin, Nick: "d", Since: last.Seq + 1, Epoch: "old"})
	wd := d.nextOf(t, chat.KindWelcome)
	assert.Len(t, wd.History, 3)
}

// historyTexts lists a welcome's history as message texts and "joined x"/"left x" notices.
func historyTexts(t testing.TB, w chat.Event) []string {
	t.Helper()
	var out []string
	var prev uint64
	for _, raw := range w.History {
		ev := decodeEvent(t, raw)
		if prev != 0 {
			assert.Equal(t, prev+1, ev.Seq, "history has no gaps")
		}
		prev = ev.Seq
		switch ev.Type {
		case chat.KindMessage:
			out = append(out, ev.Text)
		default:
			out = append(out, string(ev.Type)+" "+ev.Nick)
		}
	}
	return out
}

// TestConcurrentJoinsAndLeaves races joins, messages and leaves in a few rooms (run it with -race) and checks
// that every member sees its room's events numbered without gaps or reordering, whatever else happens.
func TestConcurrentJoinsAndLeaves(t *testing.T) {
	h := newHarness(t, &chat.Config{Rate: 1000, Burst: 1000, MaxConnsPerIP: 1000, Grace: -1})
	const clients, rooms, msgs = 40, 3, 5

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- chatter(h, fmt.Sprint("r", i%rooms), fmt.Sprint("n", i), msgs)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}

	// Everyone has left: a newcomer is alone in each room.
	require.Eventually(t, func() bool { return h.hub.Stats().ConnectionsActive == 0 }, wait, tick)
	for r := range rooms {
		_, w := h.join(t, fmt.Sprint("r", r), "last")
		assert.Equal(t, []string{"last"}, w.Users)
	}
	assert.Equal(t, int64(rooms), h.hub.Stats().ConnectionsActive)
}

// chatter joins, sends msgs messages, waits for its own last message and leaves, checking the order of
// everything it received. It reports instead of failing because it runs on its own goroutine.
func chatter(h *harness, room, nick string, msgs int) error {
	f := h.connect(4096)
	b, _ := jsonMarshal(chat.Event{Type: chat.KindJoin, Room: room, Nick: nick})
	f.in <- b
	var last uint64
	for i := range msgs {
		b, _ := jsonMarshal(chat.Event{Type: chat.KindSend, Text: fmt.Sprint(nick, "/", i)})
		f.in <- b
	}
	deadline := time.After(wait)
	for {
		select {
		case raw := <-f.out:
			ev, err := jsonEvent(raw)
			if err != nil {
				return err
			}
			if ev.Type == chat.KindWelcome {
				last = ev.Seq
			}
			if ev.Seq != 0 && ev.Type != chat.KindWelcome {
				if ev.Seq != last+1 {
					return fmt.Errorf("%s: seq %d after %d", nick, ev.Seq, last)
				}
				last = ev.Seq
			}
			if ev.Type == chat.KindMessage && ev.Text == fmt.Sprint(nick, "/", msgs-1) {
				f.leave()
				return nil
			}
		case <-deadline:
			return fmt.Errorf("%s: own messages not seen within %v", nick, wait)
		}
	}
}

func TestMaxRoomsForgetsEmptyRooms(t *testing.T) {
	h := newHarness(t, &chat.Config{MaxRooms: 2, Grace: -1})
	idle := func(active int64) {
		t.Helper()
		require.Eventually(t, func() bool { return h.hub.Stats().ConnectionsActive == active }, wait, tick)
	}
	a, _ := h.join(t, "r1", "a")
	a.send(t, chat.Event{Type: chat.KindSend, Text: "said in r1"})
	a.nextOf(t, chat.KindMessage)
	a.leave()
	idle(0)
	b, w := h.join(t, "r1", "b")
	assert.Len(t, historyTexts(t, w), 3, "an empty room keeps its history")
	_, _ = h.join(t, "r2", "c")

	full := h.connect(64)
	full.send(t, chat.Event{Type: chat.KindJoin, Room: "r3", Nick: "d"})
	assert.Equal(t, chat.ErrCodeBadRoom, full.nextOf(t, chat.KindError).Code, "every room has members")

	// Once r1 is empty, a new room takes its place and r1 is forgotten.
	b.leave()
	idle(2)
	full.send(t, chat.Event{Type: chat.KindJoin, Room: "r3", Nick: "d"})
	assert.Equal(t, chat.KindWelcome, full.nextOf(t, chat.KindWelcome).Type)
	back := h.connect(64)
	back.send(t, chat.Event{Type: chat.KindJoin, Room: "r1", Nick: "a"})
	assert.Equal(t, chat.ErrCodeBadRoom, back.nextOf(t, chat.KindError).Code, "r1 is gone and r2, r3 are in use")
}
