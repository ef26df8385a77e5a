package conn

import "strconv"

// State is where a connection is in its life cycle. The values and names
// are those of the browser's WebSocket readyState.
type State int32

// The states of RFC 6455, Section 4 and 7, in the order a connection goes
// through them. A connection may skip Closing (the TCP connection dropped)
// but never goes back.
const (
	// StateConnecting: the opening handshake has not completed.
	StateConnecting State = 0
	// StateOpen: the opening handshake completed (RFC 6455, Section 4.1:
	// "_The WebSocket Connection is Established_").
	StateOpen State = 1
	// StateClosing: a close frame was sent or received (RFC 6455,
	// Section 7.1.3: "The WebSocket Closing Handshake is Started").
	StateClosing State = 2
	// StateClosed: the TCP connection is closed (RFC 6455, Section 7.1.4).
	StateClosed State = 3
)

// String returns the browser's name of the state: "CONNECTING", "OPEN",
// "CLOSING", "CLOSED", or "State(N)" for other values.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "CONNECTING"
	case StateOpen:
		return "OPEN"
	case StateClosing:
		return "CLOSING"
	case StateClosed:
		return "CLOSED"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// legalTransition reports whether a connection may go from one state to
// the other. The life cycle only moves forward: Connecting ends in Open or,
// when the handshake fails, Closed; Open ends in Closing (a close frame
// went one way) or Closed (TCP ended first); Closing ends in Closed.
func legalTransition(from, to State) bool {
	switch from {
	case StateConnecting:
		return to == StateOpen || to == StateClosed
	case StateOpen:
		return to == StateClosing || to == StateClosed
	case StateClosing:
		return to == StateClosed
	}
	return false
}

// State returns the current state. It is safe to call from any goroutine.
func (c *Conn) State() State { return State(c.state.Load()) }

// transition moves the connection from one state to another with a
// compare-and-swap and reports whether this call made the change. It is
// the only place the state changes, so exactly one caller wins each step
// and the closed channel is closed exactly once.
//
// OnStateChange is called after the swap, outside any lock, in the order
// the transitions happened: a transition made while another goroutine is
// delivering is handed to that goroutine, so the hook may itself call
// methods that change the state without deadlocking.
func (c *Conn) transition(from, to State) bool {
	if !legalTransition(from, to) {
		return false
	}
	c.stateMu.Lock()
	if !c.state.CompareAndSwap(int32(from), int32(to)) {
		c.stateMu.Unlock()
		return false
	}
	if to == StateClosed {
		if p := c.closedCh.Load(); p != nil {
			close(*p)
		}
	}
	hook := c.cfg.onStateChange
	if hook == nil {
		c.stateMu.Unlock()
		return true
	}
	// At most three transitions ever happen, so the queue never overflows.
	c.pending[c.npending] = [2]uint8{uint8(from), uint8(to)}
	c.npending++
	if c.delivering {
		c.stateMu.Unlock()
		return true
	}
	c.delivering = true
	for i := uint8(0); i < c.npending; i++ {
		t := [2]State{State(c.pending[i][0]), State(c.pending[i][1])}
		c.stateMu.Unlock()
		hook(t[0], t[1])
		c.stateMu.Lock()
	}
	c.npending = 0
	c.delivering = false
	c.stateMu.Unlock()
	return true
}

// toClosed moves the connection to Closed from wherever it is.
func (c *Conn) toClosed() {
	for {
		s := c.State()
		if s == StateClosed || c.transition(s, StateClosed) {
			return
		}
	}
}

// closedChan is a closed channel, for done on a connection already closed.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// done returns a channel closed when the connection reaches StateClosed.
// It is made at the first call: most connections never wait for it.
func (c *Conn) done() <-chan struct{} {
	if p := c.closedCh.Load(); p != nil {
		return *p
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if p := c.closedCh.Load(); p != nil {
		return *p
	}
	if c.State() == StateClosed {
		return closedChan
	}
	ch := make(chan struct{})
	c.closedCh.Store(&ch)
	return ch
}
