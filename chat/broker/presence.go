package broker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// presenceBucket is the KV bucket shared by every node: key <room>.<member>.<node> (each escaped by
// token), one per member per node, so a member connected through two nodes stays present until both
// let go.
const presenceBucket = "CHAT_PRESENCE"

// PresenceConfig configures a node's presence.
type PresenceConfig struct {
	// Node names this chat node; it must be unique among the nodes sharing the NATS servers.
	Node string
	// Heartbeat is how often the node rewrites its entries; 0 means 2s.
	Heartbeat time.Duration
	// Missed is how many heartbeats may be missed before a node's entries expire; 0 means 3.
	// Entries of a node that died vanish from every other node's view within
	// Heartbeat x Missed (plus the server's expiry pass, well under a second).
	Missed int
}

// Change is a presence delta of one room, as seen by Watch.
type Change struct {
	Member string
	// Joined is true when the member became present on some node, false when it is present on
	// none any more (left, or its node's entries expired).
	Joined bool
}

// Presence is one node's view of, and contribution to, who is in which room across all nodes. It is
// safe for concurrent use.
type Presence struct {
	b    *Broker
	kv   jetstream.KeyValue
	node string
	hb   time.Duration

	// wmu is held across each write of an entry, with the check that it is still wanted: a heartbeat
	// that read an entry before a Leave (or a new value) must not write it back after.
	wmu  sync.Mutex
	mu   sync.Mutex
	mine map[string][]byte // key -> value, the entries this node keeps alive

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Presence binds to the shared presence bucket, creating it if needed with a TTL of
// cfg.Heartbeat x cfg.Missed, and starts this node's heartbeat. The first node to create the bucket
// fixes the TTL: every node must use the same Heartbeat and Missed. The caller must call Close.
//
// Presence is kept by per-key TTL: every entry a node holds is rewritten each Heartbeat, JetStream
// drops an entry Heartbeat x Missed after its last write, and the drop leaves a marker that watchers
// on every node see as a delete. So a node's death needs nobody to notice it and no clean-up step,
// at the cost of one small write per member per heartbeat.
func (b *Broker) Presence(ctx context.Context, cfg PresenceConfig) (*Presence, error) {
	if err := validName(cfg.Node); err != nil {
		return nil, err
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Missed <= 0 {
		cfg.Missed = 3
	}
	ttl := cfg.Heartbeat * time.Duration(cfg.Missed)
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	kv, err := b.js.KeyValue(ctx, presenceBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:  presenceBucket,
			History: 1,
			TTL:     ttl,
			// On file, so the bucket itself outlives a NATS restart (a memory stream's
			// definition does not, and heartbeats would then write into nothing); entries
			// left from before the restart age out like any other.
			Storage:  jetstream.FileStorage,
			Replicas: b.cfg.Replicas,
			// The marker JetStream leaves when an entry ages out is what tells watchers a
			// member's node is gone; it must outlive a watcher's reconnect.
			LimitMarkerTTL: max(ttl, time.Second),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = b.js.KeyValue(ctx, presenceBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("broker: presence bucket: %w", unavailable(err))
	}
	p := &Presence{
		b: b, kv: kv, node: cfg.Node, hb: cfg.Heartbeat,
		mine: map[string][]byte{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.heartbeat()
	return p, nil
}

// Node is the name this node's entries are kept under.
func (p *Presence) Node() string { return p.node }

func (p *Presence) key(room, member string) string {
	return token(room) + "." + token(member) + "." + token(p.node)
}

// Join records member as present in room through this node. The entry is kept alive until Leave or
// Close. If NATS is unreachable the error says so, and the entry is written by the next heartbeat
// once NATS is back.
func (p *Presence) Join(ctx context.Context, room, member string) error {
	return p.JoinWith(ctx, room, member, nil)
}

// JoinWith is Join with a value kept in the entry, such as the chat's session token, which
// [Presence.Entries] and [Presence.WatchEntries] report; a second JoinWith of the same member replaces
// the value. value is copied.
func (p *Presence) JoinWith(ctx context.Context, room, member string, value []byte) error {
	if err := errors.Join(validName(room), validName(member)); err != nil {
		return err
	}
	k := p.key(room, member)
	value = slices.Clone(value)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	p.mine[k] = value
	p.mu.Unlock()
	ctx, cancel := p.b.withTimeout(ctx)
	defer cancel()
	if _, err := p.kv.Put(ctx, k, value); err != nil {
		return fmt.Errorf("broker: join %q to %q: %w", member, room, unavailable(err))
	}
	return nil
}

// Leave records that member left room on this node. Other nodes' entries for the member stay.
func (p *Presence) Leave(ctx context.Context, room, member string) error {
	if err := errors.Join(validName(room), validName(member)); err != nil {
		return err
	}
	k := p.key(room, member)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	delete(p.mine, k)
	p.mu.Unlock()
	ctx, cancel := p.b.withTimeout(ctx)
	defer cancel()
	if err := p.kv.Delete(ctx, k); err != nil {
		return fmt.Errorf("broker: leave %q from %q: %w", member, room, unavailable(err))
	}
	return nil
}

// Members returns the members present in room on any node, sorted.
func (p *Presence) Members(ctx context.Context, room string) ([]string, error) {
	entries, err := p.Entries(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Member)
	}
	return slices.Compact(out), nil
}

// Entry is one member's presence in a room through one node.
type Entry struct {
	Member, Node string
	// Value is what the node's JoinWith gave; nil for Join. Not set when Present is false.
	Value []byte
	// Present is false when the entry went: left, or expired with its node.
	Present bool
}

// Entries returns room's entries on every node, this one's included, sorted by member and node.
func (p *Presence) Entries(ctx context.Context, room string) ([]Entry, error) {
	if err := validName(room); err != nil {
		return nil, err
	}
	ctx, cancel := p.b.withTimeout(ctx)
	defer cancel()
	// A watcher's initial values are the room's entries with their values, in one request, where
	// listing keys and getting each would take a round trip per entry.
	w, err := p.kv.Watch(ctx, token(room)+".>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("broker: members of %q: %w", room, unavailable(err))
	}
	defer func() { _ = w.Stop() }()
	var out []Entry
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("broker: members of %q: %w", room, unavailable(ctx.Err()))
		case e, open := <-w.Updates():
			if !open {
				return nil, fmt.Errorf("broker: members of %q: %w", room, ErrClosed)
			}
			if e == nil {
				slices.SortFunc(out, func(a, b Entry) int {
					return cmp.Or(strings.Compare(a.Member, b.Member), strings.Compare(a.Node, b.Node))
				})
				return out, nil
			}
			if _, member, node, ok := parseKey(e.Key()); ok && e.Operation() == jetstream.KeyValuePut {
				out = append(out, Entry{Member: member, Node: node, Value: e.Value(), Present: true})
			}
		}
	}
}

// Watch calls fn with a join for every member present in room when it starts, then with each
// change, until ctx ends; it then returns ctx.Err(). A member present through several nodes joins
// once and leaves when the last of its entries goes. fn is called from one goroutine.
//
// After a reconnect Watch reads the room's entries afresh and reports the difference from what it
// had reported, so a leave whose marker expired while this node was cut off is not missed. It
// returns ErrClosed when the Broker is closed.
func (p *Presence) Watch(ctx context.Context, room string, fn func(Change)) error {
	entries := map[entryKey]bool{}
	nodes := map[string]int{} // member -> entries, as reported
	return p.WatchEntries(ctx, room, func(e Entry) {
		k := entryKey{e.Member, e.Node}
		if entries[k] == e.Present {
			return // a value changed
		}
		was := nodes[e.Member] > 0
		if e.Present {
			entries[k] = true
			nodes[e.Member]++
		} else {
			delete(entries, k)
			if nodes[e.Member]--; nodes[e.Member] == 0 {
				delete(nodes, e.Member)
			}
		}
		if now := nodes[e.Member] > 0; now != was {
			fn(Change{Member: e.Member, Joined: now})
		}
	})
}

// WatchEntries is Watch entry by entry: fn hears every entry of room on every node, this one's
// included, when it starts, then every entry that comes (Present), changes its value (Present again)
// or goes, until ctx ends. After a reconnect it reports the difference from what it had reported, goes
// first. fn is called from one goroutine.
func (p *Presence) WatchEntries(ctx context.Context, room string, fn func(Entry)) error {
	if err := validName(room); err != nil {
		return err
	}
	view := map[entryKey][]byte{} // as reported to fn
	for {
		err := p.watch(ctx, room, view, fn)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case p.b.nc.IsClosed():
			return fmt.Errorf("broker: watch %q: %w", room, ErrClosed)
		}
		_ = err // retried: NATS away, or the connection was replaced
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.b.cfg.ReconnectWait):
		}
	}
}

type entryKey struct{ member, node string }

// watch runs one KV watcher until it fails, ctx ends or the connection is replaced, keeping view and
// fn in step with the bucket.
func (p *Presence) watch(ctx context.Context, room string, view map[entryKey][]byte, fn func(Entry)) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.b.connContext(), cancel)
	defer stop()
	if err := p.b.check(); err != nil {
		return err
	}
	w, err := p.kv.Watch(wctx, token(room)+".>")
	if err != nil {
		return unavailable(err)
	}
	defer func() { _ = w.Stop() }()
	fresh := map[entryKey][]byte{} // the entries as read anew, until the initial values end
	for {
		var e jetstream.KeyValueEntry
		var open bool
		select {
		case <-wctx.Done():
			return wctx.Err()
		case e, open = <-w.Updates():
		}
		if !open {
			return ErrClosed
		}
		if e == nil { // the initial values are all in
			if fresh != nil {
				reconcile(view, fresh, fn)
				fresh = nil
			}
			continue
		}
		_, member, node, ok := parseKey(e.Key())
		if !ok {
			continue
		}
		k := entryKey{member, node}
		put := e.Operation() == jetstream.KeyValuePut
		if fresh != nil {
			if put {
				fresh[k] = orEmpty(e.Value())
			} else {
				delete(fresh, k)
			}
			continue
		}
		old, had := view[k]
		switch {
		case put && (!had || !bytes.Equal(old, e.Value())):
			view[k] = orEmpty(e.Value())
			fn(Entry{Member: member, Node: node, Value: e.Value(), Present: true})
		case !put && had:
			delete(view, k)
			fn(Entry{Member: member, Node: node})
		}
	}
}

// orEmpty keeps a present entry's value non-nil in a view, so that a value is told from no entry.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// reconcile reports to fn how fresh differs from view, goes first, then makes view equal fresh.
func reconcile(view, fresh map[entryKey][]byte, fn func(Entry)) {
	var gone, come []entryKey
	for k := range view {
		if _, ok := fresh[k]; !ok {
			gone = append(gone, k)
		}
	}
	for k, v := range fresh {
		if old, ok := view[k]; !ok || !bytes.Equal(old, v) {
			come = append(come, k)
		}
	}
	byKey := func(a, b entryKey) int {
		return cmp.Or(strings.Compare(a.member, b.member), strings.Compare(a.node, b.node))
	}
	slices.SortFunc(gone, byKey)
	slices.SortFunc(come, byKey)
	for _, k := range gone {
		fn(Entry{Member: k.member, Node: k.node})
	}
	for _, k := range come {
		fn(Entry{Member: k.member, Node: k.node, Value: fresh[k], Present: true})
	}
	clear(view)
	for k, v := range fresh {
		view[k] = v
	}
}

func parseKey(k string) (room, member, node string, ok bool) {
	parts := strings.Split(k, ".")
	if len(parts) != 3 {
		return "", "", "", false
	}
	var ok1, ok2, ok3 bool
	room, ok1 = untoken(parts[0])
	member, ok2 = untoken(parts[1])
	node, ok3 = untoken(parts[2])
	return room, member, node, ok1 && ok2 && ok3
}

// heartbeat rewrites this node's entries every Heartbeat until Close. A failed write is retried on
// the next beat, so entries come back by themselves after NATS returns.
func (p *Presence) heartbeat() {
	defer close(p.done)
	t := time.NewTicker(p.hb)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		keys := slices.Collect(maps.Keys(p.mine))
		p.mu.Unlock()
		for _, k := range keys {
			if p.b.check() != nil {
				break
			}
			p.rewrite(k)
		}
	}
}

// rewrite writes entry k again, with its value now, unless it was let go since the heartbeat listed it.
func (p *Presence) rewrite(k string) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	v, ok := p.mine[k]
	p.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.hb)
	defer cancel()
	_, _ = p.kv.Put(ctx, k, v)
}

// Close stops the heartbeat and removes this node's entries, so other nodes see its members leave
// at once rather than after the TTL. It is safe to call more than once.
func (p *Presence) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	p.mu.Lock()
	mine := p.mine
	p.mine = map[string][]byte{}
	p.mu.Unlock()
	for k := range mine {
		if p.b.check() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.b.cfg.Timeout)
		_ = p.kv.Delete(ctx, k)
		cancel()
	}
}
