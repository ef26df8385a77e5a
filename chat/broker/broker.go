package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors callers branch on. Each is wrapped with the room or key it concerns; match with errors.Is.
var (
	// ErrUnavailable means NATS or JetStream could not be reached, so the operation did not
	// happen: an Append that returns it stored nothing.
	ErrUnavailable = errors.New("broker: nats unavailable")
	// ErrClosed means the Broker was closed.
	ErrClosed = errors.New("broker: closed")
	// ErrNewEpoch means a room's stream was deleted and created again under a running
	// Subscribe: sequence numbers restarted at 1.
	ErrNewEpoch = errors.New("broker: room has a new epoch")
	// ErrBadName means a room, member or node name is empty or longer than [MaxNameLen].
	ErrBadName = errors.New("broker: bad name")
)

// MaxNameLen bounds room, member and node names in bytes. Escaped, a name grows at most threefold,
// and NATS stream names stay well under their limit this way.
const MaxNameLen = 64

// Retention bounds what a room's stream keeps; zero fields mean no limit of that kind. When a limit is
// reached the oldest records are dropped, so sequence numbers never repeat and the newest are kept.
type Retention struct {
	MaxMsgs  int64
	MaxBytes int64
	MaxAge   time.Duration
}

// Config configures a Broker.
type Config struct {
	// URLs are the NATS servers, e.g. the embedded server's ClientURL or "nats://a:4222,nats://b:4222";
	// more than one lets the client fail over. The client also learns the other members of a
	// cluster from the server it connects to.
	URLs string
	// Name identifies this connection in the server's monitoring (the chat node's name).
	Name string
	// Retention applies to every room stream this Broker creates or touches first.
	Retention Retention
	// Duplicates is the window in which a repeated message id is stored once; 0 means
	// [DefaultDuplicates]. It is capped by Retention.MaxAge when that is shorter.
	Duplicates time.Duration
	// Replicas is the number of servers holding each room's stream and the presence bucket: 1 for
	// a single server, 3 on a cluster so that losing a server loses nothing. 0 means 1.
	Replicas int
	// Timeout bounds a call whose context has no deadline; 0 means 5s.
	Timeout time.Duration
	// ReconnectWait is the pause between reconnect attempts; 0 means 250ms. Attempts never stop.
	ReconnectWait time.Duration
	// OnStatus, when set, is called with false when the connection to NATS is lost and with true
	// when it is back. Calls come from the NATS client's callback goroutine, one at a time, and
	// must not block.
	OnStatus func(up bool)
}

// DefaultDuplicates is the default deduplication window: long enough to cover a client's reconnect
// and resend after a node or network failure (the chat's grace period is seconds), short enough
// that the server's per-id index stays small.
const DefaultDuplicates = 10 * time.Minute

// Broker is a chat node's connection to NATS JetStream. It is safe for concurrent use.
type Broker struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	up  atomic.Bool

	mu      sync.Mutex
	streams map[string]bool // room streams known to exist with this Broker's config
	// conn ends when the connection it was made for is lost, so consumers made on it start
	// over at once after a reconnect instead of waiting to miss heartbeats.
	conn    context.Context
	endConn context.CancelFunc
}

// Connect connects to NATS and returns a Broker. It fails when no server in cfg.URLs answers; once
// connected, a lost connection is retried forever (see [Broker.Available]).
func Connect(cfg Config) (*Broker, error) {
	if cfg.URLs == "" {
		return nil, errors.New("broker: no NATS URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 250 * time.Millisecond
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.Retention.MaxAge > 0 && cfg.Duplicates > cfg.Retention.MaxAge {
		// JetStream refuses a duplicate window longer than the stream's age limit.
		cfg.Duplicates = cfg.Retention.MaxAge
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	b := &Broker{cfg: cfg, streams: map[string]bool{}}
	b.conn, b.endConn = context.WithCancel(context.Background())
	status := func(up bool) {
		if up {
			b.mu.Lock()
			b.endConn()
			b.conn, b.endConn = context.WithCancel(context.Background())
			b.mu.Unlock()
		}
		if b.up.Swap(up) != up && cfg.OnStatus != nil {
			cfg.OnStatus(up)
		}
	}
	nc, err := nats.Connect(cfg.URLs,
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.ReconnectJitter(cfg.ReconnectWait/4, cfg.ReconnectWait/4),
		// No buffering while disconnected: a publish then fails at once with a clear error
		// instead of sitting in a buffer the caller might take for stored.
		nats.ReconnectBufSize(-1),
		// A half-open connection (a server that vanished without a FIN) is noticed in about
		// PingInterval x MaxPingsOut.
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { status(false) }),
		nats.ReconnectHandler(func(*nats.Conn) { status(true) }),
		nats.ClosedHandler(func(*nats.Conn) { status(false) }),
	)
	if err != nil {
		return nil, fmt.Errorf("broker: connect %s: %w: %w", cfg.URLs, ErrUnavailable, err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(cfg.Timeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	b.nc, b.js = nc, js
	b.up.Store(nc.IsConnected())
	return b, nil
}

// Available reports whether the connection to NATS is up. While it is false, Append fails at once
// with ErrUnavailable; subscriptions resume by themselves once it is back.
func (b *Broker) Available() bool { return b.up.Load() && b.nc.IsConnected() }

// ConnectedURL returns the server this Broker is connected to, or "" while disconnected.
func (b *Broker) ConnectedURL() string { return b.nc.ConnectedUrl() }

// Close closes the connection. Running Subscribe and Watch calls return; later calls fail with
// ErrClosed. Presence entries of this node are not removed: call [Presence.Close] first for a
// clean leave, or they expire after the presence TTL.
func (b *Broker) Close() {
	b.nc.Close()
	b.mu.Lock()
	b.endConn()
	b.mu.Unlock()
}

// connContext returns a context that ends when the current connection is replaced or closed.
func (b *Broker) connContext() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conn
}

// check returns why a call cannot be made now, or nil.
func (b *Broker) check() error {
	switch {
	case b.nc.IsClosed():
		return ErrClosed
	case !b.nc.IsConnected():
		return ErrUnavailable
	}
	return nil
}

// withTimeout gives ctx the Broker's default deadline when it has none.
func (b *Broker) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.cfg.Timeout)
}

// unavailable maps the NATS errors that mean "nothing was sent or nobody answered it" to
// ErrUnavailable, keeping the original in the chain.
func unavailable(err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// validName checks a room, member or node name.
func validName(s string) error {
	if s == "" || len(s) > MaxNameLen {
		return fmt.Errorf("%w: %q", ErrBadName, s)
	}
	return nil
}

// token escapes a name into the characters NATS allows in stream names, subject tokens and KV keys
// ([A-Za-z0-9-]); every other byte, '_' included, becomes _XX in hex, so distinct names never
// collide and '.', '*', '>' and spaces cannot change a subject's meaning.
func token(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// untoken reverses token. ok is false for anything token cannot have produced (such as a key another
// program wrote into the bucket), so such keys are ignored rather than misread.
func untoken(t string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		if c != '_' || i+2 >= len(t) {
			return "", false
		}
		var v byte
		for _, h := range []byte(t[i+1 : i+3]) {
			switch {
			case h >= '0' && h <= '9':
				v = v<<4 | (h - '0')
			case h >= 'A' && h <= 'F':
				v = v<<4 | (h - 'A' + 10)
			default:
				return "", false
			}
		}
		if plain(v) {
			return "", false // token writes these as themselves
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), true
}
