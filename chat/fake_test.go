package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
)

// wait bounds every wait for an event in these tests; it is generous because the machine is shared.
const wait = 10 * time.Second

// tick is how often assert.Eventually looks again.
const tick = 10 * time.Millisecond

var errClosed = errors.New("fake socket closed")

// fakeSocket is an in-memory chat.Socket. The test plays the browser: send puts a message on the hub's
// read side, next takes one from its write side.
type fakeSocket struct {
	in      chan []byte   // test -> hub
	out     chan []byte   // hub -> test; unbuffered and never read makes a client that never reads
	closed  chan struct{} // the hub closed the socket
	gone    chan struct{} // the test (the peer) went away
	once    sync.Once
	gonce   sync.Once
	mu      sync.Mutex
	code    frame.CloseCode
	reason  string
	closing bool
	normal  bool // the peer's close was 1000: it meant to leave
}

func newFakeSocket(outCap int) *fakeSocket {
	return &fakeSocket{
		in:     make(chan []byte),
		out:    make(chan []byte, outCap),
		closed: make(chan struct{}),
		gone:   make(chan struct{}),
	}
}

func (f *fakeSocket) ReadMessage(ctx context.Context) ([]byte, error) {
	select {
	case m := <-f.in:
		return m, nil
	case <-f.closed:
		return nil, errClosed
	case <-f.gone:
		f.mu.Lock()
		normal := f.normal
		f.mu.Unlock()
		if normal {
			return nil, conn.CloseError{Code: frame.CloseNormal}
		}
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeSocket) WriteMessage(ctx context.Context, msg []byte) error {
	select {
	case f.out <- msg:
		return nil
	case <-f.closed:
		return errClosed
	case <-f.gone:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeSocket) Close(code frame.CloseCode, reason string) error {
	f.mu.Lock()
	if !f.closing {
		f.closing, f.code, f.reason = true, code, reason
	}
	f.mu.Unlock()
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeSocket) CloseNow() error { return f.Close(frame.CloseAbnormal, "") }

// status returns the code and reason of the first close.
func (f *fakeSocket) status() (frame.CloseCode, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.code, f.reason
}

// leave is the peer going away without a word (a dropped network).
func (f *fakeSocket) leave() { f.gonce.Do(func() { close(f.gone) }) }

// bye is the peer closing with 1000, as a page does when its user leaves the room.
func (f *fakeSocket) bye() {
	f.mu.Lock()
	f.normal = true
	f.mu.Unlock()
	f.leave()
}

// send delivers ev to the hub as the next client message.
func (f *fakeSocket) send(t testing.TB, ev chat.Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	f.sendRaw(t, b)
}

func (f *fakeSocket) sendRaw(t testing.TB, b []byte) {
	t.Helper()
	select {
	case f.in <- b:
	case <-f.closed:
		t.Fatalf("send: socket closed by the hub")
	case <-time.After(wait):
		t.Fatalf("send: hub did not read")
	}
}

// next returns the next event the hub wrote.
func (f *fakeSocket) next(t testing.TB) chat.Event {
	t.Helper()
	select {
	case b := <-f.out:
		var ev chat.Event
		require.NoError(t, json.Unmarshal(b, &ev))
		return ev
	case <-time.After(wait):
		t.Fatalf("next: no event within %v", wait)
		return chat.Event{}
	}
}

// nextRaw returns the bytes of the next write, as the hub passed them.
func (f *fakeSocket) nextRaw(t testing.TB) []byte {
	t.Helper()
	select {
	case b := <-f.out:
		return b
	case <-time.After(wait):
		t.Fatalf("nextRaw: no event within %v", wait)
		return nil
	}
}

// nextOf skips events until one of kind k.
func (f *fakeSocket) nextOf(t testing.TB, k chat.Kind) chat.Event {
	t.Helper()
	for {
		if ev := f.next(t); ev.Type == k {
			return ev
		}
	}
}

// waitClosed waits until the hub closes the socket and returns the close status.
func (f *fakeSocket) waitClosed(t testing.TB) (frame.CloseCode, string) {
	t.Helper()
	select {
	case <-f.closed:
		return f.status()
	case <-time.After(wait):
		t.Fatalf("socket not closed within %v", wait)
		return 0, ""
	}
}

// harness runs a hub and the Serve calls of its clients, and shuts it all down at the end of the test.
type harness struct {
	hub *chat.Hub
	wg  sync.WaitGroup
}

func newHarness(t testing.TB, cfg *chat.Config) *harness {
	t.Helper()
	h := &harness{hub: chat.NewHub(quiet(cfg))}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := h.hub.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		h.wg.Wait()
	})
	return h
}

// connect serves a new fake connection from remote 127.0.0.1.
func (h *harness) connect(outCap int) *fakeSocket {
	return h.connectFrom(outCap, "127.0.0.1")
}

func (h *harness) connectFrom(outCap int, remote string) *fakeSocket {
	f := newFakeSocket(outCap)
	h.serve(f, remote)
	return f
}

// serve runs hub.Serve for f in the background.
func (h *harness) serve(f *fakeSocket, remote string) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.hub.Serve(f, remote)
	}()
}

// join connects a client and joins room as nick, returning the socket and the welcome.
func (h *harness) join(t testing.TB, room, nick string) (*fakeSocket, chat.Event) {
	t.Helper()
	f := h.connect(1024)
	f.send(t, chat.Event{Type: chat.KindJoin, Room: room, Nick: nick})
	w := f.next(t)
	require.Equal(t, chat.KindWelcome, w.Type, "welcome expected, got %+v", w)
	return f, w
}

func jsonMarshal(ev chat.Event) ([]byte, error) { return json.Marshal(ev) }

func jsonEvent(b []byte) (chat.Event, error) {
	var ev chat.Event
	err := json.Unmarshal(b, &ev)
	return ev, err
}

func decodeEvent(t testing.TB, b []byte) chat.Event {
	t.Helper()
	ev, err := jsonEvent(b)
	require.NoError(t, err)
	return ev
}

// joinFrom is join from another remote address.
func (h *harness) joinFrom(t testing.TB, remote, nick string) (*fakeSocket, chat.Event) {
	t.Helper()
	f := h.connectFrom(1024, remote)
	f.send(t, chat.Event{Type: chat.KindJoin, Nick: nick})
	w := f.nextOf(t, chat.KindWelcome)
	return f, w
}

// quiet returns cfg (or a new Config) with logs discarded, so test output shows only failures.
func quiet(cfg *chat.Config) *chat.Config {
	if cfg == nil {
		cfg = &chat.Config{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
