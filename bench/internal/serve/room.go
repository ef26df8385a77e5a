package serve

import (
	"strconv"
	"strings"
	"sync"
)

// The broadcast row's protocol, which every server in -broadcast mode
// speaks the same way so that only its library's write path differs:
//
//   - a text message that is exactly [MembersQuery] is answered, to its
//     sender alone, with the text message "members N", N being how many
//     connections the room holds ([MembersReply]): the load generator asks
//     until every connection it opened has joined, since a client sees the
//     101 response before the server's goroutine has added the connection;
//   - any other message is sent to every member of the room, its sender
//     included, with the type it came with.

// MembersQuery is the text message that asks a broadcast server how many
// connections its room holds.
const MembersQuery = "members"

// membersPrefix starts the answer to MembersQuery.
const membersPrefix = "members "

// MembersReply is the answer to MembersQuery for a room of n members.
func MembersReply(n int) []byte {
	return strconv.AppendInt([]byte(membersPrefix), int64(n), 10)
}

// ParseMembersReply returns the member count of an answer to
// MembersQuery, and false when b is not one.
func ParseMembersReply(b []byte) (int, bool) {
	s, ok := strings.CutPrefix(string(b), membersPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// IsMembersQuery reports whether a text message is MembersQuery.
func IsMembersQuery(text bool, b []byte) bool {
	return text && string(b) == MembersQuery
}

// Room is the set of connections a broadcast server holds: one room, every
// connection in it. It is safe for concurrent use: connections join and
// leave from their own goroutines while another broadcasts.
type Room[C comparable] struct {
	mu      sync.Mutex
	members []C
	index   map[C]int // position in members

	// spare is the storage of Each's last snapshot, cleared, for the next
	// one; nil while a broadcast holds it (a concurrent one allocates).
	spare []C
}

// Join adds c to the room; joining twice is one membership.
func (r *Room[C]) Join(c C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.index == nil {
		r.index = make(map[C]int)
	}
	if _, ok := r.index[c]; ok {
		return
	}
	r.index[c] = len(r.members)
	r.members = append(r.members, c)
}

// Leave removes c from the room, if it is a member. The last member takes
// its place, so that leaving costs the same in a room of any size.
func (r *Room[C]) Leave(c C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[c]
	if !ok {
		return
	}
	last := len(r.members) - 1
	r.members[i] = r.members[last]
	r.index[r.members[i]] = i
	var zero C
	r.members[last] = zero // no reference kept to what left
	r.members = r.members[:last]
	delete(r.index, c)
}

// Len returns how many connections the room holds.
func (r *Room[C]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Each calls fn for every member, on a snapshot taken under the room's
// lock: fn runs without it, so that a broadcast's writes never hold up
// connections joining or leaving, and a member that joins meanwhile waits
// for the next broadcast. The snapshot's storage is reused from one call
// to the next.
func (r *Room[C]) Each(fn func(C)) {
	r.mu.Lock()
	snap := append(r.spare, r.members...)
	r.spare = nil
	r.mu.Unlock()
	for _, c := range snap {
		fn(c)
	}
	clear(snap) // the spare keeps no reference to a member that left
	r.mu.Lock()
	r.spare = snap[:0]
	r.mu.Unlock()
}
