package conn

import (
	"sync"
	"sync/atomic"
)

// sema is a lock whose waiters give up when their context ends or the
// connection closes, which sync.Mutex does not allow. Uncontended it is an
// atomic flag and allocates nothing; the channel waiters sleep on is made at
// the first contention. It does not queue waiters fairly: a release wakes
// one, which races newcomers for the flag.
type sema struct {
	held atomic.Bool
	wake atomic.Pointer[chan struct{}]
}

// semaWakeMu guards the creation of every sema's wake channel, a rare
// event: a lock of its own per sema would cost memory on every idle
// connection.
var semaWakeMu sync.Mutex

// tryAcquire takes the lock if it is free.
func (s *sema) tryAcquire() bool { return s.held.CompareAndSwap(false, true) }

// acquire takes the lock, waiting for it until done or closed is closed
// (either may be nil), and reports whether it got it.
func (s *sema) acquire(done, closed <-chan struct{}) bool {
	if s.tryAcquire() {
		return true
	}
	w := s.waitChan()
	for {
		// After the channel exists, a release either finds it and leaves a
		// token, or came before this attempt, which then succeeds.
		if s.tryAcquire() {
			return true
		}
		select {
		case <-w:
		case <-done:
			return false
		case <-closed:
			return false
		}
	}
}

// release frees the lock and wakes a waiter, if any.
func (s *sema) release() {
	s.held.Store(false)
	if w := s.wake.Load(); w != nil {
		select {
		case *w <- struct{}{}:
		default: // a token is waiting already
		}
	}
}

func (s *sema) waitChan() chan struct{} {
	if w := s.wake.Load(); w != nil {
		return *w
	}
	semaWakeMu.Lock()
	defer semaWakeMu.Unlock()
	if w := s.wake.Load(); w != nil {
		return *w
	}
	w := make(chan struct{}, 1)
	s.wake.Store(&w)
	return w
}
