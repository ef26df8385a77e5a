// Package deadline turns the end of a context into deadlines on a
// connection, so that blocking reads and writes on a net.Conn, which take no
// context, still return when the caller's context ends. It is the one place
// the handshake and the connection do this.
package deadline

import (
	"context"
	"sync/atomic"
	"time"
)

// Past is a deadline in the past: setting it makes a blocked Read or Write
// on a net.Conn return at once with a timeout error.
var Past = time.Unix(1, 0)

// Watch turns the end of a context into a past deadline on a connection,
// for the duration of one blocking operation. It is armed before the
// operation and disarmed after it, by one goroutine at a time; its fields
// are reused, and it allocates only when armed with a context that can
// end (for context.AfterFunc).
//
// The zero Watch is not usable: call Init first.
type Watch struct {
	conn  Conn
	dir   Dir
	fn    func()        // w.expire, bound at the first Arm that needs it
	fired chan struct{} // receives once per expiry
	stop  func() bool
	ended atomic.Bool
}

// Conn is the part of a net.Conn a Watch sets deadlines on.
type Conn interface {
	SetDeadline(time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Dir says which deadline a Watch sets.
type Dir uint8

// The directions.
const (
	Both Dir = iota
	Read
	Write
)

// Init makes w set the deadline of direction dir on c.
func (w *Watch) Init(c Conn, dir Dir) {
	w.conn, w.dir = c, dir
}

func (w *Watch) expire() {
	// ended is stored before the deadline is set: a goroutine that sets a
	// deadline of its own and then finds ended false knows that this past
	// deadline, if it comes, comes after its own and wins.
	w.ended.Store(true)
	_ = w.set(Past)
	w.fired <- struct{}{}
}

func (w *Watch) set(t time.Time) error {
	switch w.dir {
	case Read:
		return w.conn.SetReadDeadline(t)
	case Write:
		return w.conn.SetWriteDeadline(t)
	}
	return w.conn.SetDeadline(t)
}

// Arm starts watching ctx. A context that can never end costs nothing.
func (w *Watch) Arm(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	if w.fired == nil {
		w.fired = make(chan struct{}, 1)
		w.fn = w.expire
	}
	w.ended.Store(false)
	w.stop = context.AfterFunc(ctx, w.fn)
}

// Ended reports whether the context being watched ended, so that a
// timeout error is the context's and not another deadline's. A nil Watch
// watches nothing.
func (w *Watch) Ended() bool { return w != nil && w.stop != nil && w.ended.Load() }

// Disarm stops watching and reports whether the context ended meanwhile.
// In that case it waits until the past deadline is set, and the caller
// must set the next deadline (or clear it) before the next operation.
func (w *Watch) Disarm() bool {
	if w == nil || w.stop == nil {
		return false
	}
	stopped := w.stop()
	w.stop = nil
	if stopped {
		return false
	}
	<-w.fired
	return true
}

// Bound returns the deadline of a handshake under ctx given its timeout
// option: zero means ctx's deadline when it has one and otherwise def, a
// negative value ctx's deadline alone, a positive one whichever comes
// first. The zero time means no deadline.
func Bound(ctx context.Context, timeout, def time.Duration) time.Time {
	if timeout == 0 {
		timeout = def
		if _, ok := ctx.Deadline(); ok {
			timeout = -1
		}
	}
	return Earliest(ctx, timeout)
}

// Earliest returns the earlier of ctx's deadline and now plus timeout, or
// the zero time when there is neither (timeout <= 0 means none).
func Earliest(ctx context.Context, timeout time.Duration) time.Time {
	d, ok := ctx.Deadline()
	if timeout > 0 {
		if t := time.Now().Add(timeout); !ok || t.Before(d) {
			return t
		}
	}
	if ok {
		return d
	}
	return time.Time{}
}
