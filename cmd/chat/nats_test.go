package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
)

// startRun runs the command with args until the returned stop is called, and returns its address.
func startRun(t *testing.T, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, func(a string) { ready <- a })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run returned early: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(wait):
			t.Error("run did not return after shutdown")
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

func chatEvent(t *testing.T, ctx context.Context, c *conn.Conn) chat.Event {
	t.Helper()
	_, b, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	var ev chat.Event
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

func chatSend(t *testing.T, ctx context.Context, c *conn.Conn, ev chat.Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, b))
}

// TestRunKeepsHistoryAcrossRestart: the command with its embedded NATS stops (SIGTERM) and starts again
// on the same -data. Every acked message is still there under the same epoch, and a client resuming
// with since gets exactly what it missed.
func TestRunKeepsHistoryAcrossRestart(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	addr, stop := startRun(t, "-data", data)
	c, _, err := conn.Dial(ctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	chatSend(t, ctx, c, chat.Event{Type: chat.KindJoin, Nick: "ada"})
	w := chatEvent(t, ctx, c)
	require.Equal(t, chat.KindWelcome, w.Type)
	epoch := w.Epoch
	acks := map[string]uint64{}
	for _, id := range []string{"a", "b", "c"} {
		chatSend(t, ctx, c, chat.Event{Type: chat.KindSend, ID: id, Text: "text " + id})
	}
	for len(acks) < 3 {
		if ev := chatEvent(t, ctx, c); ev.Type == chat.KindAck {
			acks[ev.ID] = ev.Seq
		}
	}
	require.NoError(t, c.CloseNow()) // a reader-less client would hold the shutdown for its close timeout
	stop()

	addr, _ = startRun(t, "-data", data)
	c2, _, err := conn.Dial(ctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer c2.CloseNow()
	chatSend(t, ctx, c2, chat.Event{Type: chat.KindJoin, Nick: "ada", Since: acks["a"], Epoch: epoch})
	w = chatEvent(t, ctx, c2)
	require.Equal(t, chat.KindWelcome, w.Type)
	assert.Equal(t, epoch, w.Epoch, "the epoch survives the restart")
	var got []string
	for _, raw := range w.History {
		var ev chat.Event
		require.NoError(t, json.Unmarshal(raw, &ev))
		if ev.Type == chat.KindMessage {
			got = append(got, ev.Text)
			assert.Equal(t, acks[ev.Text[len("text "):]], ev.Seq, "stored under its acked seq")
		}
	}
	assert.Equal(t, []string{"text b", "text c"}, got, "exactly the acked messages after since")
}
