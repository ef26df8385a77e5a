package chat

import (
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"duplex/chat/broker"
	"duplex/frame"
)

// room is one named conversation. Its lock orders everything that happens in it: sequence numbers are
// assigned, the record is appended and every member's queue is filled under it, so all members receive
// the room's events in the same order. Nothing under the lock blocks or logs: queues are filled without
// waiting, and the clients dropped meanwhile are logged once the lock is released.
type room struct {
	hub   *Hub
	name  string
	epoch string // tells one life of the room from another, so a client never mixes two numberings

	// behind counts the members whose queues are half full or more: the room's outgoing pressure, which
	// paces senders before queues overflow.
	behind atomic.Int64
	// size is len(members), for the members' writers, which do not take the lock.
	size atomic.Int64

	mu       sync.Mutex
	members  map[string]*member // by nickKey, those in their grace period included
	sessions map[string]*member // by session token
	// users is the member list as announced: every numbered joined and left notice and every members
	// event sent so far, sorted. presence holds the changes not announced yet (see announceLocked).
	users      []string
	usersJSON  []byte // users encoded, for the welcomes; nil when users changed since
	presence   presence
	seq        uint64
	record     [][]byte // the last events, encoded once, oldest first; consecutive seqs ending at seq
	recordSize int      // bytes in record
	sent       map[sentKey]uint64
	sentOrder  []sentEntry // sent's keys, oldest first, for pruning
	dropped    []*client   // dropped for being slow under the lock; logged after it
	closed     bool        // the hub is shutting down: no grace from now on

	store *stored // the room's stream, with Config.Broker; nil in memory
}

// member is one nick in a room. Its connection may change (a resume) or be missing for the grace period.
type member struct {
	nick, key string
	session   string
	c         *client     // nil while the member is in its grace period
	grace     *time.Timer // runs while c is nil
	// seen, on the broker, is the since of a join that was ahead of this node: the client saw events
	// through another node that this one has not delivered yet, and is not sent them again.
	seen uint64
}

// sentKey names one client message id of one nick in a room.
type sentKey struct{ nick, id string }

type sentEntry struct {
	key sentKey
	seq uint64
	at  time.Time
}

// Close reasons.
const (
	reasonSlow    = "too slow to keep up with the room"
	reasonResumed = "session resumed on another connection"
)

// welcomeBudget bounds a welcome's size, well under 512 KiB so that any client's default read limit takes it.
const welcomeBudget = 448 << 10

// codeOverloaded is post's refusal when the room is behind; the client is told rate_limited, but it is
// not counted against the sender as abuse.
const codeOverloaded = "overloaded"

// overloadRetry is the retry_ms given when the room, not the sender, is behind.
const overloadRetry = 500 * time.Millisecond

func newRoom(h *Hub, name string, now time.Time) *room {
	return &room{
		hub:      h,
		name:     name,
		epoch:    strconv.FormatInt(now.UnixNano(), 36),
		members:  make(map[string]*member),
		sessions: make(map[string]*member),
		sent:     make(map[sentKey]uint64),
	}
}

// unlock releases the lock, then logs and counts the clients dropped under it.
func (r *room) unlock() {
	dropped := r.dropped
	r.dropped = nil
	r.mu.Unlock()
	for _, c := range dropped {
		c.hub.stats.slowDropped.Add(1)
		c.hub.log.Info("chat: slow client dropped", "room", r.name, "nick", c.nick, "remote", c.remote)
	}
}

// join makes c the connection of nick: a new member, or, with the session token of a member of the same
// nick, that member again, without a joined notice, closing its old connection if it is still open.
// It returns an error code when the join is refused.
//
// older, on the broker, are the stream's records after since that a welcome may need beyond the record
// (see lacks).
func (r *room) join(c *client, nick, session string, since uint64, epoch string, older []broker.Record, now time.Time) (code string, resumed bool) {
	r.mu.Lock()
	defer r.unlock()
	if r.closed {
		return ErrCodeBadRoom, false
	}
	key := nickKey(nick)
	if m := r.sessions[session]; session != "" && m != nil && m.key == key {
		if old := m.c; old != nil {
			// The old connection may be half-open, or a second tab: the newest one wins, and the old page
			// is told not to reconnect.
			old.end(frame.CloseNormal, reasonResumed, true)
		}
		if m.grace != nil {
			m.grace.Stop()
			m.grace = nil
		}
		m.c = c
		c.room, c.nick, c.member = r, m.nick, m
		r.welcomeLocked(c, m, since, epoch, older)
		return "", true
	}
	if _, taken := r.members[key]; taken {
		return ErrCodeNickTaken, false
	}
	// A member of another node: the same session moves it here (its node lets go once it sees the
	// entry this node writes), any other join of the nick is refused.
	moved := false
	if rm := r.store.remoteMember(key); rm != nil {
		if session == "" || !rm.hasSession(session) {
			return ErrCodeNickTaken, false
		}
		moved, nick = true, rm.nick
	}
	if len(r.members) >= r.hub.cfg.MaxRoom {
		return ErrCodeRoomFull, false
	}
	m := &member{nick: nick, key: key, session: rand.Text(), c: c}
	if moved {
		m.session = session
	}
	r.members[key] = m
	r.size.Store(int64(len(r.members)))
	r.sessions[m.session] = m
	c.room, c.nick, c.member = r, nick, m
	r.store.presenceJoin(r.name, nick, m.session)
	if moved {
		r.welcomeLocked(c, m, since, epoch, older)
		return "", true
	}
	// The announcement comes before the welcome, so that a small room's welcome lists the newcomer
	// and its own joined notice follows it, as for every member.
	r.announceLocked(nick, m.session, true, now, func() { r.welcomeLocked(c, m, since, epoch, older) })
	return "", false
}

// welcomeLocked queues c's welcome: the members, the session, the limits and the record after since,
// newest first up to the welcome's size bound.
func (r *room) welcomeLocked(c *client, m *member, since uint64, epoch string, older []broker.Record) {
	if epoch != r.epoch {
		since = 0 // another life of the room: the client's numbering means nothing here
	}
	if r.store != nil && since > r.seq {
		m.seen = since
	}
	record, first := r.recordFromLocked(since, older)
	ev := &Event{Type: KindWelcome, Room: r.name, Nick: m.nick, Seq: r.seq, Epoch: r.epoch,
		Session: m.session, Limits: &r.hub.limits}
	users := r.usersJSONLocked()
	budget := welcomeBudget - len(users) - 1024 // the other fields are far smaller than 1 KiB
	start, used := len(record), 0
	for start > 0 {
		if first+uint64(start-1) <= since {
			break
		}
		n := len(record[start-1]) + 1
		if used+n > budget {
			break
		}
		used += n
		start--
	}
	// Events after since exist that are not delivered: cut by the bound, or no longer kept.
	ev.More = first+uint64(start) > since+1
	b := encode(ev)
	// The member list, encoded once per change of it, and the record's events are spliced in as they
	// are: encoding the list at every join would cost a room filling up O(room²) in JSON, and
	// re-encoding the events as json.RawMessage would compact and check every one of them again.
	out := make([]byte, 0, len(b)+len(users)+used+len(`,"users":,"history":[]`))
	out = append(out, b[:len(b)-1]...)
	if len(r.users) > 0 {
		out = append(out, `,"users":`...)
		out = append(out, users...)
	}
	if start < len(record) {
		out = append(out, `,"history":[`...)
		for i, e := range record[start:] {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, e...)
		}
		out = append(out, ']')
	}
	b = append(out, '}')
	if !c.enqueue(&outMsg{b: b}) {
		// Only replies to earlier bad requests can be queued yet; a client that let them pile up is not reading.
		c.end(frame.CloseTryAgainLater, reasonSlow, false)
	}
}

// disconnect is called when c's connection ended. A member that left on purpose (deliberate) leaves at
// once; one whose connection dropped stays for the grace period, for a resume. It reports whether the
// member left now.
func (r *room) disconnect(c *client, deliberate bool, now time.Time) bool {
	r.mu.Lock()
	defer r.unlock()
	m := c.member
	if m == nil || r.members[m.key] != m || m.c != c {
		return false // resumed elsewhere, or already gone
	}
	r.detachLocked(m, deliberate, now)
	return r.members[m.key] != m
}

// detachLocked takes m's connection away and starts its grace period, or removes it when there is none.
func (r *room) detachLocked(m *member, leave bool, now time.Time) {
	m.c = nil
	if leave || r.closed || r.hub.cfg.Grace <= 0 {
		r.removeLocked(m, now)
		return
	}
	m.grace = time.AfterFunc(r.hub.cfg.Grace, func() { r.expire(m) })
}

// expire ends m's grace period: m leaves unless it was resumed meanwhile.
func (r *room) expire(m *member) {
	r.mu.Lock()
	if m.c != nil || r.members[m.key] != m || r.closed {
		r.unlock()
		return
	}
	r.removeLocked(m, r.hub.now())
	r.unlock()
	r.hub.log.Info("chat: left", "room", r.name, "nick", m.nick, "cause", "grace period over")
}

// post records a message from c and sends it to every member, then acks it to c when it has an id.
// A send whose id is already recorded is acked with its first seq and not recorded again. It returns
// an error code and, for rate_limited, when to retry.
func (r *room) post(c *client, id, text string, now time.Time) (code string, retry time.Duration) {
	if r.store != nil {
		return r.postStored(c, id, text, now)
	}
	r.mu.Lock()
	defer r.unlock()
	m := c.member
	if m == nil || r.members[m.key] != m || m.c != c {
		return ErrCodeNotJoined, 0
	}
	key := sentKey{m.key, id}
	if id != "" {
		if seq, ok := r.sent[key]; ok {
			// Resent after a reconnect, or twice by a page that did not see the ack: the first one counts.
			if !c.enqueue(&outMsg{b: encode(&Event{Type: KindAck, ID: id, Seq: seq})}) {
				r.dropLocked(m)
			}
			return "", 0
		}
	}
	if wait, ok := c.bucket.take(now, r.hub.cfg.Rate, float64(r.hub.cfg.Burst)); !ok {
		return ErrCodeRateLimited, wait
	}
	// The room paces its senders when more than half its members have half-full queues: refusing a
	// message costs one error, while a full queue costs a member its connection. One stuck member does
	// not pace the room; it is dropped when its queue is full.
	if 2*r.behind.Load() > int64(len(r.members)) {
		r.hub.stats.overloaded.Add(1)
		return codeOverloaded, overloadRetry
	}
	seq := r.recordLocked(&Event{Type: KindMessage, Nick: m.nick, Text: text}, "", now)
	if id != "" {
		r.sent[key] = seq
		r.sentOrder = append(r.sentOrder, sentEntry{key, seq, now})
		r.pruneSentLocked(now)
		if !c.enqueue(&outMsg{b: encode(&Event{Type: KindAck, ID: id, Seq: seq})}) {
			r.dropLocked(m)
		}
	}
	return "", 0
}

// pruneSentLocked forgets the ids of messages that are both out of the record and older than the grace
// period: a page resends only what it has not seen acked, after a reconnect within the grace period, or
// one whose welcome holds the message already.
func (r *room) pruneSentLocked(now time.Time) {
	first := r.seq - uint64(len(r.record)) + 1
	n := 0
	for _, e := range r.sentOrder {
		if e.seq >= first || now.Sub(e.at) <= r.hub.cfg.Grace {
			break
		}
		delete(r.sent, e.key)
		n++
	}
	if n > 0 {
		clear(r.sentOrder[:n])
		r.sentOrder = r.sentOrder[n:]
	}
}

// close ends every grace period without a leave: the hub is shutting down.
func (r *room) close() {
	r.mu.Lock()
	r.closed = true
	r.presence.stop()
	for _, m := range r.members {
		if m.grace != nil {
			m.grace.Stop()
		}
	}
	r.unlock()
	r.store.stop()
}

// empty reports whether the room has no members.
func (r *room) empty() bool {
	r.mu.Lock()
	defer r.unlock()
	return len(r.members) == 0
}

func (r *room) removeLocked(m *member, now time.Time) {
	if r.members[m.key] != m {
		return
	}
	delete(r.members, m.key)
	r.size.Store(int64(len(r.members)))
	delete(r.sessions, m.session)
	if m.grace != nil {
		m.grace.Stop()
		m.grace = nil
	}
	r.store.presenceLeave(r.name, m.nick)
	if r.store.elsewhere(m.key) {
		return // present through another node still (moved there): not a leave
	}
	r.announceLocked(m.nick, m.session, false, now, nil)
}

// recordLocked numbers ev, encodes it once, keeps it in the record and queues the same bytes for every
// member. It returns ev's seq. id is the event's message id in the stream, on the broker.
func (r *room) recordLocked(ev *Event, id string, now time.Time) uint64 {
	if r.store != nil {
		// On the broker only the stream numbers events: the notice reaches the members, this node's
		// included, once stored (messages take postStored instead).
		r.store.notice(id, r.payload(ev, now))
		return 0
	}
	r.seq++
	ev.Seq = r.seq
	ev.Room = r.name
	ev.Time = now.UTC().Truncate(time.Millisecond)
	b := encode(ev)
	r.record = append(r.record, b)
	r.recordSize += len(b)
	for len(r.record) > 0 && (len(r.record) > r.hub.cfg.History || r.recordSize > r.hub.cfg.HistoryBytes) {
		r.recordSize -= len(r.record[0])
		r.record[0] = nil // so the backing array does not pin the dropped event
		r.record = r.record[1:]
	}
	r.broadcastLocked(newOutMsg(b, r, ev.Type != KindMessage))
	return ev.Seq
}

// broadcastLocked queues msg for every connected member. A member whose queue is full is dropped here and
// now: the room never waits for it.
func (r *room) broadcastLocked(msg *outMsg) {
	var slow []*member
	for _, m := range r.members {
		if m.c != nil && !m.c.enqueue(msg) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		r.dropLocked(m)
	}
}

// dropLocked closes the connection of a member that cannot keep up, which starts its grace period: a page
// that reconnects at once resumes and asks for what it missed.
func (r *room) dropLocked(m *member) {
	c := m.c
	if c == nil {
		return
	}
	// 1013 (try again later, in the IANA registry that RFC 6455, Section 11.7 created): the client may
	// come back.
	if c.end(frame.CloseTryAgainLater, reasonSlow, false) {
		r.dropped = append(r.dropped, c)
	}
	r.detachLocked(m, false, r.hub.now())
}
