package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of what a room occupies in JetStream: stream CHAT_ROOM_<token> holding subject chat.room.<token>,
// where <token> is the room name escaped (see token).
const (
	streamPrefix  = "CHAT_ROOM_"
	subjectPrefix = "chat.room."
)

// Record is one stored message of a room.
type Record struct {
	// Seq is the room's sequence number: 1 for the first record ever appended to the room in this
	// epoch, then 2, 3, ... with no gaps except where retention dropped the oldest.
	Seq uint64
	// ID is the id given to Append ("" if none).
	ID string
	// Time is when JetStream stored the record.
	Time time.Time
	// Payload is the bytes given to Append. The Record owns it.
	Payload []byte
}

// RoomInfo describes a room's stream.
type RoomInfo struct {
	// Epoch names this life of the room. It is derived from the stream's creation time, which
	// JetStream keeps across restarts, so it changes only when the room's stream is created anew
	// (deleted, or its data lost), which is exactly when sequence numbers start again at 1.
	Epoch string
	// First and Last are the oldest and newest stored sequence numbers; First is Last+1 when
	// nothing is stored (an empty stream, or one whose records all aged out).
	First, Last uint64
	// Count and Bytes are what is stored now.
	Count, Bytes uint64
}

// Info returns the room's epoch and stored range, creating the room's stream if it does not exist yet.
func (b *Broker) Info(ctx context.Context, room string) (RoomInfo, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	s, err := b.stream(ctx, room)
	if err != nil {
		return RoomInfo{}, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return RoomInfo{}, fmt.Errorf("broker: room %q: %w", room, unavailable(err))
	}
	return roomInfo(info), nil
}

func roomInfo(info *jetstream.StreamInfo) RoomInfo {
	st := info.State
	first := st.FirstSeq
	if st.Msgs == 0 {
		first = st.LastSeq + 1
	}
	return RoomInfo{
		Epoch: strconv.FormatInt(info.Created.UnixNano(), 36),
		First: first, Last: st.LastSeq,
		Count: st.Msgs, Bytes: st.Bytes,
	}
}

// Append stores payload as the room's next record and returns its sequence number once JetStream has
// stored it (on every replica that the stream's quorum needs). id, when not empty, is the JetStream
// message id: a second Append with the same id within the duplicate window stores nothing and returns
// the original's seq with duplicate true.
//
// On error nothing is known to be stored. With ErrUnavailable it certainly was not; after a timeout it
// may have been, and resending with the same id is the way to find out without storing it twice.
// Append fails at once, without waiting for ctx, while NATS is unreachable.
func (b *Broker) Append(ctx context.Context, room, id string, payload []byte) (seq uint64, duplicate bool, err error) {
	if err := b.check(); err != nil {
		return 0, false, fmt.Errorf("broker: append to %q: %w", room, err)
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	name := streamPrefix + token(room)
	b.mu.Lock()
	known := b.streams[name]
	b.mu.Unlock()
	// Only the first Append to a room asks for its stream: after that one round trip per record.
	if !known {
		if _, err := b.stream(ctx, room); err != nil {
			return 0, false, err
		}
	}
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(name)}
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	ack, err := b.js.Publish(ctx, subjectPrefix+token(room), payload, opts...)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		// No stream listens on the subject (deleted behind our back): the next call creates it.
		b.mu.Lock()
		delete(b.streams, name)
		b.mu.Unlock()
	}
	if err != nil {
		return 0, false, fmt.Errorf("broker: append to %q: %w", room, unavailable(err))
	}
	return ack.Sequence, ack.Duplicate, nil
}

// stream returns the room's stream, creating it (or applying this Broker's retention to it) the first
// time this Broker touches the room.
func (b *Broker) stream(ctx context.Context, room string) (jetstream.Stream, error) {
	if err := validName(room); err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("broker: room %q: %w", room, err)
	}
	name := streamPrefix + token(room)
	b.mu.Lock()
	known := b.streams[name]
	b.mu.Unlock()
	if known {
		s, err := b.js.Stream(ctx, name)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("broker: room %q: %w", room, unavailable(err))
		}
		// Deleted behind our back: create it again below (a new epoch).
	}
	r := b.cfg.Retention
	cfg := jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subjectPrefix + token(room)},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxMsgs:    orUnlimited(r.MaxMsgs),
		MaxBytes:   orUnlimited(r.MaxBytes),
		MaxAge:     r.MaxAge,
		Duplicates: b.cfg.Duplicates,
		Replicas:   b.cfg.Replicas,
		// Nobody may delete single records through the API, so what was acknowledged stays
		// until retention drops it (or an operator purges the whole room).
		DenyDelete: true,
	}
	var s jetstream.Stream
	var err error
	// Several nodes may create the same room at once; JetStream answers the loser of the race with
	// "already in use" only when configurations differ, so one retry settles it.
	for range 2 {
		s, err = b.js.CreateOrUpdateStream(ctx, cfg)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("broker: room %q: %w", room, unavailable(err))
	}
	b.mu.Lock()
	b.streams[name] = true
	b.mu.Unlock()
	return s, nil
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// Subscribe calls fn with every record of the room after seq after, in order, then with each new
// record as it is stored, each exactly once, until ctx ends; it then returns ctx.Err(). It survives
// NATS reconnects and the loss of a cluster server: delivery resumes after the last record handed to
// fn, with no gap and no repeat. Records that retention dropped before they could be delivered are
// skipped, which fn sees as a jump in Seq.
//
// fn is called from one goroutine, one record at a time; a slow fn slows this subscription only.
// Subscribe returns early with ErrClosed when the Broker is closed, with ErrBadName for a bad room, and
// with ErrNewEpoch when the room's stream was created anew while it ran (its numbering restarted, so
// going on from the last seq would skip the new records): the caller starts over from the new epoch.
// While NATS is unreachable when it starts, it keeps trying until ctx ends.
func (b *Broker) Subscribe(ctx context.Context, room string, after uint64, fn func(Record)) error {
	if err := validName(room); err != nil {
		return err
	}
	last := after
	var epoch time.Time
	for {
		err := b.subscribe(ctx, room, &last, &epoch, fn)
		if errors.Is(err, ErrNewEpoch) {
			return fmt.Errorf("broker: subscribe to %q: %w", room, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if b.nc.IsClosed() {
			return fmt.Errorf("broker: subscribe to %q: %w", room, ErrClosed)
		}
		// Any failure (NATS away, the consumer's server gone, a gap) is retried from the last
		// record handed to fn.
		_ = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.cfg.ReconnectWait):
		}
	}
}

// errGap means a consumer's delivery sequence skipped: a message was lost between server and client
// (a slow-consumer drop, a reconnect mid-batch), so delivery must restart after the last record.
var errGap = errors.New("broker: delivery gap")

// subscribe runs one consumer from *last+1 until it fails or ctx ends, advancing *last.
//
// It is an ordered consumer done by hand: an ephemeral, unacknowledged, in-memory consumer that is
// dropped and created again after the last delivered record whenever anything goes wrong. nats.go's
// OrderedConsumer does the same but waits up to 10s on each attempt to recreate itself, which is
// a 10s silence in a room after a server dies; here every attempt is bounded by Config.Timeout.
func (b *Broker) subscribe(ctx context.Context, room string, last *uint64, epoch *time.Time, fn func(Record)) error {
	conn := b.connContext()
	cctx, cancel := b.withTimeout(ctx)
	defer cancel()
	s, err := b.stream(cctx, room)
	if err != nil {
		return err
	}
	created := s.CachedInfo().Created
	if epoch.IsZero() {
		*epoch = created
	} else if !created.Equal(*epoch) {
		return ErrNewEpoch
	}
	name := streamPrefix + token(room)
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckNonePolicy,
		MemoryStorage: true,
		Replicas:      1,
		// If this node dies, the server removes its consumers by itself.
		InactiveThreshold: 30 * time.Second,
	}
	if *last > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = *last + 1
	}
	cons, err := b.js.CreateConsumer(cctx, name, cfg)
	if err != nil {
		return unavailable(err)
	}
	defer func() {
		if b.check() != nil {
			return // InactiveThreshold will remove it
		}
		dctx, cancel := context.WithTimeout(context.Background(), min(b.cfg.Timeout, time.Second))
		_ = b.js.DeleteConsumer(dctx, name, cons.CachedInfo().Name)
		cancel()
	}()
	// A consumer whose server vanished shows as missing heartbeats after 2 x PullHeartbeat.
	it, err := cons.Messages(jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return unavailable(err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	// After a reconnect the consumer may be gone with its server, or have lost messages in flight.
	stopConn := context.AfterFunc(conn, it.Stop)
	defer stopConn()
	defer it.Stop()
	var delivered uint64 // the consumer's own sequence: 1, 2, 3... with no gap if nothing was lost
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if md.Sequence.Consumer != delivered+1 {
			return errGap
		}
		delivered = md.Sequence.Consumer
		r, _ := record(msg)
		// A restart may begin before records already handed to fn (a consumer created just as
		// the old one delivered): never hand one twice.
		if r.Seq <= *last {
			continue
		}
		*last = r.Seq
		fn(r)
	}
}

func record(msg jetstream.Msg) (Record, bool) {
	md, err := msg.Metadata()
	if err != nil {
		return Record{}, false
	}
	return Record{
		Seq:     md.Sequence.Stream,
		ID:      msg.Headers().Get(jetstream.MsgIDHeader),
		Time:    md.Timestamp,
		Payload: msg.Data(),
	}, true
}
