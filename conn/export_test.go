package conn

import (
	"net"

	"duplex/frame"
	"duplex/handshake"
)

// Hooks for the black-box tests.

// NewConnecting returns a connection that has not completed its opening
// handshake, as Accept and Dial hold it.
func NewConnecting(nc net.Conn, role frame.Role, opts *Options) *Conn {
	return newConn(nc, nil, role, opts)
}

// Transition exposes the one method that changes the state.
func (c *Conn) Transition(from, to State) bool { return c.transition(from, to) }

var (
	ErrWriterClosed = errWriterClosed
	ErrMessageType  = errMessageType
)

// Open exposes the end of the opening handshake.
func (c *Conn) Open(subprotocol string, exts []handshake.Extension) error {
	return c.open(subprotocol, exts)
}

// PreparedForms returns how many compressed forms pm holds.
func PreparedForms(pm *PreparedMessage) int {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return len(pm.deflated)
}

// Buffered returns how many bytes the connection read from the network
// and has not consumed yet.
func (c *Conn) Buffered() int {
	if !c.lockRead() {
		return -1
	}
	defer c.unlockRead()
	return c.in.buffered()
}

// Inflating reports whether the connection's decoder holds the pooled buffers
// of a message (false without compression); ok is false if the read lock was
// busy, so that nothing could be told.
func (c *Conn) Inflating() (holding, ok bool) {
	if !c.lockRead() {
		return false, false
	}
	defer c.unlockRead()
	return c.r.dec != nil && c.r.dec.Holding(), true
}
