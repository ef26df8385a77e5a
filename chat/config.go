package chat

import (
	"log/slog"
	"time"

	"duplex/chat/broker"
	"duplex/conn"
)

// Config holds the hub's settings. A zero field takes the default written beside it.
type Config struct {
	// DefaultRoom is the room of a join that names none. Default "lobby".
	DefaultRoom string
	// History is how many recorded events (messages, joins, leaves) a room keeps for newcomers. Default 100.
	// A negative value keeps none.
	History int
	// HistoryBytes bounds the same record by its size as encoded: the oldest events go first when either
	// bound is passed. Default 256 KiB.
	HistoryBytes int
	// MaxRooms bounds the number of rooms; when a new room would pass it, an empty room is forgotten,
	// and if every room has members the join is refused. Rooms keep their history while empty, so the
	// memory they hold is bounded by MaxRooms × HistoryBytes (25 MiB with the defaults). Default 100.
	MaxRooms int
	// MaxRoom bounds the members of one room, counting those in their grace period; a join past it is
	// refused with room_full. Default 10000.
	MaxRoom int
	// MaxMessageSize is the largest text, in bytes of UTF-8, a message may have; a longer one is refused
	// with too_long and the connection stays open. The socket's read limit is 16 times as much (ReadLimit),
	// and a WebSocket message over that closes the connection with 1009 (message too big). Default 4096.
	MaxMessageSize int64
	// Grace is how long a member whose connection dropped stays in its room, for a join with its session
	// token to resume it without a left and a joined. Default 10s; a negative value means no grace.
	Grace time.Duration
	// PresenceBatch is the room size above which joins and leaves are no longer recorded, numbered
	// notices sent to every member one by one: filling a room of N that way costs N²/2 deliveries. A
	// room of more members (counted after the change) collects them and sends them every
	// PresenceInterval in one members event (see KindMembers), so that a join costs O(room) in
	// deliveries. Default 100; a negative value records every join and leave, whatever the size.
	PresenceBatch int
	// PresenceInterval is how often, at most, a room above PresenceBatch sends its members event: how
	// late a member may see another join or leave. Default 500ms.
	PresenceInterval time.Duration
	// QueueSize is how many messages may wait for one client's writer. A client whose queue is full cannot keep up
	// with the room; it is disconnected with 1013 (try again later) so that it never slows the others. Default 256.
	QueueSize int
	// Rate is the sustained number of messages per second a client may send, and Burst how many it may send at once;
	// a message over the limit is refused with rate_limited and the time to wait. Only sustained abuse closes
	// the connection with 1008 (policy violation): more than AbuseRefusals refusals in a row. Defaults 5 and 10.
	Rate  float64
	Burst int
	// MaxConnsPerIP bounds the simultaneous connections from one address; the next is closed with 1008. Default 16.
	MaxConnsPerIP int
	// JoinTimeout is how long a new connection may wait before joining; then it is closed with 1008. Default 30s.
	JoinTimeout time.Duration
	// WriteTimeout bounds one message write, and every write to the network (conn.Options.WriteTimeout,
	// so pongs and close frames too); a client whose write takes longer is dropped. Default 10s.
	WriteTimeout time.Duration
	// PingInterval turns on keepalive (conn.Options.PingInterval): a client that has sent nothing for this
	// long is pinged, and one that sends nothing, not even the pong, within PongTimeout is disconnected
	// and leaves its room, as a client whose host vanished without closing its connection must.
	// Default 30s; a negative value turns keepalive off.
	PingInterval time.Duration
	// PongTimeout is how long keepalive waits for a sign of life after a ping. Default: PingInterval.
	PongTimeout time.Duration
	// OriginPatterns lists the hosts (path.Match patterns such as "*.example.com" or "localhost:*") whose pages
	// may connect besides the server's own; by default only a page served by this host may (same origin), which
	// keeps other sites' pages from using a visitor's browser to join (RFC 6455, Section 10.2).
	OriginPatterns []string
	// InsecureSkipOriginCheck lets a page from any origin connect.
	InsecureSkipOriginCheck bool
	// Broker, when set, keeps every room in NATS JetStream (see "Running on NATS" in the README): the
	// stream numbers and orders a room's events, its history outlives the process and is shared by every
	// node on the same NATS, and a send is acked only once stored. History and HistoryBytes then bound
	// what a node keeps at hand for welcomes; the stream's own retention is the broker's. The caller
	// owns the Broker and closes it after the hub's Shutdown. Nil keeps rooms in this process's memory.
	Broker *broker.Broker
	// Presence, with Broker, makes every room's member list span every node on the same NATS: each node
	// keeps its members in the shared presence bucket (see broker.Presence), merges the other nodes'
	// into its rooms' lists and announces their joins and leaves as its own, and a member may resume
	// its session on another node. A node that dies leaves every other node's lists within the
	// presence TTL (Heartbeat x Missed, 6s by default). The caller owns it and closes it after the
	// hub's Shutdown, before the Broker. Nil: each node lists only its own members.
	Presence *broker.Presence
	// Logger receives connection events. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock used for timestamps. Default time.Now.
	Now func() time.Time
	// Loop, if set, serves the WebSocket connections a Server upgrades over HTTP/1.1 readiness-driven
	// (Hub.ServeLoop): an idle member then holds no goroutine and no buffer, only its connection. Nil: a
	// goroutine reads each connection (Hub.Serve). The caller closes the Loop, after Server.Shutdown.
	Loop *conn.Loop
}

// ReadLimitFactor is how many times MaxMessageSize the socket reads before it closes with 1009. The text of
// a message over MaxMessageSize but under this is refused with too_long, which a page can show; the hard
// bound is wider because JSON escaping can make the message up to six times its text.
const ReadLimitFactor = 16

// AbuseRefusals is how many rate_limited refusals in a row (with no message accepted between) a client may
// get before the connection is closed with 1008: a page that waits the retry_ms it is told never gets near it.
const AbuseRefusals = 50

// ReadLimit is the largest WebSocket message the hub reads: ReadLimitFactor times MaxMessageSize, with
// the defaults applied.
func (c *Config) ReadLimit() int64 {
	cfg := c.withDefaults()
	return ReadLimitFactor * cfg.MaxMessageSize
}

// withDefaults returns a copy of c (or of the zero Config) with defaults applied; the caller's value is not changed.
func (c *Config) withDefaults() Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.DefaultRoom == "" {
		cfg.DefaultRoom = "lobby"
	}
	if cfg.History == 0 {
		cfg.History = 100
	} else if cfg.History < 0 {
		cfg.History = 0
	}
	if cfg.HistoryBytes <= 0 {
		cfg.HistoryBytes = 256 << 10
	}
	if cfg.MaxRoom <= 0 {
		cfg.MaxRoom = 10000
	}
	// A negative Grace stays negative: defaults may be applied twice (NewServer, then NewHub), and a
	// "none" turned into 0 would become the default the second time.
	if cfg.Grace == 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.PresenceBatch == 0 {
		cfg.PresenceBatch = 100
	}
	if cfg.PresenceInterval <= 0 {
		cfg.PresenceInterval = 500 * time.Millisecond
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = 100
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 4096
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = 16
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 30 * time.Second
	} else if cfg.PingInterval < 0 {
		cfg.PingInterval = 0
	}
	if cfg.PongTimeout < 0 {
		cfg.PongTimeout = 0 // conn's default: PingInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}
