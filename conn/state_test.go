package conn_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

func TestStateString(t *testing.T) {
	for s, want := range map[conn.State]string{
		conn.StateConnecting: "CONNECTING",
		conn.StateOpen:       "OPEN",
		conn.StateClosing:    "CLOSING",
		conn.StateClosed:     "CLOSED",
		conn.State(7):        "State(7)",
	} {
		assert.Equal(t, want, s.String())
	}
	// The values are the browser's readyState.
	assert.Equal(t, []int{0, 1, 2, 3}, []int{int(conn.StateConnecting), int(conn.StateOpen), int(conn.StateClosing), int(conn.StateClosed)})
}

// pathTo lists the legal transitions that bring a new connection to s.
var pathTo = map[conn.State][][2]conn.State{
	conn.StateConnecting: nil,
	conn.StateOpen:       {{conn.StateConnecting, conn.StateOpen}},
	conn.StateClosing:    {{conn.StateConnecting, conn.StateOpen}, {conn.StateOpen, conn.StateClosing}},
	conn.StateClosed:     {{conn.StateConnecting, conn.StateClosed}},
}

// TestTransitions lists every pair of states: the legal moves succeed
// once, everything else is rejected and leaves the state alone.
func TestTransitions(t *testing.T) {
	C, O, G, D := conn.StateConnecting, conn.StateOpen, conn.StateClosing, conn.StateClosed
	legal := map[[2]conn.State]bool{
		{C, O}: true, // 4.1: the opening handshake completed
		{C, D}: true, // 4.1: the opening handshake failed
		{O, G}: true, // 7.1.3: a close frame was sent or received
		{O, D}: true, // 7.1.4: the TCP connection ended first
		{G, D}: true, // 7.1.4: the TCP connection ended after the close frames
	}
	states := []conn.State{C, O, G, D}
	for _, from := range states {
		for _, to := range states {
			name := "7.1/" + from.String() + "-to-" + to.String()
			t.Run(name, func(t *testing.T) {
				a, _ := tcpPair(t)
				c := conn.NewConnecting(a, frame.RoleClient, nil)
				for _, step := range pathTo[from] {
					require.True(t, c.Transition(step[0], step[1]))
				}
				require.Equal(t, from, c.State())
				ok := c.Transition(from, to)
				assert.Equal(t, legal[[2]conn.State{from, to}], ok)
				if ok {
					assert.Equal(t, to, c.State())
					assert.False(t, c.Transition(from, to), "a transition happens once")
				} else {
					assert.Equal(t, from, c.State())
				}
			})
		}
	}
}

// TestTransitionNeedsCurrentState checks the compare-and-swap: a legal
// move from a state the connection is not in is rejected.
func TestTransitionNeedsCurrentState(t *testing.T) {
	a, _ := tcpPair(t)
	c := conn.NewConnecting(a, frame.RoleServer, nil)
	assert.False(t, c.Transition(conn.StateOpen, conn.StateClosing))
	assert.Equal(t, conn.StateConnecting, c.State())
}

// TestTransitionRace has many goroutines race for each step: exactly one
// wins each, and the hook sees each step once, in order.
func TestTransitionRace(t *testing.T) {
	a, _ := tcpPair(t)
	log := newStateLog()
	c := conn.NewConnecting(a, frame.RoleServer, &conn.Options{OnStateChange: log.hook})
	steps := [][2]conn.State{{conn.StateConnecting, conn.StateOpen}, {conn.StateOpen, conn.StateClosing}, {conn.StateClosing, conn.StateClosed}}
	for _, step := range steps {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c.Transition(step[0], step[1]) {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "%v", step)
	}
	assert.Equal(t, steps, log.wait(t))
}

// TestNewIsOpen checks that New reports the opening as a transition.
func TestNewIsOpen(t *testing.T) {
	var seen [][2]conn.State
	c, _ := newPair(t, &conn.Options{OnStateChange: func(from, to conn.State) {
		if len(seen) == 0 {
			seen = append(seen, [2]conn.State{from, to})
		}
	}}, nil)
	assert.Equal(t, conn.StateOpen, c.State())
	assert.Equal(t, [][2]conn.State{{conn.StateConnecting, conn.StateOpen}}, seen)
}

// TestStateHookMayClose checks that the hook can call back into the
// connection without deadlocking: closing from the hook for Closing makes
// a nested transition, which is still reported after the first.
func TestStateHookMayClose(t *testing.T) {
	log := newStateLog()
	var c *conn.Conn
	c, s := newPair(t, &conn.Options{OnStateChange: func(from, to conn.State) {
		log.hook(from, to)
		if to == conn.StateClosing {
			assert.NoError(t, c.CloseNow())
		}
	}}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Close(frame.CloseNormal, "") // its answer never comes: c closes TCP
	}()
	_, _, err := c.ReadMessage(testCtx(t))
	var ce conn.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, frame.CloseNormal, ce.Code)
	assert.Equal(t, [][2]conn.State{
		{conn.StateConnecting, conn.StateOpen},
		{conn.StateOpen, conn.StateClosing},
		{conn.StateClosing, conn.StateClosed},
	}, log.wait(t))
	<-done
}

// TestStateHookMayRead checks that a read from inside the hook, on the
// goroutine that holds the read lock, returns instead of waiting for
// itself.
func TestStateHookMayRead(t *testing.T) {
	hookErr := make(chan error, 1)
	var c *conn.Conn
	c, p := rawPair(t, frame.RoleServer, &conn.Options{OnStateChange: func(from, to conn.State) {
		if to == conn.StateClosing {
			_, _, err := c.ReadMessage(testCtx(t))
			hookErr <- err
		}
	}})
	p.send(p.wire(frame.OpClose, true, closePayload(t, frame.CloseNormal, "")))
	_, _, err := c.ReadMessage(testCtx(t))
	require.ErrorAs(t, err, new(conn.CloseError))
	require.ErrorAs(t, <-hookErr, new(conn.CloseError))
}

// TestOpen checks the end of the opening handshake: the subprotocol is
// recorded, and an extension the connection cannot apply is refused
// without opening.
func TestOpen(t *testing.T) {
	a, _ := tcpPair(t)
	c := conn.NewConnecting(a, frame.RoleServer, nil)
	require.NoError(t, c.Open("chat.v1", nil))
	assert.Equal(t, "chat.v1", c.Subprotocol())
	assert.Equal(t, conn.StateOpen, c.State())
	require.Error(t, c.Open("", nil), "opens once")

	b, _ := tcpPair(t)
	d := conn.NewConnecting(b, frame.RoleClient, nil)
	require.Error(t, d.Open("", []handshake.Extension{{Name: "permessage-deflate"}}))
	assert.Equal(t, conn.StateConnecting, d.State())
}

func TestMessageTypeString(t *testing.T) {
	assert.Equal(t, "text", conn.MessageText.String())
	assert.Equal(t, "binary", conn.MessageBinary.String())
	assert.Equal(t, "MessageType(9)", conn.MessageType(9).String())
}
