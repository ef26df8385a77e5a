package fuzz_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

// allocSlack is the heap a connection may allocate beyond the payload it
// validated: its buffers and state, the test's own bookkeeping, and the
// granularity at which the runtime counts small allocations (whole spans).
// It is far below what a reader trusting a header's length would take.
const allocSlack = 1 << 20

// FuzzReadFrames feeds arbitrary bytes to a connection in either role
// (RFC 6455, Sections 5 to 8) and compares everything it does with the
// reference model: the messages and control frames it delivers, the error
// that ends the reads and the close code it carries, and the frames it
// writes in answer. Whatever the input claims, a message never exceeds the
// read limit and the heap allocated stays within the limit it validated.
func FuzzReadFrames(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, client bool, limSel uint16) {
		defer watchdog("FuzzReadFrames", data)()
		role := frame.RoleServer
		if client {
			role = frame.RoleClient
		}
		// Options.ReadLimit: negative for none, 0 for the default,
		// otherwise small enough that inputs cross it.
		optLim, lim := int64(1+limSel>>2), int64(1+limSel>>2)
		switch limSel & 3 {
		case 0:
			optLim, lim = -1, -1
		case 1:
			optLim, lim = 0, conn.DefaultReadLimit
		}
		want := modelStream(data, role, lim)

		var events []event
		nc := newMemConn(data)
		opts := &conn.Options{
			ReadLimit: optLim,
			OnPing:    func(p []byte) { events = append(events, event{kind: evPing, data: bytes.Clone(p)}) },
			OnPong:    func(p []byte) { events = append(events, event{kind: evPong, data: bytes.Clone(p)}) },
		}
		before := heapAllocBytes()
		c := conn.New(nc, nil, role, opts)
		var end error
		for {
			typ, msg, err := c.ReadMessage(context.Background())
			if err != nil {
				end = err
				break
			}
			if lim >= 0 && int64(len(msg)) > lim {
				t.Fatalf("message of %d bytes over the read limit %d", len(msg), lim)
			}
			events = append(events, event{kind: evMessage, op: byte(typ), data: msg})
		}
		allocated := heapAllocBytes() - before
		bound := uint64(allocSlack + 8*len(data))
		if lim >= 0 {
			bound += uint64(min(lim+512, 1<<20))
		} else {
			bound += 1 << 20
		}
		if allocated > bound {
			t.Fatalf("allocated %d bytes reading %d bytes with limit %d (bound %d)", allocated, len(data), lim, bound)
		}

		code := checkEnd(t, end, want)
		if len(events) != len(want.events) {
			t.Fatalf("delivered %d events, model %d: %+v vs %+v", len(events), len(want.events), events, want.events)
		}
		for i, ev := range want.events {
			if events[i].kind != ev.kind || events[i].op != ev.op || !bytes.Equal(events[i].data, ev.data) {
				t.Fatalf("event %d: %+v, model %+v", i, events[i], ev)
			}
		}
		// The end is sticky: every later read reports it again.
		if _, _, err := c.ReadMessage(context.Background()); !errors.Is(err, end) {
			t.Fatalf("second read: %v, want %v", err, end)
		}
		if !nc.isClosed() {
			t.Fatal("the connection ended but the net.Conn is open")
		}
		if c.State() != conn.StateClosed {
			t.Fatalf("state %v after the end", c.State())
		}
		checkOutput(t, parseOutput(t, nc.written(), role), want, code, false)
	})
}
