// Package broker keeps chat rooms in NATS JetStream, so a room outlives the process that served it and
// any number of chat nodes can share it. It deals in rooms, message ids and byte payloads only: it
// knows nothing of WebSocket or of the chat's JSON, and imports neither conn nor chat.
//
// A node either embeds a NATS server ([StartEmbedded], JetStream files under a data directory, by
// default [DefaultDir]) or connects to outside servers ([Connect] with "nats://a:4222,nats://b:4222").
// Both paths then use one [Broker], so a laptop and a cluster run the same code.
//
// # Design
//
// Each room is its own stream, CHAT_ROOM_<room> with the single subject chat.room.<room> (the name
// escaped: bytes outside [A-Za-z0-9-] become _XX). One stream per room, rather than one stream with a
// subject per room, is what makes JetStream's stream sequence the room's own numbering: 1, 2, 3, ...
// with no gaps, which the chat protocol's seq and since need, and no counter kept beside it that could
// disagree with what is stored. A room costs one stream: a few small files under the data directory.
//
// # Guarantees
//
// Stored: [Broker.Append] returns a seq only after JetStream's acknowledgement, which comes once the
// record is written to the stream's file store (with Config.Replicas of 3, on a quorum of servers).
// So an acknowledgement the chat passes on is never for a message that is not stored. Written means
// handed to the operating system: it survives the NATS or chat process dying; a power cut survives
// only with three replicas or Options.SyncAlways (otherwise nats-server flushes every two minutes). An
// error means nothing is known to be stored: with [ErrUnavailable] it certainly was not; after a timeout
// it may have been, and the client's resend with the same id settles it.
//
// Order: within a room, every subscriber on every node sees records in seq order, each exactly once
// ([Broker.Subscribe]). Across rooms there is no order.
//
// Deduplication: the id given to Append is the JetStream message id (Nats-Msg-Id). A second Append with
// an id seen within Config.Duplicates (default [DefaultDuplicates], 10 minutes; never longer than
// Retention.MaxAge) stores nothing and returns the original's seq with duplicate true. The window
// survives restarts. An id older than the window is stored again.
//
// Epoch: [RoomInfo.Epoch] is derived from the stream's creation time, which JetStream keeps with the
// stream, so it is the same after a restart (of a node or of NATS) and changes only when the room's
// stream is created anew, i.e. exactly when numbering restarts. A client that resumes with the epoch
// and its last seq gets exactly what it missed from Subscribe or Range. A running Subscribe whose room
// is created anew ends with [ErrNewEpoch].
//
// Retention: [Retention] bounds each room by count, bytes and age; the oldest records go first and
// seqs are never reused, so a subscriber sees dropped history as a jump in Seq and [RoomInfo.First]
// says where history starts. Retention and replicas are applied when a Broker first touches a room:
// every node should run with the same settings. Single records cannot be deleted through the API.
//
// History: [Broker.Range] reads forward from a seq, [Broker.Tail] reads the newest records; both are
// bounded in payload bytes, so a welcome stays small.
//
// # Presence
//
// [Broker.Presence] joins a node to a shared KV bucket, CHAT_PRESENCE, with one key per room, member
// and node. Each node rewrites its keys every PresenceConfig.Heartbeat (default 2s); the bucket drops
// a key Heartbeat x Missed (default 3, so 6s) after its last write, leaving a marker that every
// watcher sees as a delete. A node that dies is thus gone from every other node's view within
// Heartbeat x Missed plus the server's expiry pass (measured: 0.99s to 1.24s with a 1s TTL in
// TestPresenceOfADeadNodeExpires, under -race on a loaded 2-core machine), with no
// clean-up step and no node having to notice; a node that closes cleanly ([Presence.Close]) removes its
// keys at once. This costs one small write per member per heartbeat per node; keys with TTLs were
// chosen over a per-node liveness key plus clean-up because there is no state that a dead node can
// leave behind wrong. [Presence.Watch] turns the keys into one join and one leave per member, however
// many nodes the member is connected through, and after a reconnect reads the room afresh and reports
// the difference, so a leave that happened while the node was cut off is not lost. The bucket is kept
// on file so that it outlives a NATS restart; the nodes' heartbeats carry on writing into it once they
// reconnect. An outage longer than the TTL shows as the members of live nodes leaving and coming back.
//
// # Failures
//
// The client reconnects forever, to any server of the cluster it learned of. [Broker.Available] and
// Config.OnStatus report the connection going and coming back; while it is down Append fails at once
// with [ErrUnavailable] (nothing is buffered to look sent), so the chat can refuse sends with an error
// and tell its clients. Subscribe resumes by itself after a reconnect, after the loss of the server
// holding its consumer, and after a delivery gap, always from the last record it handed out: no gap,
// no repeat. A half-open connection is noticed within about 6s (two unanswered pings, 2s apart). While a
// cluster elects a new leader for a room (a few seconds after its leader dies) Append to that room
// times out; the others go on.
//
// # Running on a cluster
//
// Install nats-server with go install github.com/nats-io/nats-server/v2@v2.15.3 and start three, each
// with its own store and routes to all (shown on one machine; use each host's address in practice):
//
//	R=nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224
//	nats-server -js -sd /var/lib/nats/a -n a -a 127.0.0.1 -p 4222 --cluster_name chat --cluster nats://127.0.0.1:6222 --routes $R
//	nats-server -js -sd /var/lib/nats/b -n b -a 127.0.0.1 -p 4223 --cluster_name chat --cluster nats://127.0.0.1:6223 --routes $R
//	nats-server -js -sd /var/lib/nats/c -n c -a 127.0.0.1 -p 4224 --cluster_name chat --cluster nats://127.0.0.1:6224 --routes $R
//
// Then every chat node connects with Config{URLs: "nats://127.0.0.1:4222,nats://127.0.0.1:4223,
// nats://127.0.0.1:4224", Replicas: 3}, so each room survives the loss of any one server.
//
// # How the chat uses it
//
// One Broker per node (chat.Config.Broker). Per room the node has: Info for the welcome's epoch, Tail
// for the history it keeps at hand, one Subscribe from the room's last seq that fans records out to the
// node's local members, and Append per send with the client's id (scoped by nickname) as the message
// id, acking with the seq Append returns, also when duplicate. Joined and left notices are appended to
// the stream like messages, under the message id <kind>.<nick>.<session>, so that when several nodes
// announce one change (a dead node's member, seen going by every other node) one notice is stored.
// With chat.Config.Presence each node keeps its members in the presence bucket with their session
// as the value ([Presence.JoinWith]), lists every node's members in its rooms ([Presence.Entries] at
// open, then [Presence.WatchEntries]), and lets a member resume its session on another node. cmd/chat's flags: -data DIR (default [DefaultDir]), -nats URL[,URL...]
// instead of the embedded server, -replicas, and retention by count, bytes and age (-retain-msgs,
// -retain-bytes, -retain-age).
//
// # Concurrency
//
// Broker and Presence are safe for concurrent use. Subscribe and Watch block until their context ends
// and call their callback from that one goroutine; the caller owns that goroutine. Presence runs one
// heartbeat goroutine, ended and waited for by Close.
//
// # Buffers and ownership
//
// Append does not keep payload after it returns. A [Record]'s Payload belongs to the caller.
//
// # Errors
//
// Errors start with "broker:" and wrap the NATS error; branch with errors.Is on [ErrUnavailable],
// [ErrClosed], [ErrNewEpoch] and [ErrBadName].
package broker
