package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"duplex/chat/broker"
)

// ErrCodeUnavailable refuses a send (or a join) while the room's store, NATS JetStream, cannot be
// reached: nothing was stored, so nothing is acked, and the client may send again after RetryMS.
const ErrCodeUnavailable = "unavailable"

// CodeAvailable is the code of the notice that the store is back after an unavailable one (see
// [Hub.StoreStatus]).
const CodeAvailable = "available"

// unavailableRetry is the retry_ms of an unavailable refusal: about the broker's reconnect pace.
const unavailableRetry = time.Second

// stored is a room's link to its stream when Config.Broker is set. With it the stream, not the room,
// numbers and orders the room's events: a send is appended to the stream and acked once stored, and
// every node's room hears every record from its subscription and fans it out to its own members, so
// members on every node see the same events in the same order. The room's record becomes a cache of
// the stream's tail, for welcomes.
type stored struct {
	b      *broker.Broker
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Joined and left notices are appended in the order they happen, by one goroutine, so that a join
	// never waits for NATS under the room's lock.
	mu      sync.Mutex
	notices [][]byte
	wake    chan struct{}
}

// openRoom returns a new room for name: in memory, or backed by the broker. With the broker it reads the
// room's epoch and the tail of its stream, then follows the stream until the room is closed.
func (h *Hub) openRoom(name string) (*room, error) {
	if h.openHook != nil {
		if err := h.openHook(name); err != nil {
			return nil, err
		}
	}
	r := newRoom(h, name, h.now())
	b := h.cfg.Broker
	if b == nil {
		return r, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	info, err := b.Info(ctx, name)
	if err != nil {
		cancel()
		return nil, err
	}
	tail, _, err := b.Tail(ctx, name, h.cfg.HistoryBytes)
	if err != nil {
		cancel()
		return nil, err
	}
	r.epoch = info.Epoch
	r.seq = info.Last
	if n := len(tail); n > 0 {
		r.seq = tail[n-1].Seq
	}
	for _, rec := range tail {
		r.keepLocked(withSeq(rec.Payload, rec.Seq))
	}
	st := &stored{b: b, cancel: cancel, wake: make(chan struct{}, 1)}
	r.store = st
	after := r.seq
	st.wg.Add(2)
	go func() {
		defer st.wg.Done()
		err := b.Subscribe(ctx, name, after, r.deliver)
		if err != nil && !errors.Is(err, context.Canceled) {
			// A new epoch (the stream was deleted) or a closed broker: the room stops hearing its
			// stream, and says so; its members keep their connections.
			h.log.Warn("chat: room stream ended", "room", name, "err", err)
		}
	}()
	go func() {
		defer st.wg.Done()
		st.appendNotices(ctx, r)
	}()
	return r, nil
}

// withSeq returns the event payload (a JSON object without seq) with seq as its first field: the
// stream assigns the number only once the event is stored, so it cannot be in the stored bytes.
func withSeq(payload []byte, seq uint64) []byte {
	out := make([]byte, 0, len(payload)+24)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	if len(payload) > 2 {
		out = append(out, ',')
	}
	return append(out, payload[1:]...)
}

// deliver is the room's subscription callback: one stored record, in stream order, exactly once.
func (r *room) deliver(rec broker.Record) {
	b := withSeq(rec.Payload, rec.Seq)
	ev, ok := decode(b)
	if !ok {
		r.hub.log.Warn("chat: undecodable record skipped", "room", r.name, "seq", rec.Seq)
		return
	}
	r.mu.Lock()
	defer r.unlock()
	if rec.Seq <= r.seq {
		return // already in the tail read at open
	}
	if rec.Seq != r.seq+1 {
		// Retention dropped records this node never saw: the cache no longer ends in consecutive
		// seqs, so it starts over here and a welcome says "more" for what lies before.
		clear(r.record)
		r.record, r.recordSize = nil, 0
	}
	r.seq = rec.Seq
	r.keepLocked(b)
	msg := newOutMsg(b, r, ev.Type != KindMessage)
	var slow []*member
	for _, m := range r.members {
		if m.c == nil || m.seen >= rec.Seq {
			continue // gone for now, or saw it through another node before it came here
		}
		if !m.c.enqueue(msg) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		r.dropLocked(m)
	}
}

// keepLocked adds an encoded event to the record, dropping the oldest past the history bounds.
func (r *room) keepLocked(b []byte) {
	r.record = append(r.record, b)
	r.recordSize += len(b)
	for len(r.record) > 0 && (len(r.record) > r.hub.cfg.History || r.recordSize > r.hub.cfg.HistoryBytes) {
		r.recordSize -= len(r.record[0])
		r.record[0] = nil // so the backing array does not pin the dropped event
		r.record = r.record[1:]
	}
}

// payload encodes ev for the stream: everything but the seq, which the stream gives it.
func (r *room) payload(ev *Event, now time.Time) []byte {
	ev.Seq = 0
	ev.Room = r.name
	ev.Time = now.UTC().Truncate(time.Millisecond)
	return encode(ev)
}

// notice queues a joined or left notice for the stream. It does not block.
func (st *stored) notice(b []byte) {
	st.mu.Lock()
	st.notices = append(st.notices, b)
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// appendNotices appends queued notices in order until ctx ends. A notice that cannot be stored (NATS
// away) is logged and dropped: it is not something a client waits for an ack of.
func (st *stored) appendNotices(ctx context.Context, r *room) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.wake:
		}
		st.mu.Lock()
		batch := st.notices
		st.notices = nil
		st.mu.Unlock()
		for _, b := range batch {
			if _, _, err := st.b.Append(ctx, r.name, "", b); err != nil && ctx.Err() == nil {
				r.hub.log.Warn("chat: notice not stored", "room", r.name, "err", err)
			}
		}
	}
}

// msgID is the stream's message id for a send: the client's id is unique only per nick, so the nick is
// part of it (hex-encoded, as a nick may hold any printable character).
func msgID(nickKey, id string) string {
	return fmt.Sprintf("%x.%s", nickKey, id)
}

// postStored is post for a room on the broker: checked under the lock as in memory, then appended to
// the stream without the lock, and acked only once stored. A resend of a stored id is acked with the
// first seq, by the stream's deduplication, on whichever node it arrives.
func (r *room) postStored(c *client, id, text string, now time.Time) (code string, retry time.Duration) {
	r.mu.Lock()
	m := c.member
	if m == nil || r.members[m.key] != m || m.c != c {
		r.unlock()
		return ErrCodeNotJoined, 0
	}
	if wait, ok := c.bucket.take(now, r.hub.cfg.Rate, float64(r.hub.cfg.Burst)); !ok {
		r.unlock()
		return ErrCodeRateLimited, wait
	}
	if 2*r.behind.Load() > int64(len(r.members)) {
		r.unlock()
		r.hub.stats.overloaded.Add(1)
		return codeOverloaded, overloadRetry
	}
	b := r.payload(&Event{Type: KindMessage, Nick: m.nick, Text: text}, now)
	key := m.key
	r.unlock()
	mid := ""
	if id != "" {
		mid = msgID(key, id)
	}
	seq, _, err := r.store.b.Append(c.ctx, r.name, mid, b)
	if err != nil {
		r.hub.log.Info("chat: send not stored", "room", r.name, "nick", c.nick, "err", err)
		return ErrCodeUnavailable, unavailableRetry
	}
	if id != "" && !c.enqueue(&outMsg{b: encode(&Event{Type: KindAck, ID: id, Seq: seq})}) {
		r.mu.Lock()
		r.dropLocked(m)
		r.unlock()
	}
	return "", 0
}

// stop ends the room's subscription and notice writer and waits for them. It must not be called with
// the room's lock held: the subscription's callback takes it.
func (st *stored) stop() {
	if st == nil {
		return
	}
	st.cancel()
	st.wg.Wait()
}

// StoreStatus tells every joined client that the rooms' store (NATS, with Config.Broker) went away
// (up false) or came back: an error event without id, code unavailable, which a page shows as a
// notice, and one with code available when it is back. Sends are refused meanwhile whether or not this is called;
// it is what a Broker's Config.OnStatus should call. It does not block.
func (h *Hub) StoreStatus(up bool) {
	text := "messages cannot be stored now: sends are refused until the store is back"
	if up {
		text = "the store is back: messages are stored again"
	}
	code := ErrCodeUnavailable
	if up {
		code = CodeAvailable
	}
	b := encode(&Event{Type: KindError, Code: code, Text: text})
	h.mu.Lock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		if c.joined() {
			clients = append(clients, c)
		}
	}
	h.mu.Unlock()
	for _, c := range clients {
		// A client whose queue is full is being dropped for slowness anyway.
		_ = c.enqueue(&outMsg{b: b})
	}
}
