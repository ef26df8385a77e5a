//go:build !linux

package conn

import "errors"

// readyLoop would be the readiness-driven half of a Loop: on this system a
// Loop serves every connection with a goroutine of its own.
type readyLoop struct{}

// evConn would be a connection's state in a readiness-driven loop.
type evConn struct{}

func newReadyLoop(*Loop) (*readyLoop, error) { return nil, errors.ErrUnsupported }

func (*readyLoop) adopt(*Conn, Handler) bool { return false }
func (*readyLoop) shutdown()                 {}
func (*evConn) flush() error                 { return nil }
func (*evConn) flushWith([]byte) error       { return nil }
func (*evConn) admit(int) error              { return nil }
func (*evConn) beginDrain()                  {}
func (*evConn) closedElsewhere()             {}
