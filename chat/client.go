package chat

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"duplex/conn"
	"duplex/frame"
)

// client is one connection. Its reader runs in the goroutine that called Hub.Serve and its writer in one
// goroutine of its own; Serve returns only after both have ended.
type client struct {
	hub    *Hub
	sock   Socket
	remote string

	// Owned by the reader (room.join sets room, nick and member from it, under the room's lock).
	room    *room
	nick    string
	member  *member
	bucket  bucket
	refused int // rate_limited refusals in a row

	wake chan struct{} // capacity 1: "the queue or the ending changed", for a writer that is running
	// writers counts the writer goroutine, which runs only while there is something to write: an idle
	// member costs no goroutine but its reader. At most one runs at a time (writing, under mu).
	writers sync.WaitGroup
	last    time.Time // the last write's start, owned by the writer running
	// ctx is cancelled to abort the write in progress when the client must stop at once: a client too slow
	// to keep up is usually stuck in a write, and it must not hold its goroutine for the whole WriteTimeout.
	ctx    context.Context
	cancel context.CancelFunc
	inRoom atomic.Bool // read by the join timer
	// joinTimer ends a client that does not join in time.
	joinTimer *time.Timer

	// sends are the client's sends on their way to the stream, with Config.Broker; one goroutine,
	// counted in appends, stores them in order while there are any (appendStored).
	amu       sync.Mutex
	sends     []storedSend
	appending bool
	appends   sync.WaitGroup

	mu      sync.Mutex
	queue   []*outMsg
	writing bool  // a writer goroutine runs
	behind  *room // set while the queue holds half its size or more: counted in that room's behind
	ending  bool
	code    frame.CloseCode
	reason  string
}

// outMsg is one message queued for clients: a room's event is one outMsg shared by every member's queue.
type outMsg struct {
	b []byte
	// pm is b prepared for a *conn.Conn, framed once for all members; nil for a reply to one client.
	pm *conn.PreparedMessage
	// room, for a broadcast, is the room that sent it.
	room *room
	// notice marks a joined or left notice, which may wait for company (see maxLinger); a message may not.
	notice bool
}

// newOutMsg prepares b, an event of r, for its members.
func newOutMsg(b []byte, r *room, notice bool) *outMsg {
	pm, err := conn.NewPreparedMessage(conn.MessageText, b)
	if err != nil {
		pm = nil // cannot happen for a text message; the plain write path still works
	}
	return &outMsg{b: b, pm: pm, room: r, notice: notice}
}

// takeQueueLocked empties the queue and tells the room this client is no longer behind.
func (c *client) takeQueueLocked() []*outMsg {
	q := c.queue
	c.queue = nil
	if c.behind != nil {
		c.behind.behind.Add(-1)
		c.behind = nil
	}
	return q
}

// enqueue adds msg to the client's queue without waiting. It reports false when the queue is full, that is
// when the client cannot keep up; a client that is ending takes nothing and reports true, as there is nothing
// to drop it for.
func (c *client) enqueue(msg *outMsg) bool {
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
	if msg.room != nil && c.behind == nil && len(c.queue) >= max(1, c.hub.cfg.QueueSize/2) {
		c.behind = msg.room
		msg.room.behind.Add(1)
	}
	c.mu.Unlock()
	c.signal()
	return true
}

// end asks the writer to close the connection with code and reason: after the queued messages when drain
// is set, at once otherwise. Only the first call counts; it reports whether this call was it.
func (c *client) end(code frame.CloseCode, reason string, drain bool) bool {
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		return false
	}
	c.ending, c.code, c.reason = true, code, reason
	if !drain {
		c.takeQueueLocked()
		c.cancel()
	}
	c.mu.Unlock()
	c.signal()
	return true
}

// signal starts the writer, or wakes the one running, after the queue or the ending changed.
func (c *client) signal() {
	c.mu.Lock()
	start := !c.writing
	if start {
		c.writing = true
		c.writers.Add(1)
	}
	c.mu.Unlock()
	if start {
		go func() {
			defer c.writers.Done()
			c.writeLoop()
		}()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends queued messages in order until the queue is empty, and returns: the next message
// starts a writer again. Once the client ends, it writes what is queued (unless told to drop it) and
// closes the connection; no writer starts after that. A failed write means the connection is unusable
// (the peer is gone, or too slow for WriteTimeout), so it is closed at once; the reader then gets an
// error and the client leaves its room.
func (c *client) writeLoop() {
	bw, batched := c.sock.(batchWriter)
	for {
		c.mu.Lock()
		if len(c.queue) == 0 && !c.ending {
			c.writing = false
			c.mu.Unlock()
			return
		}
		// Under sustained traffic (a write less than the linger ago) the writer lets events gather
		// before it drains the queue, so a member of a busy room gets several in one write; a lone event
		// after a quiet spell leaves at once.
		linger := c.lingerLocked()
		c.mu.Unlock()
		if d := time.Since(c.last); batched && d < linger {
			c.lingerFor(linger - d)
		}
		c.last = time.Now()
		c.mu.Lock()
		batch, ending, code, reason := c.takeQueueLocked(), c.ending, c.code, c.reason
		c.mu.Unlock()
		var err error
		if batched {
			err = c.writeBatch(bw, batch)
		} else {
			err = c.writeEach(batch)
		}
		if err != nil && c.ctx.Err() == nil {
			if errors.Is(err, conn.ErrSlowPeer) && c.end(frame.CloseAbnormal, "write failed", false) {
				// In a conn.Loop writes never wait for the socket: a member that does not read fails
				// the write once LoopOptions.MaxPending bytes wait for it, before its queue here fills.
				c.hub.stats.slowDropped.Add(1)
				c.hub.log.Info("chat: slow client dropped", "nick", c.nick, "remote", c.remote)
			}
			c.end(frame.CloseAbnormal, "write failed", false)
			_ = c.sock.CloseNow()
			return
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

// lingerPerMember and maxLinger set how long a joined or left notice may wait for other events to share
// its write, under sustained traffic: 10 µs per member of its room, at most 50 ms. A room filling up has
// O(room²) notices to deliver, one write each without this; letting them gather caps a member's writes
// at 1/linger a second while the room fills. Messages never wait: a message queued behind a waiting
// notice ends the wait at the next wake, and a queue that starts with a message is written at once.
// Measured with cmd/chatload, 1500 clients joining one room, twice each way: 1.73 s and 2.04 s of server
// CPU for the joins, against 2.04 s and 2.35 s without (load average 19); on this shared machine that
// gain is about the size of the noise between runs.
const (
	lingerPerMember = 10 * time.Microsecond
	maxLinger       = 50 * time.Millisecond
)

// lingerFor waits d, or less if a message arrives meanwhile.
func (c *client) lingerFor(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-c.ctx.Done():
			return
		case <-c.wake:
			c.mu.Lock()
			linger := c.lingerLocked()
			c.mu.Unlock()
			if linger == 0 {
				return
			}
		}
	}
}

// lingerLocked is how long the queue may wait: the linger of its room if it holds only notices.
func (c *client) lingerLocked() time.Duration {
	if len(c.queue) == 0 || c.queue[0].room == nil {
		return 0
	}
	for _, m := range c.queue {
		if !m.notice {
			return 0
		}
	}
	return min(maxLinger, time.Duration(c.queue[0].room.size.Load())*lingerPerMember)
}

// writeBatch writes a drained queue in as few writes as the socket allows. The socket bounds each write
// to the network itself (conn.Options.WriteTimeout).
func (c *client) writeBatch(bw batchWriter, batch []*outMsg) error {
	if len(batch) == 0 || c.ctx.Err() != nil {
		return nil
	}
	n, err := bw.writeBatch(c.ctx, batch)
	c.hub.stats.messagesOut.Add(int64(n))
	return err
}

// writeEach writes a drained queue one message at a time, each within WriteTimeout.
func (c *client) writeEach(batch []*outMsg) error {
	for _, msg := range batch {
		if c.ctx.Err() != nil {
			return nil // aborted by end: close with its status
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.WriteTimeout)
		err := c.sock.WriteMessage(ctx, msg.b)
		cancel()
		if err != nil {
			return err
		}
		c.hub.stats.messagesOut.Add(1)
	}
	return nil
}

// readLoop reads and handles messages until the connection fails or closes. After the client has been told
// to end it keeps reading, without handling, so that the closing handshake can complete. It returns the
// error that ended it, which tells how the connection closed.
func (c *client) readLoop() error {
	for {
		msg, err := c.sock.ReadMessage(context.Background())
		if err != nil {
			c.hub.countTooBig(err) // the socket may enforce the read limit itself, before the payload arrives
			return err
		}
		c.message(msg)
	}
}

// message handles one message the client sent, on the goroutine that read it.
func (c *client) message(msg []byte) {
	h := c.hub
	h.stats.messagesIn.Add(1)
	if c.isEnding() {
		return
	}
	// The hub checks the read limit itself, whatever the socket enforced, so it holds on any transport.
	if int64(len(msg)) > h.readLimit {
		h.stats.tooBig.Add(1)
		h.log.Info("chat: kicked", "reason", "message over the read limit", "nick", c.nick, "remote", c.remote)
		// RFC 6455, Section 7.4.1: 1009 "indicates that an endpoint is terminating the connection
		// because it has received a message that is too big for it to process".
		c.end(frame.CloseTooBig, "message too big", true)
		return
	}
	h.handle(c, msg)
}

func (c *client) markJoined()  { c.inRoom.Store(true) }
func (c *client) joined() bool { return c.inRoom.Load() }

func (c *client) isEnding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ending
}

// refuse answers one request with an error event; the connection stays open. id names the send refused,
// if any; retry, for rate_limited, when to send again.
func (c *client) refuse(code, text, id string, retry time.Duration) {
	ev := &Event{Type: KindError, Code: code, Text: text, ID: id}
	if retry > 0 {
		// Rounded up: a client that waits exactly retry_ms finds its token there.
		ev.RetryMS = int64((retry + time.Millisecond - 1) / time.Millisecond)
	}
	if !c.enqueue(&outMsg{b: encode(ev)}) {
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

// take takes a token if there is one; if not, it returns how long until there is.
func (b *bucket) take(now time.Time, rate, burst float64) (time.Duration, bool) {
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return time.Duration(math.Ceil((1 - b.tokens) / rate * float64(time.Second))), false
	}
	b.tokens--
	return 0, true
}
