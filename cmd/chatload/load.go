package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"duplex/chat"
	"duplex/conn"
)

// loadClient is one simulated member of the room.
type loadClient struct {
	id   int
	c    *conn.Conn
	lats []int32 // send-to-receive latencies seen by this member, in microseconds
	got  atomic.Int64
	// joinedAt is when the welcome arrived.
	joinedAt time.Time
}

// counts are the run's totals, shared by all clients.
type counts struct {
	sent, acked, refused, failed atomic.Int64
}

// textPrefix starts every load message; the send time in nanoseconds since start follows, so any member
// can tell the latency with the clock of this one process.
const textPrefix = "load t="

// dialJoin connects, joins room and waits for the welcome.
func dialJoin(ctx context.Context, url, room string, id int) (*loadClient, error) {
	c, _, err := conn.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	join, _ := json.Marshal(chat.Event{Type: chat.KindJoin, Room: room, Nick: "load" + strconv.Itoa(id)})
	if err := c.WriteMessage(ctx, conn.MessageText, join); err != nil {
		_ = c.CloseNow()
		return nil, err
	}
	for {
		_, b, err := c.ReadMessage(ctx)
		if err != nil {
			_ = c.CloseNow()
			return nil, err
		}
		if bytes.HasPrefix(b, []byte(`{"type":"welcome"`)) {
			return &loadClient{id: id, c: c, joinedAt: time.Now()}, nil
		}
		if bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
			_ = c.CloseNow()
			return nil, fmt.Errorf("chatload: join refused: %s", b)
		}
	}
}

// joinAll joins n clients, at most par at a time, and returns them with the time it took. joined is
// called with each client once its welcome arrived.
func joinAll(ctx context.Context, url, room string, n, par int, joined func(*loadClient)) ([]*loadClient, time.Duration, error) {
	start := time.Now()
	clients := make([]*loadClient, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lc, err := dialJoin(ctx, url, room, i)
			if err == nil {
				joined(lc)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			clients[i] = lc
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		for _, lc := range clients {
			if lc != nil {
				_ = lc.c.CloseNow()
			}
		}
		return nil, took, firstErr
	}
	return clients, took, nil
}

// read consumes the client's events until its connection ends, timing every load message.
func (lc *loadClient) read(start time.Time, ct *counts) {
	for {
		_, b, err := lc.c.ReadMessage(context.Background())
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(b, []byte(`{"type":"message"`)):
			i := bytes.Index(b, []byte(`"text":"`+textPrefix))
			if i < 0 {
				continue
			}
			rest := b[i+len(`"text":"`+textPrefix):]
			j := bytes.IndexByte(rest, ' ')
			if j < 0 {
				continue
			}
			ns, err := strconv.ParseInt(string(rest[:j]), 10, 64)
			if err != nil {
				continue
			}
			lat := time.Since(start) - time.Duration(ns)
			lc.lats = append(lc.lats, int32(min(lat.Microseconds(), 1<<31-1)))
			lc.got.Add(1)
		case bytes.HasPrefix(b, []byte(`{"type":"ack"`)):
			ct.acked.Add(1)
		case bytes.HasPrefix(b, []byte(`{"type":"error"`)):
			ct.refused.Add(1)
		}
	}
}

// send posts one message every interval until ctx ends, starting at a random point of the first
// interval so that the room's load is even.
func (lc *loadClient) send(ctx context.Context, start time.Time, interval time.Duration, ct *counts) {
	t := time.NewTimer(rand.N(interval))
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(interval)
		text := textPrefix + strconv.FormatInt(int64(time.Since(start)), 10) + " c=" + strconv.Itoa(lc.id)
		msg, _ := json.Marshal(chat.Event{Type: chat.KindSend, ID: "c" + strconv.Itoa(lc.id) + "-" + strconv.Itoa(n), Text: text})
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := lc.c.WriteMessage(wctx, conn.MessageText, msg)
		cancel()
		if err != nil {
			ct.failed.Add(1)
			return
		}
		ct.sent.Add(1)
	}
}
