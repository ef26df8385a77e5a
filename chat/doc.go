// Package chat is a multi-room chat server over WebSocket: a [Hub] of rooms, the JSON protocol its
// clients speak (see [Event] and README.md beside this file), and [Server], an http.Handler that serves
// the browser page, the WebSocket endpoint, a health check and counters.
//
// A client joins one room with a nickname, receives the room's recent record, the member list and a
// session token, and then every message, join and leave in the room, each numbered by the room and
// stamped with the server's time; joins and leaves are the deltas of the member list. A room of more
// than Config.PresenceBatch members sends its joins and leaves instead as one unnumbered members event
// per Config.PresenceInterval (see [KindMembers]), so that filling a room costs O(room) per join rather
// than a notice to every member for every join. A send with an id
// is acknowledged with the number it was recorded under, and a resend of the id (after a reconnect, say)
// is acknowledged again without being recorded twice. A member whose connection drops keeps its place
// for a grace period, in which a join with its session token resumes it without a leave or a join.
// On NATS (Config.Broker and Config.Presence) a room spans every node: its member list holds every
// node's members, a member may resume its session on another node, and a node that dies leaves the
// others' lists within the presence TTL (6s by default).
// Everything a client sends is treated as text: the page renders it as text, never as HTML, and the
// server writes JSON without HTML escaping.
//
// # Concurrency
//
// Each connection has its reader (the goroutine that called [Hub.Serve]) and, while there is something
// to write, one writer, which Serve waits for: an idle member holds no writer goroutine. (A connection
// that does not join in time also gets the join timer's short callback, which only asks the writer to
// close.) On the broker, a client whose sends are on their way to NATS has one more goroutine, which
// appends them in order and acks each once stored, so that neither its reader nor a Loop's worker
// waits for NATS; it ends when they are all stored or refused. A room's lock orders its events: sequence numbers are assigned,
// the record appended and every member's queue filled under it, so every member sees the same order. The
// lock is never held across I/O or logging: events are encoded once per broadcast (as JSON and as a
// [conn.PreparedMessage]) and put in each member's bounded queue without waiting, and the member's writer
// sends all it finds queued in one write, inside [conn.Conn.Cork]. A member whose queue is full cannot
// keep up; it is closed with 1013 (try again later) at once and keeps its place for the grace period, so
// a slow or stalled client never delays the others. A member's grace period is a timer that only takes
// the room's lock; [Hub.Shutdown] stops them all.
//
// # Limits
//
// [Config] bounds what a client can do, and refuses rather than disconnects where a page can recover:
// text over MaxMessageSize is refused with too_long, a sender over its rate with rate_limited and the
// time to wait, a join past MaxRoom with room_full, and a send is refused with rate_limited when most of
// the room is behind. Only what no honest page does closes the connection: a message over the read
// limit (ReadLimitFactor x MaxMessageSize, 1009 message too big), more than AbuseRefusals refusals in a
// row (1008 policy violation), too many connections per address (1008), no join in time (1008), and a
// full queue (1013). The history per room is bounded in events and in bytes, the welcome's to 448 KiB,
// and the number of rooms. Close codes are those of RFC 6455, Section 7.4.1.
//
// # Shutdown
//
// [Hub.Shutdown] refuses new connections, lets every message already accepted reach the queues, and
// closes every connection with 1001 (going away) after its queue has been written.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
package chat
