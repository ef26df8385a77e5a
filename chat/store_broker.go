package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"duplex/chat/broker"
	"duplex/frame"
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
	room   string
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Joined and left notices and presence entries are written in the order they happen, by one
	// goroutine, so that a join never waits for NATS under the room's lock.
	mu   sync.Mutex
	ops  []func(context.Context)
	wake chan struct{}

	// p, with Config.Presence, shares the room's members with the other nodes. remote holds the
	// other nodes' members by nickKey, under the room's lock.
	p      *broker.Presence
	remote map[string]*remoteMember
}

// remoteMember is a nick present in the room through other nodes.
type remoteMember struct {
	nick  string
	nodes map[string]string // node -> session
}

func (rm *remoteMember) hasSession(session string) bool {
	for _, s := range rm.nodes {
		if s == session {
			return true
		}
	}
	return false
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
	st := &stored{b: b, room: name, log: h.log, cancel: cancel, wake: make(chan struct{}, 1), p: h.cfg.Presence,
		remote: map[string]*remoteMember{}}
	r.store = st
	if st.p != nil {
		entries, err := st.p.Entries(ctx, name)
		if err != nil {
			cancel()
			return nil, err
		}
		// The members already there are listed without a notice: they were announced when they came.
		for _, e := range entries {
			r.presenceEntryLocked(e, true, time.Time{})
		}
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			err := st.p.WatchEntries(ctx, name, func(e broker.Entry) {
				r.mu.Lock()
				defer r.unlock()
				r.presenceEntryLocked(e, false, r.hub.now())
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				h.log.Warn("chat: room presence ended", "room", name, "err", err)
			}
		}()
	}
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
		st.run(ctx)
	}()
	return r, nil
}

// lacks reports whether a welcome for since in epoch needs events older than the room keeps at hand.
func (r *room) lacks(since uint64, epoch string) bool {
	r.mu.Lock()
	defer r.unlock()
	first := r.seq - uint64(len(r.record)) + 1
	return epoch == r.epoch && since > 0 && since+1 < first
}

// older reads the stream's records after since for a welcome, up to the welcome's bound; nil if the
// stream cannot be read now (the welcome then says more, as without it).
func (st *stored) older(since uint64) []broker.Record {
	recs, _, err := st.b.Range(context.Background(), st.room, since, welcomeBudget)
	if err != nil {
		st.log.Info("chat: history not read", "room", st.room, "err", err)
		return nil
	}
	return recs
}

// recordFromLocked returns the events a welcome for since chooses from, oldest first, and the seq of
// the first: the record, preceded by the older ones read from the stream where they join it without a
// gap.
func (r *room) recordFromLocked(since uint64, older []broker.Record) ([][]byte, uint64) {
	first := r.seq - uint64(len(r.record)) + 1
	if len(older) == 0 || older[0].Seq != since+1 || older[len(older)-1].Seq+1 < first {
		return r.record, first
	}
	out := make([][]byte, 0, len(r.record)+len(older))
	for _, rec := range older {
		if rec.Seq >= first {
			break
		}
		out = append(out, withSeq(rec.Payload, rec.Seq))
	}
	return append(out, r.record...), older[0].Seq
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

// queue adds op to what the room's writer does next, in order. It does not block.
func (st *stored) queue(op func(context.Context)) {
	st.mu.Lock()
	st.ops = append(st.ops, op)
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// notice queues a joined or left notice for the stream under the message id id. A notice that cannot
// be stored (NATS away) is logged and dropped: it is not something a client waits for an ack of.
//
// A notice with an id is tried again after a failure other than NATS being away (a timeout on a loaded
// server, say), up to noticeTries in all: the id makes a second try that follows a stored first one
// store nothing, and a lost notice would leave members' lists wrong until the member comes back.
func (st *stored) notice(id string, b []byte) {
	st.queue(func(ctx context.Context) {
		for try := 1; ; try++ {
			_, _, err := st.b.Append(ctx, st.room, id, b)
			if err == nil || ctx.Err() != nil {
				return
			}
			if id == "" || try == noticeTries || errors.Is(err, broker.ErrUnavailable) || errors.Is(err, broker.ErrClosed) {
				st.log.Warn("chat: notice not stored", "room", st.room, "err", err)
				return
			}
		}
	})
}

// noticeTries bounds the appends of one notice.
const noticeTries = 3

// noticeID names a member's joined or left notice in the stream: every node that learns of a change
// announces it, and the stream's deduplication keeps one. A session is one stay in the room (a new
// join draws a new one), so it joins and leaves once.
func noticeID(kind Kind, nick, session string) string {
	if session == "" {
		return ""
	}
	return fmt.Sprintf("%s.%x.%s", kind, nickKey(nick), session)
}

// presenceJoin queues the entry that tells the other nodes nick is here, with its session.
func (st *stored) presenceJoin(room, nick, session string) {
	if st == nil || st.p == nil {
		return
	}
	st.queue(func(ctx context.Context) {
		// Written again by the heartbeat if NATS is away now.
		if err := st.p.JoinWith(ctx, room, nick, []byte(session)); err != nil && ctx.Err() == nil {
			st.log.Info("chat: presence not written", "room", room, "nick", nick, "err", err)
		}
	})
}

// presenceLeave queues the removal of nick's entry of this node.
func (st *stored) presenceLeave(room, nick string) {
	if st == nil || st.p == nil {
		return
	}
	st.queue(func(ctx context.Context) {
		// Not removed now, the entry expires with the presence TTL.
		if err := st.p.Leave(ctx, room, nick); err != nil && ctx.Err() == nil {
			st.log.Info("chat: presence not removed", "room", room, "nick", nick, "err", err)
		}
	})
}

// remoteMember returns the member of nick key on other nodes, or nil. Under the room's lock.
func (st *stored) remoteMember(key string) *remoteMember {
	if st == nil {
		return nil
	}
	return st.remote[key]
}

// elsewhere reports whether nick key is present through another node. Under the room's lock.
func (st *stored) elsewhere(key string) bool { return st.remoteMember(key) != nil }

// presenceEntryLocked applies one entry of another node to the room: a nick that becomes present in
// the room, counting this node's members, or absent, is announced like a join or a leave here
// (quietly when listing the room at open). An entry of this node's member's session on another node
// means the member resumed there: it is let go here without a leave.
func (r *room) presenceEntryLocked(e broker.Entry, quiet bool, now time.Time) {
	st := r.store
	if e.Node == st.p.Node() {
		return // this node's own, known first hand
	}
	key := nickKey(e.Member)
	local := r.members[key]
	rm := st.remote[key]
	was := local != nil || rm != nil
	session := string(e.Value)
	if e.Present {
		if rm == nil {
			rm = &remoteMember{nick: e.Member, nodes: map[string]string{}}
			st.remote[key] = rm
		}
		rm.nodes[e.Node] = session
		if local != nil && local.session == session {
			r.moveAwayLocked(local)
			return // present before and after: no notice
		}
	} else if rm != nil {
		session = rm.nodes[e.Node]
		delete(rm.nodes, e.Node)
		if len(rm.nodes) == 0 {
			delete(st.remote, key)
		}
	}
	now2 := r.members[key] != nil || st.remote[key] != nil
	if was == now2 {
		return
	}
	if quiet {
		r.listQuietlyLocked(e.Member, now2)
		return
	}
	r.announceLocked(e.Member, session, now2, now, nil)
}

// moveAwayLocked lets go of a member that resumed its session on another node: its connection here,
// if any, is closed as a resumed one would be, and it leaves without a notice.
func (r *room) moveAwayLocked(m *member) {
	if c := m.c; c != nil {
		c.end(frame.CloseNormal, reasonResumed, true)
		m.c = nil
	}
	if m.grace != nil {
		m.grace.Stop()
		m.grace = nil
	}
	delete(r.members, m.key)
	r.size.Store(int64(len(r.members)))
	delete(r.sessions, m.session)
	r.store.presenceLeave(r.name, m.nick)
}

// listQuietlyLocked puts nick in (or out of) the member list without announcing it: the room is being
// opened and has nobody to tell.
func (r *room) listQuietlyLocked(nick string, present bool) {
	if present {
		r.users = insertSorted(r.users, nick)
		r.presence.size++
	} else {
		r.users = deleteSorted(r.users, nick)
		r.presence.size--
	}
	r.usersJSON = nil
}

// run does the queued operations in order until ctx ends, and then those still queued, each bounded
// by the broker's timeout: a room forgotten right after its last member left must still remove that
// member's presence entry, or this node's heartbeat would keep it alive.
func (st *stored) run(ctx context.Context) {
	for {
		done := false
		select {
		case <-ctx.Done():
			done = true
		case <-st.wake:
		}
		st.mu.Lock()
		batch := st.ops
		st.ops = nil
		st.mu.Unlock()
		opCtx := ctx
		if done {
			opCtx = context.WithoutCancel(ctx)
		}
		for _, op := range batch {
			op(opCtx)
		}
		if done {
			return
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
	if !c.appendStored(storedSend{r: r, m: m, id: id, mid: mid, b: b}) {
		r.hub.stats.overloaded.Add(1)
		return codeOverloaded, overloadRetry
	}
	return "", 0
}

// storedSend is a send on its way to the stream.
type storedSend struct {
	r   *room
	m   *member
	id  string // the client's, for the ack
	mid string // the stream's message id
	b   []byte
}

// appendStored queues s for the stream and returns at once: a send costs a NATS round trip, which
// must not hold the goroutine that handles the client's messages (a Loop's worker, with Config.Loop,
// serves many clients). One goroutine per client appends its queue in order, so the client's acks
// come in the order of its sends, and ends when the queue is empty: an idle client holds none. It
// reports false, queueing nothing, when QueueSize sends are on their way already.
func (c *client) appendStored(s storedSend) bool {
	c.amu.Lock()
	if len(c.sends) >= c.hub.cfg.QueueSize {
		c.amu.Unlock()
		return false
	}
	c.sends = append(c.sends, s)
	start := !c.appending
	c.appending = true
	if start {
		c.appends.Add(1)
	}
	c.amu.Unlock()
	if start {
		go c.appendLoop()
	}
	return true
}

func (c *client) appendLoop() {
	defer c.appends.Done()
	for {
		c.amu.Lock()
		if len(c.sends) == 0 {
			c.appending = false
			c.amu.Unlock()
			return
		}
		s := c.sends[0]
		c.sends[0] = storedSend{}
		c.sends = c.sends[1:]
		c.amu.Unlock()
		c.appendOne(s)
	}
}

// appendOne appends one send and acks it once stored, by the stream's seq: a resend of a stored id is
// acked with the first seq, by the stream's deduplication, on whichever node it arrives. A send that
// cannot be stored is refused with unavailable, for the client to send again.
func (c *client) appendOne(s storedSend) {
	r := s.r
	if r.hub.appendHook != nil {
		r.hub.appendHook(r.name)
	}
	seq, _, err := r.store.b.Append(c.ctx, r.name, s.mid, s.b)
	if err != nil {
		r.hub.log.Info("chat: send not stored", "room", r.name, "nick", c.nick, "err", err)
		r.hub.refuse(c, ErrCodeUnavailable, textUnavailable, s.id, unavailableRetry)
		return
	}
	if s.id != "" && !c.enqueue(&outMsg{b: encode(&Event{Type: KindAck, ID: s.id, Seq: seq})}) {
		r.mu.Lock()
		r.dropLocked(s.m)
		r.unlock()
	}
}

// textUnavailable is the text of a send refused because the store is away.
const textUnavailable = "not stored: the room's store is unavailable, send again"

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
