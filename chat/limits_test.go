package chat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/frame"
)

// TestSlowClientDoesNotDelayOthers puts a client that never reads in a room and checks, by what the others
// receive, that the room goes on without it and drops it with 1013.
func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	// WriteTimeout is long: the stuck client must be dropped by its full queue, not by a timeout.
	// Grace is off, so the dropped member leaves at once and the others see it.
	h := newHarness(t, &chat.Config{QueueSize: 8, Rate: 1000, Burst: 1000, WriteTimeout: time.Hour, Grace: -1})

	stuck := h.connect(0) // its writes never complete
	stuck.send(t, chat.Event{Type: chat.KindJoin, Nick: "stuck"})

	var others []*fakeSocket
	for i := range 3 {
		f, _ := h.join(t, "", fmt.Sprint("reader", i))
		others = append(others, f)
	}
	// Each message is read by every other client before the next is sent: if the stuck client could hold
	// the room back, the others would stop receiving. Its queue, never drained, overflows after QueueSize.
	const n = 100
	sawLeft := make([]bool, len(others))
	for i := range n {
		others[0].send(t, chat.Event{Type: chat.KindSend, Text: fmt.Sprint(i)})
		for k, f := range others {
			for {
				ev := f.next(t)
				if ev.Type == chat.KindLeft && ev.Nick == "stuck" {
					sawLeft[k] = true
				}
				if ev.Type == chat.KindMessage {
					require.Equal(t, fmt.Sprint(i), ev.Text, "messages in order")
					break
				}
			}
		}
	}
	assert.Equal(t, []bool{true, true, true}, sawLeft, "everyone is told the stuck client left")
	code, reason := stuck.waitClosed(t)
	assert.Equal(t, frame.CloseTryAgainLater, code)
	assert.NotEmpty(t, reason)
	assert.Equal(t, int64(1), h.hub.Stats().SlowDropped)
}

func TestLimitsCloseWithTheirCodes(t *testing.T) {
	t.Run("7.4.1/1009-message-over-read-limit", func(t *testing.T) {
		h := newHarness(t, &chat.Config{MaxMessageSize: 64})
		f, _ := h.join(t, "", "big")
		f.sendRaw(t, []byte(`{"type":"send","text":"`+strings.Repeat("x", chat.ReadLimitFactor*64)+`"}`))
		code, _ := f.waitClosed(t)
		assert.Equal(t, frame.CloseTooBig, code)
		assert.Equal(t, int64(1), h.hub.Stats().TooBig)
	})
	t.Run("7.4.1/1008-rate-limit-ignored", func(t *testing.T) {
		h := newHarness(t, &chat.Config{Rate: 0.001, Burst: 3})
		f, _ := h.join(t, "", "fast") // the join takes one token
		refused := 0
		for i := range 2 + chat.AbuseRefusals + 1 {
			f.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("s", i), Text: "spam"})
		}
		for {
			ev := f.next(t)
			if ev.Type == chat.KindError {
				require.Equal(t, chat.ErrCodeRateLimited, ev.Code)
				refused++
			}
			if refused == chat.AbuseRefusals {
				break
			}
		}
		code, reason := f.waitClosed(t)
		assert.Equal(t, frame.ClosePolicyViolation, code, "closed after %d refusals in a row", chat.AbuseRefusals)
		assert.Contains(t, reason, "rate")
		assert.Equal(t, int64(1), h.hub.Stats().AbuseClosed)
		assert.Equal(t, int64(chat.AbuseRefusals+1), h.hub.Stats().RateLimited)
	})
	t.Run("7.4.1/1008-connections-per-address", func(t *testing.T) {
		h := newHarness(t, &chat.Config{MaxConnsPerIP: 2})
		h.join(t, "", "one")
		h.join(t, "", "two")
		third := h.connectFrom(8, "127.0.0.1")
		code, _ := third.waitClosed(t)
		assert.Equal(t, frame.ClosePolicyViolation, code)
		other, _ := h.joinFrom(t, "10.0.0.1", "three")
		assert.NotNil(t, other, "another address is not limited")
		assert.Equal(t, int64(1), h.hub.Stats().RefusedPerIP)
	})
	t.Run("7.4.1/1008-join-timeout", func(t *testing.T) {
		h := newHarness(t, &chat.Config{JoinTimeout: 50 * time.Millisecond})
		f := h.connect(8)
		code, reason := f.waitClosed(t)
		assert.Equal(t, frame.ClosePolicyViolation, code)
		assert.Contains(t, reason, "join")
	})
}

// TestShutdownDeliversThenGoesAway checks that messages already accepted but still queued for a client reach
// it before the 1001 close, that new connections are refused, and (through goleak in TestMain) that no
// goroutine is left.
func TestShutdownDeliversThenGoesAway(t *testing.T) {
	hub := chat.NewHub(quiet(&chat.Config{Rate: 1000, Burst: 1000}))
	h := &harness{hub: hub}
	// b's writes wait for the test to read, so what is sent to it stays queued in the hub until then.
	b := h.connect(0)
	b.send(t, chat.Event{Type: chat.KindJoin, Nick: "b"})
	require.Equal(t, chat.KindWelcome, b.next(t).Type)
	a, _ := h.join(t, "", "a")
	const n = 50
	for i := range n {
		a.send(t, chat.Event{Type: chat.KindSend, Text: fmt.Sprint(i)})
	}
	for a.nextOf(t, chat.KindMessage).Text != fmt.Sprint(n-1) {
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- hub.Shutdown(ctx) }()

	got := 0
	for got < n {
		if ev := b.next(t); ev.Type == chat.KindMessage {
			assert.Equal(t, fmt.Sprint(got), ev.Text, "in order")
			got++
		}
	}
	require.NoError(t, <-shut)
	h.wg.Wait()
	for _, f := range []*fakeSocket{a, b} {
		code, _ := f.status()
		assert.Equal(t, frame.CloseGoingAway, code)
	}

	late := h.connect(8)
	code, _ := late.waitClosed(t)
	assert.Equal(t, frame.CloseGoingAway, code, "connections after shutdown are refused")
	h.wg.Wait()
	assert.Equal(t, int64(0), hub.Stats().ConnectionsActive)
}

// TestOverloadPacesSenders: when most of a room is behind, a send is refused with rate_limited and a
// retry time rather than queued until the room's members overflow and are dropped; once they catch up,
// sends go through again.
func TestOverloadPacesSenders(t *testing.T) {
	h := newHarness(t, &chat.Config{QueueSize: 8, Rate: 1e6, Burst: 1e6, WriteTimeout: time.Hour})
	var slow []*fakeSocket
	for i := range 3 {
		f := h.connect(0) // writes wait for the test to read
		f.send(t, chat.Event{Type: chat.KindJoin, Nick: fmt.Sprint("slow", i)})
		require.Equal(t, chat.KindWelcome, f.next(t).Type) // then its writer waits again
		slow = append(slow, f)
		defer f.leave() // its writes would wait for ever
	}
	a, _ := h.join(t, "", "ada")
	refused := chat.Event{}
	for i := 0; i < 20 && refused.Type == ""; i++ {
		a.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("o", i), Text: "x"})
		for {
			ev := a.next(t)
			if ev.Type == chat.KindError {
				refused = ev
				break
			}
			if ev.Type == chat.KindAck {
				break
			}
		}
	}
	require.Equal(t, chat.KindError, refused.Type, "refused before the queues overflow")
	assert.Equal(t, chat.ErrCodeRateLimited, refused.Code)
	assert.Positive(t, refused.RetryMS)
	assert.Equal(t, int64(1), h.hub.Stats().Overloaded)
	assert.Equal(t, int64(0), h.hub.Stats().SlowDropped, "nobody dropped")

	// The slow members read everything queued; then the room takes messages again.
	drain := func() {
		for _, f := range slow {
			for {
				select {
				case <-f.out:
					continue
				case <-time.After(50 * time.Millisecond):
				}
				break
			}
		}
	}
	require.Eventually(t, func() bool {
		drain()
		a.send(t, chat.Event{Type: chat.KindSend, ID: "again", Text: "y"})
		for {
			ev := a.next(t)
			if ev.Type == chat.KindAck {
				return true
			}
			if ev.Type == chat.KindError {
				return false
			}
		}
	}, wait, tick)
}
