package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat/broker"
)

// server starts an embedded server in a temporary directory and connects a Broker to it.
func server(t *testing.T, cfg broker.Config) (*broker.Server, *broker.Broker) {
	t.Helper()
	s := start(t, t.TempDir(), 0)
	cfg.URLs = s.ClientURL()
	return s, connect(t, cfg)
}

// appendN appends n records "<prefix> i" with ids "<prefix>-i" and checks they get consecutive seqs.
func appendN(t *testing.T, b *broker.Broker, room, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, dup, err := b.Append(ctxT(t), room, fmt.Sprintf("%s-%d", prefix, i), fmt.Appendf(nil, "%s %d", prefix, i))
		require.NoError(t, err)
		require.False(t, dup)
	}
}

func TestAppendDedupeReturnsOriginalSeq(t *testing.T) {
	_, b := server(t, broker.Config{})
	ctx := ctxT(t)
	s1, dup, err := b.Append(ctx, "r", "a", []byte("first"))
	require.NoError(t, err)
	assert.False(t, dup)
	s2, dup, err := b.Append(ctx, "r", "b", []byte("second"))
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, []uint64{1, 2}, []uint64{s1, s2})

	again, dup, err := b.Append(ctx, "r", "a", []byte("first, resent"))
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Equal(t, s1, again, "a duplicate answers with the original's seq, not the latest")

	info, err := b.Info(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.Count, "the resend must not be stored")
	recs, _, err := b.Range(ctx, "r", 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "first", string(recs[0].Payload), "the original payload stays")

	// Without an id there is no deduplication.
	s3, _, err := b.Append(ctx, "r", "", []byte("x"))
	require.NoError(t, err)
	s4, _, err := b.Append(ctx, "r", "", []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, []uint64{3, 4}, []uint64{s3, s4})
}

// Rooms are separate streams with their own numbering, whatever characters their names hold.
func TestRoomsAreSeparate(t *testing.T) {
	_, b := server(t, broker.Config{})
	ctx := ctxT(t)
	names := []string{"a.b", "a_2Eb", "a*", "a>", "a b", "ü"}
	for _, n := range names {
		seq, _, err := b.Append(ctx, n, "same-id", []byte(n))
		require.NoError(t, err, n)
		assert.Equal(t, uint64(1), seq, "room %q numbers from 1", n)
	}
	for _, n := range names {
		recs, _, err := b.Range(ctx, n, 0, 0)
		require.NoError(t, err)
		require.Len(t, recs, 1, n)
		assert.Equal(t, n, string(recs[0].Payload))
	}
}

func TestBadRoomName(t *testing.T) {
	_, b := server(t, broker.Config{})
	_, _, err := b.Append(ctxT(t), "", "id", []byte("x"))
	require.ErrorIs(t, err, broker.ErrBadName)
	_, _, err = b.Append(ctxT(t), string(bytes.Repeat([]byte("a"), broker.MaxNameLen+1)), "id", []byte("x"))
	require.ErrorIs(t, err, broker.ErrBadName)
	require.ErrorIs(t, b.Subscribe(ctxT(t), "", 0, func(broker.Record) {}), broker.ErrBadName)
}

func TestSubscribeHistoryThenLive(t *testing.T) {
	_, b := server(t, broker.Config{})
	appendN(t, b, "r", "old", 5)
	c := subscribe(t, b, "r", 2)
	require.Eventually(t, func() bool { return c.len() >= 3 }, 5*time.Second, 10*time.Millisecond)
	appendN(t, b, "r", "new", 2)
	require.Eventually(t, func() bool { return c.len() >= 5 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // let a wrongly repeated record show up
	assert.Equal(t, seqRange(3, 7), c.seqs())
	c.mu.Lock()
	assert.Equal(t, "old 2", string(c.recs[0].Payload))
	assert.Equal(t, "old-2", c.recs[0].ID)
	assert.Equal(t, "new 1", string(c.recs[4].Payload))
	c.mu.Unlock()
}

// A subscriber that starts before the room exists gets its first records.
func TestSubscribeBeforeFirstAppend(t *testing.T) {
	_, b := server(t, broker.Config{})
	c := subscribe(t, b, "fresh", 0)
	appendN(t, b, "fresh", "m", 3)
	require.Eventually(t, func() bool { return c.len() >= 3 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, seqRange(1, 3), c.seqs())
}

func TestRangeIsBoundedInBytes(t *testing.T) {
	_, b := server(t, broker.Config{})
	appendN(t, b, "r", "msg", 10) // payloads "msg 0" .. "msg 9": 5 bytes each
	ctx := ctxT(t)

	recs, more, err := b.Range(ctx, "r", 0, 17)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Equal(t, seqRange(1, 3), seqsOf(recs), "three 5-byte records fit in 17 bytes")

	recs, more, err = b.Range(ctx, "r", 3, 0)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Equal(t, seqRange(4, 10), seqsOf(recs))

	recs, more, err = b.Range(ctx, "r", 0, 1)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Equal(t, []uint64{1}, seqsOf(recs), "one record even when it alone is over the bound")

	recs, more, err = b.Range(ctx, "r", 10, 100)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Empty(t, recs)

	recs, more, err = b.Range(ctx, "empty", 0, 100)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Empty(t, recs)
}

func TestTailReturnsTheNewest(t *testing.T) {
	_, b := server(t, broker.Config{})
	appendN(t, b, "r", "msg", 10)
	ctx := ctxT(t)

	recs, older, err := b.Tail(ctx, "r", 17)
	require.NoError(t, err)
	assert.True(t, older)
	assert.Equal(t, seqRange(8, 10), seqsOf(recs))

	recs, older, err = b.Tail(ctx, "r", 0)
	require.NoError(t, err)
	assert.False(t, older)
	assert.Equal(t, seqRange(1, 10), seqsOf(recs))

	recs, older, err = b.Tail(ctx, "r", 1000)
	require.NoError(t, err)
	assert.False(t, older)
	assert.Equal(t, seqRange(1, 10), seqsOf(recs))

	recs, older, err = b.Tail(ctx, "empty", 1000)
	require.NoError(t, err)
	assert.False(t, older)
	assert.Empty(t, recs)
}

func TestRetentionByCountDropsTheOldest(t *testing.T) {
	_, b := server(t, broker.Config{Retention: broker.Retention{MaxMsgs: 3}})
	appendN(t, b, "r", "m", 5)
	info, err := b.Info(ctxT(t), "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), info.First)
	assert.Equal(t, uint64(5), info.Last)
	c := subscribe(t, b, "r", 0)
	require.Eventually(t, func() bool { return c.len() >= 3 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, seqRange(3, 5), c.seqs())
}

func TestRetentionByAge(t *testing.T) {
	_, b := server(t, broker.Config{Retention: broker.Retention{MaxAge: time.Second}})
	appendN(t, b, "r", "m", 2)
	require.Eventually(t, func() bool {
		info, err := b.Info(ctxT(t), "r")
		return err == nil && info.Count == 0 && info.First == 3
	}, 5*time.Second, 50*time.Millisecond)
}

// While the server is down, Append fails at once with ErrUnavailable, whatever its context allows;
// once the server is back on the same address and directory, the Broker reconnects by itself, a
// subscription that ran across the outage carries on without a gap, and nothing is stored twice.
func TestServerDownAndBack(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, 0)
	url := s.ClientURL()
	status := make(chan bool, 16)
	b := connect(t, broker.Config{URLs: url, OnStatus: func(up bool) { status <- up }})
	require.True(t, b.Available())
	appendN(t, b, "r", "before", 3)
	c := subscribe(t, b, "r", 0)
	require.Eventually(t, func() bool { return c.len() >= 3 }, 5*time.Second, 10*time.Millisecond)

	s.Shutdown()
	require.False(t, <-status)
	require.False(t, b.Available())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0 := time.Now()
	_, _, err := b.Append(ctx, "r", "during", []byte("lost?"))
	require.ErrorIs(t, err, broker.ErrUnavailable)
	assert.Less(t, time.Since(t0), time.Second, "Append must fail fast, not wait for its context")

	var port int
	_, err = fmt.Sscanf(url, "nats://127.0.0.1:%d", &port)
	require.NoError(t, err)
	start(t, dir, port)
	select {
	case up := <-status:
		require.True(t, up)
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnect")
	}
	require.True(t, b.Available())
	appendN(t, b, "r", "after", 2)
	require.Eventually(t, func() bool { return c.len() >= 5 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, seqRange(1, 5), c.seqs(), "the refused append was not stored, the rest exactly once")
}

func TestClosedBroker(t *testing.T) {
	_, b := server(t, broker.Config{})
	appendN(t, b, "r", "m", 1)
	got := make(chan broker.Record, 1)
	errc := make(chan error, 1)
	go func() { errc <- b.Subscribe(context.Background(), "r", 0, func(r broker.Record) { got <- r }) }()
	<-got
	b.Close()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, broker.ErrClosed, "a running Subscribe ends when the Broker closes")
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe still running after Close")
	}
	_, _, err := b.Append(ctxT(t), "r", "id", []byte("x"))
	require.ErrorIs(t, err, broker.ErrClosed)
	require.ErrorIs(t, b.Subscribe(ctxT(t), "r", 0, func(broker.Record) {}), broker.ErrClosed)
}

func seqsOf(recs []broker.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// A room whose stream is deleted behind the Broker's back (an operator's nats stream rm) comes back
// empty under a new epoch, and a running subscription ends with ErrNewEpoch instead of going on from
// its last seq in the new numbering, so no client mixes the two.
func TestRecreatedRoomHasNewEpoch(t *testing.T) {
	s, b := server(t, broker.Config{})
	appendN(t, b, "r", "m", 2)
	before, err := b.Info(ctxT(t), "r")
	require.NoError(t, err)
	got := make(chan broker.Record, 8)
	errc := make(chan error, 1)
	go func() { errc <- b.Subscribe(context.Background(), "r", 0, func(r broker.Record) { got <- r }) }()
	<-got
	<-got

	nc, err := nats.Connect(s.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, js.DeleteStream(ctxT(t), "CHAT_ROOM_r"))

	// The first Append after the deletion may find no stream (and store nothing, saying so) or one
	// the subscription already created again; a resend settles it either way.
	seq, _, err := appendRetrying(b, "r", "kept", []byte("y"), 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), seq)
	after, err := b.Info(ctxT(t), "r")
	require.NoError(t, err)
	assert.NotEqual(t, before.Epoch, after.Epoch)
	assert.Equal(t, uint64(1), after.Count)
	select {
	case err := <-errc:
		require.ErrorIs(t, err, broker.ErrNewEpoch, "the subscriber must not go on in the new numbering")
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe did not notice the new epoch")
	}
	assert.Empty(t, got, "nothing of the new epoch reached the old subscription")
}
