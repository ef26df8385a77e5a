package chat

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"duplex/frame"
)

// room is one named conversation. Its lock orders everything that happens in it: sequence numbers are
// assigned, the record is appended and every member's queue is filled under it, so all members receive
// the room's events in the same order. Nothing under the lock blocks: queues are filled without waiting.
type room struct {
	name  string
	epoch string // tells one life of the room from another, so a client never mixes two numberings

	mu      sync.Mutex
	members map[string]*client // by nickKey
	seq     uint64
	record  [][]byte // the last events, encoded once, oldest first
	keep    int
}

// reasonSlow is the close reason for a client that cannot keep up.
const reasonSlow = "too slow to keep up with the room"

func newRoom(name string, keep int, now time.Time) *room {
	return &room{
		name:    name,
		epoch:   strconv.FormatInt(now.UnixNano(), 36),
		members: make(map[string]*client),
		keep:    keep,
	}
}

// join adds c under nick and sends it the welcome, then tells everyone (c included) that nick joined.
// It returns an error code when the nickname is taken.
func (r *room) join(c *client, nick string, since uint64, epoch string, now time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := nickKey(nick)
	if _, taken := r.members[key]; taken {
		return ErrCodeNickTaken
	}
	r.members[key] = c
	c.room, c.nick = r, nick

	if epoch != r.epoch {
		since = 0 // another life of the room: the client's numbering means nothing here
	}
	welcome := &Event{Type: KindWelcome, Room: r.name, Nick: nick, Seq: r.seq, Epoch: r.epoch, Users: r.usersLocked()}
	// The record holds consecutive sequence numbers ending at r.seq.
	first := r.seq - uint64(len(r.record)) + 1
	for i, ev := range r.record {
		if first+uint64(i) > since {
			welcome.History = append(welcome.History, ev)
		}
	}
	if !c.enqueue(encode(welcome)) {
		// Only replies to earlier bad requests can be queued yet; a client that let them pile up is not reading.
		c.end(frame.CloseTryAgainLater, reasonSlow, false)
	}
	r.recordLocked(&Event{Type: KindJoined, Nick: nick}, now)
	r.presenceLocked()
	return ""
}

// leave removes c and tells the others. It does nothing if c is not a member (it never joined, or
// was dropped for being slow, in which case the leave was announced then).
func (r *room) leave(c *client, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeLocked(c, now)
}

// post records a message from c and sends it to every member.
func (r *room) post(c *client, text string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[nickKey(c.nick)] != c {
		return
	}
	r.recordLocked(&Event{Type: KindMessage, Nick: c.nick, Text: text}, now)
}

// empty reports whether the room has no members.
func (r *room) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members) == 0
}

func (r *room) removeLocked(c *client, now time.Time) {
	key := nickKey(c.nick)
	if r.members[key] != c {
		return
	}
	delete(r.members, key)
	r.recordLocked(&Event{Type: KindLeft, Nick: c.nick}, now)
	r.presenceLocked()
}

// recordLocked numbers ev, encodes it once, keeps it in the record and queues the same bytes for every member.
func (r *room) recordLocked(ev *Event, now time.Time) {
	r.seq++
	ev.Seq = r.seq
	ev.Room = r.name
	ev.Time = now.UTC().Truncate(time.Millisecond)
	b := encode(ev)
	if r.keep > 0 {
		if len(r.record) == r.keep {
			// Shift rather than reslice so the dropped event's bytes are not pinned by the backing array.
			copy(r.record, r.record[1:])
			r.record[len(r.record)-1] = nil
			r.record = r.record[:len(r.record)-1]
		}
		r.record = append(r.record, b)
	}
	r.broadcastLocked(b, now)
}

func (r *room) presenceLocked() {
	r.broadcastLocked(encode(&Event{Type: KindPresence, Room: r.name, Users: r.usersLocked()}), time.Time{})
}

// broadcastLocked queues b for every member. A member whose queue is full is removed here and now, and
// its departure is announced like any other: the room never waits for it. The removal may cascade
// (the announcement can fill another queue), which ends because each round removes a member.
func (r *room) broadcastLocked(b []byte, now time.Time) {
	var slow []*client
	for _, m := range r.members {
		if !m.enqueue(b) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		m.hub.stats.slowDropped.Add(1)
		m.hub.log.Info("chat: slow client dropped", "room", r.name, "nick", m.nick, "remote", m.remote)
		// 1013 (try again later, in the IANA registry that RFC 6455, Section 11.7 created): the client may
		// come back, and a reconnecting page asks for what it missed.
		m.end(frame.CloseTryAgainLater, reasonSlow, false)
		if now.IsZero() {
			now = m.hub.now()
		}
		r.removeLocked(m, now)
	}
}

func (r *room) usersLocked() []string {
	users := make([]string, 0, len(r.members))
	for _, m := range r.members {
		users = append(users, m.nick)
	}
	sort.Strings(users)
	return users
}
