package chat

import (
	"log/slog"
	"time"
)

// Config holds the hub's settings. A zero field takes the default written beside it.
type Config struct {
	// DefaultRoom is the room of a join that names none. Default "lobby".
	DefaultRoom string
	// History is how many recorded events (messages, joins, leaves) a room keeps for newcomers. Default 100.
	// A negative value keeps none.
	History int
	// MaxRooms bounds the number of rooms; when a new room would pass it, an empty room is forgotten,
	// and if every room has members the join is refused. Rooms keep their history while empty, so the
	// memory they hold is bounded by MaxRooms × History × MaxMessageSize (40 MB with the defaults). Default 100.
	MaxRooms int
	// MaxMessageSize is the largest message, in bytes, a client may send; a larger one closes the connection
	// with 1009 (message too big). Default 4096.
	MaxMessageSize int64
	// QueueSize is how many messages may wait for one client's writer. A client whose queue is full cannot keep up
	// with the room; it is disconnected with 1013 (try again later) so that it never slows the others. Default 256.
	QueueSize int
	// Rate is the sustained number of messages per second a client may send, and Burst how many it may send at once;
	// a client over the limit is disconnected with 1008 (policy violation). Defaults 5 and 10.
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
	// Logger receives connection events. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock used for timestamps. Default time.Now.
	Now func() time.Time
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
