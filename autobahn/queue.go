package autobahn

import (
	"context"
	"net"
	"sync"
	"time"
)

// loopEvent is one thing for the session loop to handle: a received frame,
// the end of the read side, or a timer callback.
type loopEvent struct {
	frame *inFrame
	err   error
	fn    func()
}

// queue is an unbounded FIFO of loop events. It never blocks the producer:
// the reader must keep draining the socket while the loop is busy writing,
// or a peer that echoes while we send a large message would deadlock us.
type queue struct {
	mu     sync.Mutex
	items  []loopEvent
	ready  chan struct{}
	closed bool
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

func (q *queue) push(ev loopEvent) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop returns the next event, or false when ctx is done first.
func (q *queue) pop(ctx context.Context) (loopEvent, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			ev := q.items[0]
			q.items[0] = loopEvent{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return ev, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return loopEvent{}, false
		}
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.items = nil
	q.mu.Unlock()
}

// writeItem is one unit for the writer: bytes to write, how, and whether to
// close the connection once they are out.
type writeItem struct {
	data      []byte
	chop      int
	sync      bool
	closeConn bool
}

// syncPause is how long the writer waits after a frame sent with Sync, so the
// next bytes leave in a separate segment, as the original's synchronous sends do.
const syncPause = time.Millisecond

// The original writes each chop in its own turn of its event loop, so tiny
// chops (octet-wise sends) leave spread over time, the peer's answers
// interleaved with them. The suite paces chops below tinyChop bytes the
// same way; larger chops (9.5.x, 9.6.x) go back to back, as their count
// would make any pause dominate the case.
const (
	tinyChop  = 16
	chopPause = 100 * time.Microsecond
)

// writer owns all writes to the connection. The loop hands it items and never
// blocks on the socket, so timers keep firing while a peer does not read.
type writer struct {
	mu    sync.Mutex
	items []writeItem
	ready chan struct{}
	stop  chan struct{}
	done  chan struct{}
	nc    net.Conn
	logTx func(p []byte, sync bool)
}

func newWriter(nc net.Conn, logTx func([]byte, bool)) *writer {
	return &writer{ready: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), nc: nc, logTx: logTx}
}

func (w *writer) push(it writeItem) {
	w.mu.Lock()
	w.items = append(w.items, it)
	w.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

func (w *writer) run() {
	defer close(w.done)
	var buf []byte
	for {
		w.mu.Lock()
		items := w.items
		w.items = nil
		w.mu.Unlock()
		if len(items) == 0 {
			select {
			case <-w.ready:
				continue
			case <-w.stop:
				return
			}
		}
		for i := 0; i < len(items); i++ {
			it := items[i]
			switch {
			case it.closeConn:
				w.flush(&buf)
				_ = w.nc.Close()
				return
			case it.chop > 0:
				w.flush(&buf)
				for p := it.data; len(p) > 0; {
					n := min(it.chop, len(p))
					w.write(p[:n], false)
					p = p[n:]
					if it.chop < tinyChop && len(p) > 0 {
						time.Sleep(chopPause)
					}
				}
			case it.sync:
				w.flush(&buf)
				w.write(it.data, true)
				time.Sleep(syncPause)
			default:
				// Frames queued together leave together, as a single TCP
				// write, like the original's buffered transport.
				buf = append(buf, it.data...)
			}
		}
		w.flush(&buf)
	}
}

func (w *writer) flush(buf *[]byte) {
	if len(*buf) > 0 {
		w.write(*buf, false)
		*buf = (*buf)[:0]
	}
}

func (w *writer) write(p []byte, sync bool) {
	w.logTx(p, sync)
	// A failed write ends the connection; the read side reports it.
	_, _ = w.nc.Write(p)
}

// close stops the writer without flushing and waits for it.
func (w *writer) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}
