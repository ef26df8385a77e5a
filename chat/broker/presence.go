package broker

import (
	"context"
	"errors"
	"fmt"
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

	mu   sync.Mutex
	mine map[string]string // key -> member, the entries this node keeps alive

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
		mine: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.heartbeat()
	return p, nil
}

func (p *Presence) key(room, member string) string {
	return token(room) + "." + token(member) + "." + token(p.node)
}

// Join records member as present in room through this node. The entry is kept alive until Leave or
// Close. If NATS is unreachable the error says so, and the entry is written by the next heartbeat
// once NATS is back.
func (p *Presence) Join(ctx context.Context, room, member string) error {
	if err := errors.Join(validName(room), validName(member)); err != nil {
		return err
	}
	k := p.key(room, member)
	p.mu.Lock()
	p.mine[k] = member
	p.mu.Unlock()
	ctx, cancel := p.b.withTimeout(ctx)
	defer cancel()
	if _, err := p.kv.Put(ctx, k, nil); err != nil {
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
	if err := validName(room); err != nil {
		return nil, err
	}
	ctx, cancel := p.b.withTimeout(ctx)
	defer cancel()
	kl, err := p.kv.ListKeysFiltered(ctx, token(room)+".>")
	if err != nil {
		return nil, fmt.Errorf("broker: members of %q: %w", room, unavailable(err))
	}
	var out []string
	for k := range kl.Keys() {
		if _, m, _, ok := parseKey(k); ok {
			out = append(out, m)
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("broker: members of %q: %w", room, ctx.Err())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Watch calls fn with a join for every member present in room when it starts, then with each
// change, until ctx ends; it then returns ctx.Err(). A member present through several nodes joins
// once and leaves when the last of its entries goes. fn is called from one goroutine.
//
// After a reconnect Watch reads the room's entries afresh and reports the difference from what it
// had reported, so a leave whose marker expired while this node was cut off is not missed. It
// returns ErrClosed when the Broker is closed.
func (p *Presence) Watch(ctx context.Context, room string, fn func(Change)) error {
	if err := validName(room); err != nil {
		return err
	}
	view := map[string]map[string]bool{} // member -> nodes, as reported to fn
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

// watch runs one KV watcher until it fails, ctx ends or the connection is replaced, keeping view and
// fn in step with the bucket.
func (p *Presence) watch(ctx context.Context, room string, view map[string]map[string]bool, fn func(Change)) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.b.connContext(), cancel)
	defer stop()
	if err := p.b.check(); err != nil {
		return err
	}
	w, err := p.kv.Watch(wctx, token(room)+".>", jetstream.MetaOnly())
	if err != nil {
		return unavailable(err)
	}
	defer func() { _ = w.Stop() }()
	fresh := map[string]map[string]bool{} // the entries as read anew, until the initial values end
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
		put := e.Operation() == jetstream.KeyValuePut
		if fresh != nil {
			setEntry(fresh, member, node, put)
			continue
		}
		was := len(view[member]) > 0
		setEntry(view, member, node, put)
		if now := len(view[member]) > 0; now != was {
			fn(Change{Member: member, Joined: now})
		}
	}
}

// setEntry records that member is (put) or is not present through node.
func setEntry(m map[string]map[string]bool, member, node string, put bool) {
	if put {
		if m[member] == nil {
			m[member] = map[string]bool{}
		}
		m[member][node] = true
		return
	}
	delete(m[member], node)
	if len(m[member]) == 0 {
		delete(m, member)
	}
}

// reconcile reports to fn how fresh differs from view, leaves first, then makes view equal fresh.
func reconcile(view, fresh map[string]map[string]bool, fn func(Change)) {
	var gone, come []string
	for m := range view {
		if fresh[m] == nil {
			gone = append(gone, m)
		}
	}
	for m := range fresh {
		if view[m] == nil {
			come = append(come, m)
		}
	}
	slices.Sort(gone)
	slices.Sort(come)
	for _, m := range gone {
		fn(Change{Member: m, Joined: false})
	}
	for _, m := range come {
		fn(Change{Member: m, Joined: true})
	}
	clear(view)
	for m, nodes := range fresh {
		view[m] = nodes
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
		keys := make([]string, 0, len(p.mine))
		for k := range p.mine {
			keys = append(keys, k)
		}
		p.mu.Unlock()
		for _, k := range keys {
			if p.b.check() != nil {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), p.hb)
			_, _ = p.kv.Put(ctx, k, nil)
			cancel()
		}
	}
}

// Close stops the heartbeat and removes this node's entries, so other nodes see its members leave
// at once rather than after the TTL. It is safe to call more than once.
func (p *Presence) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	p.mu.Lock()
	mine := p.mine
	p.mine = map[string]string{}
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
