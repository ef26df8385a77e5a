package chat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// nextAckOrMessage reads until both the ack of id and the message of text arrived (in either order), and
// returns their seqs.
func nextAckOrMessage(t testing.TB, f *fakeSocket, id, text string) (ack, msg uint64) {
	t.Helper()
	for ack == 0 || msg == 0 {
		ev := f.next(t)
		switch {
		case ev.Type == chat.KindAck && ev.ID == id:
			ack = ev.Seq
		case ev.Type == chat.KindMessage && ev.Text == text:
			msg = ev.Seq
		}
	}
	return ack, msg
}

func TestSendIsAckedWithItsSeq(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.join(t, "", "ada")
	a.nextOf(t, chat.KindJoined)
	a.send(t, chat.Event{Type: chat.KindSend, ID: "a-1", Text: "hello"})
	ack, msg := nextAckOrMessage(t, a, "a-1", "hello")
	assert.Equal(t, msg, ack, "the ack names the seq the message was recorded under")

	// A send without an id is recorded but not acked.
	a.send(t, chat.Event{Type: chat.KindSend, Text: "no id"})
	a.send(t, chat.Event{Type: chat.KindSend, ID: "a-2", Text: "with id"})
	var kinds []chat.Kind
	for len(kinds) < 3 {
		kinds = append(kinds, a.next(t).Type)
	}
	assert.Equal(t, []chat.Kind{chat.KindMessage, chat.KindMessage, chat.KindAck}, kinds)
}

// TestResendIsRecordedOnce resends an id on the same connection, after a reconnect that resumes the session,
// and after a reconnect as a new member of the same nick: each time the ack carries the original seq and
// nothing new is recorded.
func TestResendIsRecordedOnce(t *testing.T) {
	h := newHarness(t, &chat.Config{Grace: time.Minute})
	watcher, _ := h.join(t, "", "watcher")
	a, w := h.join(t, "", "ada")
	a.send(t, chat.Event{Type: chat.KindSend, ID: "x7", Text: "once"})
	first, _ := nextAckOrMessage(t, a, "x7", "once")

	a.send(t, chat.Event{Type: chat.KindSend, ID: "x7", Text: "once"})
	assert.Equal(t, chat.Event{Type: chat.KindAck, ID: "x7", Seq: first}, a.next(t), "same connection")

	a.leave()
	b := h.connect(64)
	b.send(t, chat.Event{Type: chat.KindJoin, Nick: "ada", Session: w.Session})
	wb := b.nextOf(t, chat.KindWelcome)
	assert.Equal(t, first, wb.Seq, "nothing was recorded since")
	b.send(t, chat.Event{Type: chat.KindSend, ID: "x7", Text: "once"})
	assert.Equal(t, chat.Event{Type: chat.KindAck, ID: "x7", Seq: first}, b.next(t), "resumed session")

	// Leaving on purpose ends the membership; a new one of the same nick still cannot record x7 twice.
	b.bye()
	require.Eventually(t, func() bool { return h.hub.Stats().ConnectionsActive == 1 }, wait, tick)
	c := h.connect(64)
	c.send(t, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	c.nextOf(t, chat.KindWelcome)
	c.send(t, chat.Event{Type: chat.KindSend, ID: "x7", Text: "once"})
	assert.Equal(t, chat.Event{Type: chat.KindAck, ID: "x7", Seq: first}, c.nextOf(t, chat.KindAck), "same nick")

	// The watcher saw the message once.
	c.send(t, chat.Event{Type: chat.KindSend, ID: "x8", Text: "end"})
	n := 0
	for {
		ev := watcher.nextOf(t, chat.KindMessage)
		if ev.Text == "end" {
			break
		}
		assert.Equal(t, "once", ev.Text)
		n++
	}
	assert.Equal(t, 1, n, "recorded once")
}

// TestRefusalsNameTheSendAndKeepTheConnection checks each refusal of a send: its code, its id, and that
// the next send on the same connection goes through.
func TestRefusalsNameTheSendAndKeepTheConnection(t *testing.T) {
	h := newHarness(t, &chat.Config{MaxMessageSize: 16, Rate: 0.001, Burst: 2})
	a, w := h.join(t, "", "ada") // the join takes one token of two
	require.NotNil(t, w.Limits)
	assert.Equal(t, chat.Limits{MaxMessage: 16, Rate: 0.001, Burst: 2, MaxRoom: 10000}, *w.Limits)
	a.nextOf(t, chat.KindJoined)

	for _, tc := range []struct {
		name, id, text, code string
	}{
		{"too-long", "t1", strings.Repeat("é", 9), chat.ErrCodeTooLong}, // 18 bytes of UTF-8 in 9 characters
		{"bad-text", "t2", "\a", chat.ErrCodeBadText},
		{"bad-id-char", "no spaces", "hi", chat.ErrCodeBadID},
		{"bad-id-long", strings.Repeat("i", 65), "hi", chat.ErrCodeBadID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.send(t, chat.Event{Type: chat.KindSend, ID: tc.id, Text: tc.text})
			ev := a.next(t)
			assert.Equal(t, chat.KindError, ev.Type)
			assert.Equal(t, tc.code, ev.Code)
			assert.Equal(t, tc.id, ev.ID)
		})
	}
	a.send(t, chat.Event{Type: chat.KindSend, ID: "ok", Text: strings.Repeat("x", 16)})
	nextAckOrMessage(t, a, "ok", strings.Repeat("x", 16))

	// The bucket is empty now: refused with the time to wait, which at 0.001/s is about 1000 s.
	a.send(t, chat.Event{Type: chat.KindSend, ID: "r1", Text: "fast"})
	ev := a.next(t)
	assert.Equal(t, chat.ErrCodeRateLimited, ev.Code)
	assert.Equal(t, "r1", ev.ID)
	assert.InDelta(t, 1000e3, float64(ev.RetryMS), 10e3)
	// A resend of a recorded id needs no token: it is acked even now.
	a.send(t, chat.Event{Type: chat.KindSend, ID: "ok", Text: strings.Repeat("x", 16)})
	assert.Equal(t, chat.KindAck, a.next(t).Type)
	assert.Equal(t, int64(1), h.hub.Stats().TooLong)
	assert.Equal(t, int64(1), h.hub.Stats().RateLimited)
}

func TestRoomFull(t *testing.T) {
	h := newHarness(t, &chat.Config{MaxRoom: 2})
	h.join(t, "", "a")
	h.join(t, "", "b")
	f := h.connect(64)
	f.send(t, chat.Event{Type: chat.KindJoin, Nick: "c"})
	ev := f.next(t)
	assert.Equal(t, "", ev.ID)
	assert.Equal(t, chat.KindError, ev.Type)
	assert.Equal(t, chat.ErrCodeRoomFull, ev.Code)
	// The connection stays: another room has space.
	f.send(t, chat.Event{Type: chat.KindJoin, Room: "other", Nick: "c"})
	assert.Equal(t, chat.KindWelcome, f.next(t).Type)
	assert.Equal(t, int64(1), h.hub.Stats().RoomFull)
}

func TestRateLimitRefillsAndRetryIsHonest(t *testing.T) {
	h := newHarness(t, &chat.Config{Rate: 2, Burst: 1})
	a, _ := h.join(t, "", "ada") // takes the only token
	a.nextOf(t, chat.KindJoined)
	a.send(t, chat.Event{Type: chat.KindSend, ID: "r", Text: "hi"})
	ev := a.next(t)
	require.Equal(t, chat.ErrCodeRateLimited, ev.Code)
	require.Positive(t, ev.RetryMS)
	assert.LessOrEqual(t, ev.RetryMS, int64(500), "one token comes back in 1/rate")
	time.Sleep(time.Duration(ev.RetryMS) * time.Millisecond)
	a.send(t, chat.Event{Type: chat.KindSend, ID: "r", Text: "hi"})
	nextAckOrMessage(t, a, "r", "hi")
}
