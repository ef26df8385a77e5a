package conn

import (
	"errors"
	"fmt"
	"time"
)

// ErrKeepalive reports a peer that answered nothing, not even a pong, within
// [Options.PongTimeout] of a keepalive ping. The connection was failed; the
// error also matches a [CloseError] with code 1006, as no close frame came.
var ErrKeepalive = errors.New("conn: keepalive: the peer did not answer a ping in time")

// keepalive decides, from the time the peer was last heard, when to ping it
// and when to give up on it. It only keeps time; the connection drives it
// from the read deadline of its blocking read, so that keepalive costs no
// timer or goroutine of its own, and a readiness-driven loop can drive it
// from a shared clock the same way. Its fields are guarded by the read
// lock.
type keepalive struct {
	interval time.Duration // silence before a ping
	timeout  time.Duration // wait for any frame after the ping
	heardAt  time.Time     // when bytes last arrived (or the connection opened)
	pingAt   time.Time     // when the outstanding ping went; zero when none
}

// keepaliveAction is what a connection must do when its keepalive is due.
type keepaliveAction uint8

const (
	keepaliveWait keepaliveAction = iota // nothing yet: wait until next
	keepalivePing                        // the peer went quiet: ping it
	keepaliveDead                        // the ping went unanswered: fail
)

// heard records that bytes arrived at now. It reports whether they answer
// an outstanding ping, in which case the next deadline is earlier than the
// one set for the answer: now plus the interval.
func (k *keepalive) heard(now time.Time) bool {
	k.heardAt = now
	if k.pingAt.IsZero() {
		return false
	}
	k.pingAt = time.Time{}
	return true
}

// due decides what to do at now, and by when to ask again.
func (k *keepalive) due(now time.Time) (keepaliveAction, time.Time) {
	if !k.pingAt.IsZero() {
		if k.heardAt.Before(k.pingAt) {
			if !now.Before(k.pingAt.Add(k.timeout)) {
				return keepaliveDead, time.Time{}
			}
			return keepaliveWait, k.pingAt.Add(k.timeout)
		}
		k.pingAt = time.Time{} // answered by whatever came after it
	}
	if idle := now.Sub(k.heardAt); idle < k.interval {
		return keepaliveWait, k.heardAt.Add(k.interval)
	}
	k.pingAt = now
	return keepalivePing, now.Add(k.timeout)
}

// next is the time keepalive next needs attention.
func (k *keepalive) next() time.Time {
	if !k.pingAt.IsZero() {
		return k.pingAt.Add(k.timeout)
	}
	return k.heardAt.Add(k.interval)
}

// errKeepalive is the error a connection failed by keepalive reports.
var errKeepalive = fmt.Errorf("%w: %w", CloseError{Code: CloseAbnormal}, ErrKeepalive)
