package conn

import (
	"context"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it makes a blocked Read
// or Write on the net.Conn return at once.
var aLongTimeAgo = time.Unix(1, 0)

// deadlineWatch turns the end of a context into a past deadline on one
// direction of the net.Conn, for the duration of one blocking operation.
// A connection has one for reads (used under the read lock) and one for
// writes (used under the frame lock), so it is never armed twice at once
// and its fields are reused without allocation.
type deadlineWatch struct {
	set   func(time.Time) error // SetReadDeadline or SetWriteDeadline
	fired chan struct{}         // receives once per expiry
	fn    func()                // w.expire, bound once
	stop  func() bool
}

func (w *deadlineWatch) init(set func(time.Time) error) {
	w.set = set
	w.fired = make(chan struct{}, 1)
	w.fn = w.expire
}

func (w *deadlineWatch) expire() {
	_ = w.set(aLongTimeAgo)
	w.fired <- struct{}{}
}

// arm starts watching ctx. A context that can never end costs nothing.
func (w *deadlineWatch) arm(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	w.stop = context.AfterFunc(ctx, w.fn)
}

// disarm stops watching. When the context ended meanwhile, it waits for
// the past deadline to be set and clears it, so that the next operation,
// with another context, is not cut short.
func (w *deadlineWatch) disarm() {
	if w.stop == nil {
		return
	}
	if !w.stop() {
		<-w.fired
		_ = w.set(time.Time{})
	}
	w.stop = nil
}
