package chat_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/frame"
)

// TestGraceKeepsADroppedMember: a member whose connection dropped stays in the list, and a reconnect with
// its session token within the grace period resumes it with no left or joined; one that does not come
// back leaves, recorded, when the grace period ends.
func TestGraceKeepsADroppedMember(t *testing.T) {
	const grace = 300 * time.Millisecond
	h := newHarness(t, &chat.Config{Grace: grace})
	ada, _ := h.join(t, "", "ada")
	ada.nextOf(t, chat.KindJoined)
	bob, wb := h.join(t, "", "bob")
	require.NotEmpty(t, wb.Session)
	assert.Equal(t, "bob", ada.nextOf(t, chat.KindJoined).Nick)

	bob.leave()
	require.Eventually(t, func() bool { return h.hub.Stats().ConnectionsActive == 1 }, wait, tick)
	// During grace bob is still a member: a newcomer sees him.
	_, wc := h.join(t, "", "cy")
	assert.Equal(t, []string{"ada", "bob", "cy"}, wc.Users)
	assert.Equal(t, "cy", ada.nextOf(t, chat.KindJoined).Nick)

	back := h.connect(64)
	// bob had seen up to his own joined, one after his welcome's seq.
	back.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob", Session: wb.Session, Since: wb.Seq + 1, Epoch: wb.Epoch})
	w := back.nextOf(t, chat.KindWelcome)
	assert.Equal(t, wb.Session, w.Session)
	assert.Equal(t, []string{"joined cy"}, historyTexts(t, w), "what bob missed, and no joined of his own")
	assert.Equal(t, int64(1), h.hub.Stats().Resumed)

	// Long after the grace period, ada has seen neither a left nor a joined of bob.
	time.Sleep(2 * grace)
	ada.send(t, chat.Event{Type: chat.KindSend, Text: "marker"})
	ev := ada.next(t)
	assert.Equal(t, chat.KindMessage, ev.Type, "nothing between cy's joined and this message, got %+v", ev)
	back.nextOf(t, chat.KindMessage)

	// Now bob's connection drops for good: he leaves when grace ends, and the leave is recorded.
	dropped := time.Now()
	back.leave()
	l := ada.nextOf(t, chat.KindLeft)
	assert.Equal(t, "bob", l.Nick)
	assert.GreaterOrEqual(t, time.Since(dropped), grace, "not before the grace period is over")
	_, wd := h.join(t, "", "dee")
	assert.Equal(t, []string{"ada", "cy", "dee"}, wd.Users)
	texts := historyTexts(t, wd)
	assert.Equal(t, "left bob", texts[len(texts)-1])

	// An expired token is ignored: the join is a normal one.
	again := h.connect(64)
	again.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob", Session: wb.Session})
	wa := again.nextOf(t, chat.KindWelcome)
	assert.NotEqual(t, wb.Session, wa.Session)
	for ada.nextOf(t, chat.KindJoined).Nick != "bob" {
	}
}

// TestLeavingOnPurposeSkipsGrace: a page that closes with 1000 leaves at once.
func TestLeavingOnPurposeSkipsGrace(t *testing.T) {
	h := newHarness(t, &chat.Config{Grace: time.Hour})
	ada, _ := h.join(t, "", "ada")
	bob, _ := h.join(t, "", "bob")
	for ada.nextOf(t, chat.KindJoined).Nick != "bob" {
	}
	bob.bye()
	assert.Equal(t, "bob", ada.nextOf(t, chat.KindLeft).Nick)
}

// TestSessionTakeover: a join with the token while the old connection is still open (half-open, or a
// second tab) moves the membership and closes the old one with 1000 and the agreed reason.
func TestSessionTakeover(t *testing.T) {
	h := newHarness(t, nil)
	ada, _ := h.join(t, "", "ada")
	old, w := h.join(t, "", "bob")
	for ada.nextOf(t, chat.KindJoined).Nick != "bob" {
	}
	nw := h.connect(64)
	nw.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob", Session: w.Session})
	nw.nextOf(t, chat.KindWelcome)
	code, reason := old.waitClosed(t)
	assert.Equal(t, frame.CloseNormal, code)
	assert.Equal(t, "session resumed on another connection", reason)

	// The new connection speaks for bob, and nobody saw him leave or join again.
	nw.send(t, chat.Event{Type: chat.KindSend, ID: "n1", Text: "from the new tab"})
	ev := ada.next(t)
	assert.Equal(t, chat.KindMessage, ev.Type, "got %+v", ev)
	assert.Equal(t, "bob", ev.Nick)

	// A token does not carry over to another nick: that join is a normal one.
	other := h.connect(64)
	other.send(t, chat.Event{Type: chat.KindJoin, Nick: "eve", Session: w.Session})
	we := other.nextOf(t, chat.KindWelcome)
	assert.Equal(t, "eve", we.Nick)
	assert.NotEqual(t, w.Session, we.Session)
}

// TestHistoryBoundInBytes fills a room with markup-heavy text: the record is bounded by its encoded
// size, and "<", ">" and "&" are sent as they are, not as \u003c escapes six times their size.
func TestHistoryBoundInBytes(t *testing.T) {
	const bound = 4 << 10
	h := newHarness(t, &chat.Config{History: 1000, HistoryBytes: bound, Rate: 1e6, Burst: 1e6, MaxMessageSize: 1024})
	a, _ := h.join(t, "", "ada")
	text := strings.Repeat("<b>&amp;</b>", 40) // 480 bytes
	for i := range 30 {
		a.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("h", i), Text: text})
	}
	for {
		if ev := a.next(t); ev.Type == chat.KindAck && ev.ID == "h29" {
			break
		}
	}
	raw := a.nextRawAfter(t, func() { a.send(t, chat.Event{Type: chat.KindSend, Text: text}) })
	assert.Contains(t, string(raw), `"text":"<b>&amp;</b>`, "no HTML escaping")

	b := h.connect(64)
	b.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob"})
	w := b.nextOf(t, chat.KindWelcome)
	total := 0
	for _, e := range w.History {
		total += len(e)
	}
	assert.LessOrEqual(t, total, bound, "the record holds at most its bound in bytes")
	assert.Greater(t, total, bound-600, "and the bound, not the count, cut it")
	assert.True(t, w.More, "older events than those delivered exist")
	assert.Equal(t, w.Seq, decodeEvent(t, w.History[len(w.History)-1]).Seq, "the newest kept")
}

// TestWelcomeStaysUnder512KiB keeps a record larger than the welcome may be: the welcome carries its
// newest part, under 512 KiB, with more:true; a client that asks only for the last events gets them all
// and more:false.
func TestWelcomeStaysUnder512KiB(t *testing.T) {
	h := newHarness(t, &chat.Config{History: 10000, HistoryBytes: 2 << 20, MaxMessageSize: 8 << 10,
		Rate: 1e6, Burst: 1e6, QueueSize: 1024})
	a, _ := h.join(t, "", "ada")
	text := strings.Repeat("x", 8<<10)
	const n = 200 // 1.6 MiB of text
	for i := range n {
		a.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("w", i), Text: text})
		for {
			if ev := a.next(t); ev.Type == chat.KindAck {
				break
			}
		}
	}
	b := h.connect(64)
	b.send(t, chat.Event{Type: chat.KindJoin, Nick: "bob"})
	raw := b.nextRaw(t)
	assert.Less(t, len(raw), 512<<10)
	assert.Greater(t, len(raw), 384<<10, "filled to its budget")
	w := decodeEvent(t, raw)
	require.Equal(t, chat.KindWelcome, w.Type)
	assert.True(t, w.More)
	assert.Equal(t, w.Seq, decodeEvent(t, w.History[len(w.History)-1]).Seq, "the newest events are the ones kept")

	c := h.connect(64)
	c.send(t, chat.Event{Type: chat.KindJoin, Nick: "cy", Since: w.Seq - 3, Epoch: w.Epoch})
	wc := c.nextOf(t, chat.KindWelcome)
	assert.Len(t, wc.History, 4, "the three last and bob's joined")
	assert.False(t, wc.More)
}

// TestSlowClientDropCountedOnce: a member that stops reading is dropped once, counted once, however many
// more events the room sends while its connection winds down.
func TestSlowClientDropCountedOnce(t *testing.T) {
	h := newHarness(t, &chat.Config{QueueSize: 4, Rate: 1e6, Burst: 1e6, WriteTimeout: time.Hour})
	stuck := h.connect(0)
	stuck.send(t, chat.Event{Type: chat.KindJoin, Nick: "stuck"})
	a, _ := h.join(t, "", "ada")
	// One at a time, so that ada's own small queue never fills; a send refused while the stuck member
	// weighs on the room is sent again after retry_ms.
	for i := 0; i < 50; {
		a.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("s", i), Text: "x"})
		for {
			ev := a.next(t)
			if ev.Type == chat.KindAck {
				i++
				break
			}
			if ev.Type == chat.KindError {
				require.Equal(t, chat.ErrCodeRateLimited, ev.Code)
				time.Sleep(time.Duration(ev.RetryMS) * time.Millisecond)
				break
			}
		}
	}
	code, _ := stuck.waitClosed(t)
	assert.Equal(t, frame.CloseTryAgainLater, code)
	assert.Equal(t, int64(1), h.hub.Stats().SlowDropped)
}

// nextRawAfter runs fn and returns the next message event's bytes.
func (f *fakeSocket) nextRawAfter(t testing.TB, fn func()) []byte {
	t.Helper()
	fn()
	for {
		b := f.nextRaw(t)
		var ev struct{ Type chat.Kind }
		require.NoError(t, json.Unmarshal(b, &ev))
		if ev.Type == chat.KindMessage {
			return b
		}
	}
}
