package broker

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Range returns the room's stored records after seq after, oldest first, up to maxBytes of payload
// (at least one record, so a caller paging through history always advances; maxBytes <= 0 means no
// bound). more reports that stored records follow the last one returned. Records that arrive while
// Range runs may or may not be included; a Subscribe from the last returned Seq picks up the rest.
func (b *Broker) Range(ctx context.Context, room string, after uint64, maxBytes int) (records []Record, more bool, err error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	s, err := b.stream(ctx, room)
	if err != nil {
		return nil, false, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("broker: range of %q: %w", room, unavailable(err))
	}
	if info.State.Msgs == 0 {
		return nil, false, nil
	}
	records, more, err = b.read(ctx, s, after, info.State.LastSeq, maxBytes)
	if err != nil {
		return nil, false, fmt.Errorf("broker: range of %q: %w", room, err)
	}
	return records, more, nil
}

// Tail returns the room's newest stored records, oldest first, up to maxBytes of payload (at least the
// newest record; maxBytes <= 0 means all). older reports that stored records precede the first one
// returned: what a welcome's history needs.
func (b *Broker) Tail(ctx context.Context, room string, maxBytes int) (records []Record, older bool, err error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	s, err := b.stream(ctx, room)
	if err != nil {
		return nil, false, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("broker: tail of %q: %w", room, unavailable(err))
	}
	st := info.State
	if st.Msgs == 0 {
		return nil, false, nil
	}
	// Guess how many records fit from the stream's average stored size (which counts headers too,
	// so the guess is low), read them, and reach further back only if they fell short.
	n := st.Msgs
	if maxBytes > 0 && st.Bytes > 0 {
		n = min(st.Msgs, uint64(maxBytes)/max(st.Bytes/st.Msgs, 1)+1)
	}
	for {
		after := st.LastSeq - n // never below FirstSeq-1, as n <= Msgs
		got, _, err := b.read(ctx, s, after, st.LastSeq, 0)
		if err != nil {
			return nil, false, fmt.Errorf("broker: tail of %q: %w", room, err)
		}
		total, keep := 0, len(got)
		for keep > 0 && (maxBytes <= 0 || total+len(got[keep-1].Payload) <= maxBytes || keep == len(got)) {
			total += len(got[keep-1].Payload)
			keep--
		}
		if keep > 0 || n >= st.Msgs {
			records = got[keep:]
			older = len(records) > 0 && records[0].Seq > st.FirstSeq
			return records, older, nil
		}
		n = min(st.Msgs, 2*n)
	}
}

// read returns records after seq after up to seq last (inclusive) and maxBytes of payload.
func (b *Broker) read(ctx context.Context, s jetstream.Stream, after, last uint64, maxBytes int) ([]Record, bool, error) {
	if last <= after {
		return nil, false, nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, false, unavailable(err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, false, unavailable(err)
	}
	defer it.Stop()
	var out []Record
	size := 0
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, false, unavailable(err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, false, err
		}
		r, _ := record(msg)
		if r.Seq > last {
			return out, false, nil
		}
		if maxBytes > 0 && len(out) > 0 && size+len(r.Payload) > maxBytes {
			return out, true, nil
		}
		out = append(out, r)
		size += len(r.Payload)
		if r.Seq == last || md.NumPending == 0 {
			return out, md.NumPending > 0, nil
		}
	}
}
