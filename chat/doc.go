// Package chat is a multi-room chat server over WebSocket: a [Hub] of rooms, the JSON protocol its
// clients speak (see [Event] and README.md beside this file), and [Server], an http.Handler that serves
// the browser page, the WebSocket endpoint, a health check and counters.
//
// A client joins one room with a nickname, receives the room's recent record and presence list, and
// then every message, join and leave in the room, each numbered by the room and stamped with the server's
// time. Everything a client sends is treated as text: the page renders it as text, never as HTML.
//
// # Concurrency
//
// Each connection has two goroutines: its reader (the goroutine that called [Hub.Serve]) and one writer,
// which Serve starts and waits for. (A connection that does not join in time also gets the join timer's
// short callback, which only asks the writer to close.) A room's lock orders its events: sequence numbers are assigned,
// the record appended and every member's queue filled under it, so every member sees the same order. The
// lock is never held across I/O: messages are encoded once per broadcast and put in each member's bounded
// queue without waiting, and the member's writer sends them. A member whose queue is full cannot keep up;
// it is removed from the room and closed with 1013 (try again later) at once, so a slow or stalled
// client never delays the others.
//
// # Limits
//
// [Config] bounds message size (1009, message too big), message rate per client (1008, policy
// violation), connections per address (1008), the time to join (1008), the queue per client (1013), the
// history per room and the number of rooms. Close codes are those of RFC 6455, Section 7.4.1.
//
// # Shutdown
//
// [Hub.Shutdown] refuses new connections, lets every message already accepted reach the queues, and
// closes every connection with 1001 (going away) after its queue has been written.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
package chat
