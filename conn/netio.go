package conn

import (
	"context"
	"os"
	"time"

	"duplex/frame"
	"duplex/internal/deadline"
)

// keepaliveDue runs when the keepalive deadline passed: it pings a quiet
// peer, fails one that did not answer, and sets the next deadline.
func (c *Conn) keepaliveDue() error {
	action, next := c.ka.due(time.Now())
	switch action {
	case keepaliveDead:
		return errKeepalive
	case keepalivePing:
		// The ping waits for the frame lock no longer than the peer has to
		// answer: a writer blocked that long means the peer is not reading.
		ctx, cancel := context.WithTimeout(context.Background(), c.ka.timeout)
		err := c.writeControl(ctx, frame.OpPing, nil)
		cancel()
		if err != nil {
			if c.State() == StateOpen && ctx.Err() != nil {
				return errKeepalive
			}
			return err
		}
	}
	if err := c.setReadDeadline(next); err != nil {
		return err
	}
	if c.r.watch.Ended() {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// setReadDeadline moves the read deadline while a context may be ending:
// if it ended meanwhile, its past deadline, which this one may have
// replaced, is set again, so the read still returns.
func (c *Conn) setReadDeadline(d time.Time) error {
	err := c.nc.SetReadDeadline(d)
	if c.r.watch.Ended() {
		_ = c.nc.SetReadDeadline(deadline.Past)
	}
	return err
}

// resetReadDeadline sets the read deadline the connection keeps between
// reads, after a context's end set a past one: keepalive's, or none.
func (c *Conn) resetReadDeadline() {
	var d time.Time
	if c.ka != nil {
		d = c.ka.next()
	}
	_ = c.nc.SetReadDeadline(d)
}

// disarmRead stops watching the context of a read.
func (c *Conn) disarmRead() {
	if c.r.watch.Disarm() {
		c.resetReadDeadline()
	}
}

// armWrite prepares one write to the network under ctx, with
// WriteTimeout. Called under the frame lock.
func (c *Conn) armWrite(ctx context.Context) {
	if t := c.cfg.writeTimeout; t > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(t))
	} else if c.w.deadlineSet {
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.w.deadlineSet = false
	}
	if ctx.Done() != nil {
		if c.w.watch == nil {
			c.w.watch = new(deadline.Watch)
			c.w.watch.Init(c.nc, deadline.Write)
		}
		c.w.watch.Arm(ctx)
	}
}

// armRead starts watching the context of a read.
func (c *Conn) armRead(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	if c.r.watch == nil {
		c.r.watch = new(deadline.Watch)
		c.r.watch.Init(c.nc, deadline.Read)
	}
	c.r.watch.Arm(ctx)
}

// disarmWrite ends a write armWrite prepared.
func (c *Conn) disarmWrite() {
	if c.w.watch.Disarm() {
		c.w.deadlineSet = true // in the past: the next write clears it
	}
}
