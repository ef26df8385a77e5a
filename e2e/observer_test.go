package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
)

// observer is a Go client in the room, connected to the server directly (never through a test's proxy),
// that keeps every event it receives: the ground truth of what the server recorded and announced.
type observer struct {
	t    testing.TB
	c    *conn.Conn
	nick string
	done chan struct{}

	mu  sync.Mutex
	evs []chat.Event
}

func observe(t testing.TB, url, nick string) *observer {
	t.Helper()
	o := &observer{t: t, c: dialChat(t, url, nick), nick: nick, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for {
			_, b, err := o.c.ReadMessage(context.Background())
			if err != nil {
				return
			}
			var ev chat.Event
			if json.Unmarshal(b, &ev) == nil {
				o.mu.Lock()
				o.evs = append(o.evs, ev)
				o.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = o.c.CloseNow()
		<-o.done
	})
	return o
}

// events returns the events of kind from nick received so far.
func (o *observer) events(kind chat.Kind, nick string) []chat.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []chat.Event
	for _, ev := range o.evs {
		if ev.Type == kind && ev.Nick == nick {
			out = append(out, ev)
		}
	}
	return out
}

// texts returns the texts of the messages from nick received so far, in order.
func (o *observer) texts(nick string) []string {
	var out []string
	for _, ev := range o.events(chat.KindMessage, nick) {
		out = append(out, ev.Text)
	}
	return out
}

// waitText waits until a message from nick with text has arrived and returns it.
func (o *observer) waitText(nick, text string) chat.Event {
	o.t.Helper()
	var found chat.Event
	require.Eventually(o.t, func() bool {
		for _, ev := range o.events(chat.KindMessage, nick) {
			if ev.Text == text {
				found = ev
				return true
			}
		}
		return false
	}, step, 20*time.Millisecond, "%s receives %q from %s", o.nick, text, nick)
	return found
}

// sync sends a message of the observer's own and waits for its broadcast: whatever the room recorded
// before it has then reached the observer too, so a count taken after sync is final.
func (o *observer) sync() {
	o.t.Helper()
	o.mu.Lock()
	text := fmt.Sprintf("sync %d", len(o.evs))
	o.mu.Unlock()
	sendEvent(o.t, o.c, chat.Event{Type: chat.KindSend, ID: newID(), Text: text})
	o.waitText(o.nick, text)
}

// once asserts that exactly one message from nick with text was recorded.
func (o *observer) once(nick, text string) chat.Event {
	o.t.Helper()
	o.sync()
	var got []chat.Event
	for _, ev := range o.events(chat.KindMessage, nick) {
		if ev.Text == text {
			got = append(got, ev)
		}
	}
	require.Len(o.t, got, 1, "the room recorded %q from %s exactly once", text, nick)
	return got[0]
}

var idSeq struct {
	sync.Mutex
	n int
}

// newID names one send of a Go client, unique within the test binary.
func newID() string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("go-%d", idSeq.n)
}

// assertNoMembershipChange checks that nick neither left nor joined again after its first join, as a
// resumed session must not announce.
func (o *observer) assertNoMembershipChange(nick string) {
	o.t.Helper()
	assert.Empty(o.t, o.events(chat.KindLeft, nick), "%s never left", nick)
	assert.LessOrEqual(o.t, len(o.events(chat.KindJoined, nick)), 1, "%s joined once", nick)
}
