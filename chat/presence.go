package chat

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// presence is a room's presence changes not announced yet, in a room large enough to batch them
// (Config.PresenceBatch). It is guarded by the room's lock.
type presence struct {
	// pending maps a nick to its change since the last members event: true joined, false left. A nick's
	// membership alternates, so a second change of the same nick undoes the first and is deleted.
	pending map[string]bool
	// size is the member count as it will be announced: len(users) with pending applied.
	size  int
	timer *time.Timer // runs while pending is not empty
	// round numbers the timers: a timer that fired while a flush under the lock stopped it too late
	// finds another round and does nothing.
	round uint64
}

// stop forgets the pending changes: the room is closing.
func (p *presence) stop() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	clear(p.pending)
}

// announceLocked makes a presence change known to the room: nick joined (or left). It is the one
// place that decides how: a room of at most Config.PresenceBatch members (after the change) records a
// numbered joined or left notice at once, as part of its record; a larger room keeps the change
// pending and sends every change of an interval in one unnumbered members event (flushPresenceLocked).
// A change pending in a room that has shrunk is announced before the next notice, so the members see
// every change in the order it happened.
//
// It updates the announced member list (users) only, not the room's members: a change that another
// source learns of (a member of another node, see presenceEntry) is announced the same way. session is
// the member's session, which names the notice in the stream (noticeID) so that the nodes announcing
// the same change store it once. before, if not nil, runs
// once the list is updated and before a notice is broadcast: the join queues its welcome there, so that
// the newcomer's list holds itself and its own notice follows it.
func (r *room) announceLocked(nick, session string, joined bool, now time.Time, before func()) {
	p := &r.presence
	if joined {
		p.size++
	} else {
		p.size--
	}
	if batch := r.hub.cfg.PresenceBatch; batch > 0 && p.size > batch {
		if p.pending == nil {
			p.pending = make(map[string]bool)
		}
		if was, ok := p.pending[nick]; ok && was != joined {
			delete(p.pending, nick) // joined and left within one interval: nobody needs to know
		} else {
			p.pending[nick] = joined
		}
		if p.timer == nil && len(p.pending) > 0 {
			p.round++
			round := p.round
			p.timer = time.AfterFunc(r.hub.cfg.PresenceInterval, func() { r.flushPresence(round) })
		}
		if before != nil {
			before()
		}
		return
	}
	r.flushPresenceLocked(now)
	if joined {
		r.users = insertSorted(r.users, nick)
	} else {
		r.users = deleteSorted(r.users, nick)
	}
	r.usersJSON = nil
	if before != nil {
		before()
	}
	kind := KindLeft
	if joined {
		kind = KindJoined
	}
	r.recordLocked(&Event{Type: kind, Nick: nick}, noticeID(kind, nick, session), now)
}

// flushPresence is the callback of the presence timer of the given round.
func (r *room) flushPresence(round uint64) {
	r.mu.Lock()
	defer r.unlock()
	if r.closed || r.presence.round != round || r.presence.timer == nil {
		return // stopped: flushed meanwhile, or the room is closing
	}
	r.presence.timer = nil
	r.flushPresenceLocked(r.hub.now())
}

// flushPresenceLocked applies the pending changes to the member list and sends them to every member
// in one members event, encoded and framed once. A member's view, its welcome's users followed by the
// notices and members events after it, is thereby the announced list at every step: a welcome lists
// the members as announced so far, without the pending changes, which the next members event brings to
// newcomers and old members alike.
func (r *room) flushPresenceLocked(now time.Time) {
	p := &r.presence
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if len(p.pending) == 0 {
		return
	}
	var joined, left []string
	for nick, j := range p.pending {
		if j {
			joined = append(joined, nick)
		} else {
			left = append(left, nick)
		}
	}
	clear(p.pending)
	slices.Sort(joined)
	slices.Sort(left)
	r.users = mergeSorted(r.users, joined, left)
	r.usersJSON = nil
	ev := &Event{Type: KindMembers, Room: r.name, Time: now.UTC().Truncate(time.Millisecond),
		Joined: joined, Left: left, Count: len(r.users)}
	r.broadcastLocked(newOutMsg(encode(ev), r, true))
}

// usersJSONLocked returns the member list as JSON, encoded once per change of the list. A large
// room's list changes at most once per Config.PresenceInterval, however many join meanwhile.
func (r *room) usersJSONLocked() []byte {
	if r.usersJSON == nil {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // as encode: the page renders names as text
		if enc.Encode(r.users) != nil {
			return []byte("[]") // a []string always encodes
		}
		r.usersJSON = []byte(strings.TrimSuffix(b.String(), "\n"))
	}
	return r.usersJSON
}

func insertSorted(list []string, s string) []string {
	i, found := slices.BinarySearch(list, s)
	if found {
		return list
	}
	return slices.Insert(list, i, s)
}

func deleteSorted(list []string, s string) []string {
	if i, found := slices.BinarySearch(list, s); found {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// mergeSorted returns list without left and with joined, all three sorted, in one pass: a members
// event of k changes costs O(room + k), where inserting them one by one would cost O(room × k).
func mergeSorted(list, joined, left []string) []string {
	out := make([]string, 0, len(list)+len(joined))
	i, j, l := 0, 0, 0
	for i < len(list) || j < len(joined) {
		if j < len(joined) && (i == len(list) || joined[j] < list[i]) {
			out = append(out, joined[j])
			j++
			continue
		}
		s := list[i]
		i++
		for l < len(left) && left[l] < s {
			l++
		}
		if l < len(left) && left[l] == s {
			continue
		}
		if j < len(joined) && joined[j] == s {
			j++ // already listed: cannot happen for a nick whose membership alternates
		}
		out = append(out, s)
	}
	return out
}
