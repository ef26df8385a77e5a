package chat_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// slowOpen holds the opening of one room until released, as a store that is slow to answer for that
// room would, and counts the openings of each room.
type slowOpen struct {
	room    string
	entered chan struct{}
	release chan error
	calls   atomic.Int64
}

func newSlowOpen(room string) *slowOpen {
	return &slowOpen{room: room, entered: make(chan struct{}, 1), release: make(chan error, 1)}
}

func (s *slowOpen) hook(room string) error {
	if room != s.room {
		return nil
	}
	if s.calls.Add(1) > 1 {
		return nil
	}
	s.entered <- struct{}{}
	return <-s.release
}

func (s *slowOpen) start(t *testing.T, h *harness, nick string) *fakeSocket {
	t.Helper()
	f := h.connect(1024)
	f.send(t, chat.Event{Type: chat.KindJoin, Room: s.room, Nick: nick})
	return f
}

// twoJoiners starts a hub whose room "slow" is held in its opening, with ann opening it and bob
// waiting for that opening.
func twoJoiners(t *testing.T) (h *harness, slow *slowOpen, a, b *fakeSocket) {
	h = newHarness(t, nil)
	slow = newSlowOpen("slow")
	chat.SetOpenHook(h.hub, slow.hook)
	a = slow.start(t, h, "ann")
	<-slow.entered
	b = slow.start(t, h, "bob")
	require.Eventually(t, func() bool { return chat.OpenWaiters(h.hub, "slow") == 1 }, wait, tick)
	return h, slow, a, b
}

func TestSlowRoomOpenDelaysOnlyItsOwnJoiners(t *testing.T) {
	h, slow, a, b := twoJoiners(t)

	// Another room opens and joins while "slow" is still being opened.
	_, w := h.join(t, "fast", "cy")
	assert.Equal(t, []string{"cy"}, w.Users)

	slow.release <- nil
	wa, wb := a.nextOf(t, chat.KindWelcome), b.nextOf(t, chat.KindWelcome)
	assert.Equal(t, "slow", wa.Room)
	assert.Equal(t, "slow", wb.Room)
	assert.Equal(t, int64(1), slow.calls.Load(), "the waiting joiner shares the one opening")
	for _, w := range []chat.Event{wa, wb} {
		assert.Subset(t, []string{"ann", "bob"}, w.Users)
		assert.Equal(t, wa.Epoch, w.Epoch, "both joined the same room")
	}
}

func TestFailedRoomOpenRefusesEveryWaiter(t *testing.T) {
	h, slow, a, b := twoJoiners(t)
	slow.release <- errors.New("store away")
	for _, f := range []*fakeSocket{a, b} {
		ev := f.next(t)
		assert.Equal(t, chat.KindError, ev.Type)
		assert.Equal(t, chat.ErrCodeUnavailable, ev.Code)
		assert.Positive(t, ev.RetryMS)
	}

	// The failure is not kept: the next join opens the room afresh.
	_, w := h.join(t, "slow", "cy")
	assert.Equal(t, []string{"cy"}, w.Users)
	assert.Equal(t, int64(2), slow.calls.Load())
}
