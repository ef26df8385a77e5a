package chat

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"duplex/frame"
)

// client is one connection. Its reader runs in the goroutine that called Hub.Serve and its writer in one
// goroutine of its own; Serve returns only after both have ended.
type client struct {
	hub    *Hub
	sock   Socket
	remote string

	// Owned by the reader (room.join sets room and nick from it, under the room's lock).
	room   *room
	nick   string
	bucket bucket

	wake chan struct{} // capacity 1: "the queue or the ending changed"
	// ctx is cancelled to abort the write in progress when the client must stop at once: a client too slow
	// to keep up is usually stuck in a write, and it must not hold its goroutine for the whole WriteTimeout.
	ctx    context.Context
	cancel context.CancelFunc
	inRoom atomic.Bool // read by the join timer

	mu     sync.Mutex
	queue  [][]byte
	ending bool
	code   frame.CloseCode
	reason string
}

// enqueue adds msg to the client's queue without waiting. It reports false when the queue is full, that is
// when the client cannot keep up; a client that is ending takes nothing and reports true, as there is nothing
// to drop it for.
func (c *client) enqueue(msg []byte) bool {
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		return true
	}
	if len(c.queue) >= c.hub.cfg.QueueSize {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, msg)
	c.mu.Unlock()
	c.signal()
	return true
}

// end asks the writer to close the connection with code and reason: after the queued messages when drain
// is set, at once otherwise. Only the first call counts.
func (c *client) end(code frame.CloseCode, reason string, drain bool) {
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		return
	}
	c.ending, c.code, c.reason = true, code, reason
	if !drain {
		c.queue = nil
		c.cancel()
	}
	c.mu.Unlock()
	c.signal()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends queued messages in order until the client ends, then closes the connection. A failed
// write means the connection is unusable (the peer is gone, or too slow for WriteTimeout), so it is closed
// at once; the reader then gets an error and the client leaves its room.
func (c *client) writeLoop() {
	for range c.wake {
		c.mu.Lock()
		batch, ending, code, reason := c.queue, c.ending, c.code, c.reason
		c.queue = nil
		c.mu.Unlock()
		for _, msg := range batch {
			if c.ctx.Err() != nil {
				break
			}
			ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.WriteTimeout)
			err := c.sock.WriteMessage(ctx, msg)
			cancel()
			if err != nil && c.ctx.Err() != nil {
				break // aborted by end: close with its status below
			}
			if err != nil {
				c.end(frame.CloseAbnormal, "write failed", false)
				_ = c.sock.CloseNow()
				return
			}
			c.hub.stats.messagesOut.Add(1)
		}
		if c.ctx.Err() != nil {
			c.mu.Lock()
			ending, code, reason = c.ending, c.code, c.reason
			c.mu.Unlock()
		}
		if ending {
			// The error only says the peer did not finish the handshake in time; the connection is closed either way.
			_ = c.sock.Close(code, reason)
			return
		}
	}
}

// readLoop reads and handles messages until the connection fails or closes. After the client has been told
// to end it keeps reading, without handling, so that the closing handshake can complete. It returns the
// error that ended it, which tells how the connection closed.
func (c *client) readLoop() error {
	h := c.hub
	for {
		msg, err := c.sock.ReadMessage(context.Background())
		if err != nil {
			// The socket may enforce the size limit itself, before the payload arrives.
			var pe frame.ProtocolError
			if errors.As(err, &pe) && pe.Code == frame.CloseTooBig {
				h.stats.tooBig.Add(1)
			}
			return err
		}
		h.stats.messagesIn.Add(1)
		if c.isEnding() {
			continue
		}
		// The hub checks the size itself, whatever the socket enforced, so the limit holds on any transport.
		if int64(len(msg)) > h.cfg.MaxMessageSize {
			h.stats.tooBig.Add(1)
			// RFC 6455, Section 7.4.1: 1009 "indicates that an endpoint is terminating the connection
			// because it has received a message that is too big for it to process".
			c.end(frame.CloseTooBig, "message too big", true)
			continue
		}
		if !c.bucket.allow(h.now(), h.cfg.Rate, float64(h.cfg.Burst)) {
			h.stats.rateLimited.Add(1)
			// RFC 6455, Section 7.4.1: 1008 "indicates that an endpoint is terminating the connection
			// because it has received a message that violates its policy".
			c.end(frame.ClosePolicyViolation, "rate limit exceeded", true)
			continue
		}
		h.handle(c, msg)
	}
}

func (c *client) markJoined()  { c.inRoom.Store(true) }
func (c *client) joined() bool { return c.inRoom.Load() }

func (c *client) isEnding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ending
}

// refuse answers one request with an error event; the connection stays open.
func (c *client) refuse(code, text string) {
	if !c.enqueue(encode(&Event{Type: KindError, Code: code, Text: text})) {
		c.end(frame.CloseTryAgainLater, reasonSlow, false)
	}
}

// decode parses one client message. Unknown fields are ignored so that clients may grow ahead of the server.
func decode(msg []byte) (*Event, bool) {
	var ev Event
	if json.Unmarshal(msg, &ev) != nil {
		return nil, false
	}
	return &ev, true
}

// bucket is a token bucket: it holds up to burst tokens, refills at rate per second, and each message takes one.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) allow(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
