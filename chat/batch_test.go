package chat_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
)

// countingConn counts the Write calls that reach the network.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestQueuedEventsLeaveInOneWrite: the events queued for a member while its connection was busy leave
// together, corked, in one write, not one write each.
func TestQueuedEventsLeaveInOneWrite(t *testing.T) {
	h := newHarness(t, &chat.Config{Rate: 1e6, Burst: 1e6})
	sp, cp := net.Pipe()
	counted := &countingConn{Conn: sp}
	server := conn.New(counted, nil, frame.RoleServer, nil)
	client := conn.New(cp, nil, frame.RoleClient, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.hub.Serve(chat.NewSocket(server), "127.0.0.1")
	}()
	t.Cleanup(func() {
		_ = client.CloseNow()
		wg.Wait()
	})

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, client.WriteMessage(ctx, conn.MessageText, []byte(`{"type":"join","nick":"piped"}`)))
	// The welcome's write waits for the client to read (a net.Pipe has no buffer); meanwhile the room's
	// events queue up behind it.
	require.Eventually(t, func() bool { return counted.writes.Load() == 1 }, wait, tick)
	a, _ := h.join(t, "", "ada")
	const n = 20
	for i := range n {
		a.send(t, chat.Event{Type: chat.KindSend, ID: fmt.Sprint("b", i), Text: fmt.Sprint("m", i)})
	}
	for {
		if ev := a.next(t); ev.Type == chat.KindAck && ev.ID == fmt.Sprint("b", n-1) {
			break
		}
	}

	got := 0
	for got < n {
		_, b, err := client.ReadMessage(ctx)
		require.NoError(t, err)
		if ev := decodeEvent(t, b); ev.Type == chat.KindMessage {
			assert.Equal(t, fmt.Sprint("m", got), ev.Text)
			got++
		}
	}
	// One write for the welcome, one for the rest (two if the writer woke between the first events).
	assert.LessOrEqual(t, counted.writes.Load(), int64(3), "%d messages and notices, corked", n+2)
}
