package interop_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait for a peer: generous, since the machine is
// shared, but short enough that a stuck peer fails the subtest, not the run.
const waitTimeout = 30 * time.Second

// event is one report of a peer, as a JSON line (or a browser's POST).
type event struct {
	ID       string `json:"id"`
	Event    string `json:"event"` // listening, open, pong, close, error
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	// Extensions is the Sec-WebSocket-Extensions value of the opening
	// handshake's response, in an "open" report.
	Extensions string `json:"extensions"`
	Data       string `json:"data"`
	Code       int    `json:"code"`
	Reason     string `json:"reason"`
	Message    string `json:"message"`
}

// router hands each peer report to the connection it names.
type router struct {
	mu    sync.Mutex
	chans map[string]chan event
}

func newRouter() *router { return &router{chans: make(map[string]chan event)} }

// watch registers id before its connection starts, so no report is lost.
func (r *router) watch(id string) chan event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan event, 64)
	r.chans[id] = ch
	return ch
}

// dispatch delivers ev; reports for unknown ids, or beyond a full buffer,
// are dropped: they cannot belong to a subtest still waiting.
func (r *router) dispatch(ev event) {
	r.mu.Lock()
	ch := r.chans[ev.ID]
	r.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- ev:
	default:
	}
}

// dispatchLine decodes one JSON line; it reports whether it was an event.
func (r *router) dispatchLine(line []byte) (event, bool) {
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil {
		return ev, false
	}
	r.dispatch(ev)
	return ev, true
}

// nextEvent waits for the peer's next report of the given kind. Any "error"
// report fails the test, as does a close when something else was awaited.
func nextEvent(t testing.TB, ch <-chan event, kind string) event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			switch {
			case ev.Event == kind:
				return ev
			case ev.Event == "error":
				t.Fatalf("peer reported an error while waiting for %q: %s", kind, ev.Message)
			case ev.Event == "close":
				t.Fatalf("peer closed (code %d %q) while waiting for %q", ev.Code, ev.Reason, kind)
			}
		case <-timer.C:
			t.Fatalf("no %q report from the peer within %v", kind, waitTimeout)
		}
	}
}
