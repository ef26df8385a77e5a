package fuzz_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

// allocSlack is the heap FuzzReadFrames lets a connection allocate beyond
// the payload it validated: the connection's buffers and state, the
// test's bookkeeping, and above all the runtime's accounting, which counts
// a small allocation only when its span leaves the per-P cache. Up to one
// span per size class and P (about 2.6 MiB per P) of earlier allocations
// may so be counted inside the measured window. A reader that trusted a
// header's length instead of the limit is still caught: the lengths it
// would allocate run to 2^63-1.
const allocSlack = 6 << 20

// readMode is how FuzzReadFrames reads messages.
type readMode int

const (
	readWhole   readMode = iota // ReadMessage
	readChunked                 // NextReader, read to the end in chunks of 1 to 7 bytes
	readPrefix                  // NextReader, read 3 bytes, then on to the next message
)

// streamRead is what a connection delivered.
type streamRead struct {
	msgs      []event // messages read to their end (a prefix of each in readPrefix)
	control   []event // pings and pongs, from the hooks
	pending   bool    // readPrefix: the last message was started but not known complete
	end       error
	maxMsg    int
	allocated uint64
	slack     uint64 // the heap allowed beyond the validated limit and the input
}

// readStream reads c until its reads fail.
func readStream(c *conn.Conn, mode readMode, rd *streamRead) {
	ctx := context.Background()
	buf := make([]byte, 8)
	for i := 0; ; i++ {
		if mode == readWhole {
			typ, msg, err := c.ReadMessage(ctx)
			if err != nil {
				rd.end = err
				return
			}
			rd.maxMsg = max(rd.maxMsg, len(msg))
			rd.msgs = append(rd.msgs, event{kind: evMessage, op: byte(typ), data: msg})
			continue
		}
		typ, r, err := c.NextReader(ctx)
		if err != nil {
			rd.end = err
			return
		}
		// A new message started: the previous one was complete and valid.
		rd.pending = false
		ev := event{kind: evMessage, op: byte(typ)}
		for {
			chunk := buf[:1+(i+len(ev.data))%7]
			if mode == readPrefix {
				chunk = buf[:min(len(chunk), 3-len(ev.data))]
				if len(chunk) == 0 {
					rd.pending = true
					break
				}
			}
			n, err := r.Read(chunk)
			ev.data = append(ev.data, chunk[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				rd.end = err
				return
			}
		}
		rd.maxMsg = max(rd.maxMsg, len(ev.data))
		rd.msgs = append(rd.msgs, ev)
	}
}

// FuzzReadFrames feeds arbitrary bytes to a connection in either role
// (RFC 6455, Sections 5 to 8), reading with ReadMessage, with NextReader
// in small chunks, or reading only the start of each message so that the
// connection discards (and still validates) the rest. Everything it does
// is compared with the reference model: the messages and control frames
// it delivers, the error that ends the reads and the close code it
// carries, and the frames it writes in answer. Whatever the input claims,
// a message never exceeds the read limit and the heap allocated stays
// within the limit it validated.
func FuzzReadFrames(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, client bool, sel uint16) {
		defer watchdog("FuzzReadFrames", data)()
		role := frame.RoleServer
		if client {
			role = frame.RoleClient
		}
		// sel: bits 0-1 the kind of limit, bits 2-13 a small limit, bits
		// 14-15 the read mode. Options.ReadLimit is negative for none, 0
		// for the default, otherwise small enough that inputs cross it.
		optLim := 1 + int64(sel>>2&0xFFF)
		lim := optLim
		switch sel & 3 {
		case 0:
			optLim, lim = -1, -1
		case 1:
			optLim, lim = 0, conn.DefaultReadLimit
		}
		mode := readMode(sel >> 14 % 3)
		want := modelStream(data, role, lim)

		rd := streamRead{slack: allocSlack}
		nc := newMemConn(data)
		opts := &conn.Options{
			ReadLimit: optLim,
			OnPing:    func(p []byte) { rd.control = append(rd.control, event{kind: evPing, data: bytes.Clone(p)}) },
			OnPong:    func(p []byte) { rd.control = append(rd.control, event{kind: evPong, data: bytes.Clone(p)}) },
		}
		before := heapAllocBytes()
		c := conn.New(nc, nil, role, opts)
		readStream(c, mode, &rd)
		rd.allocated = heapAllocBytes() - before
		checkStreamRead(t, c, nc, nc.written(), role, lim, mode, &rd, want, len(data))
	})
}

// checkStreamRead compares what readStream delivered from a stream of
// inLen bytes with the model, then the connection's state after its end
// and what it wrote (out, after any handshake).
func checkStreamRead(t *testing.T, c *conn.Conn, nc *memConn, out []byte, role frame.Role, lim int64, mode readMode, rd *streamRead, want streamResult, inLen int) {
	t.Helper()
	if lim >= 0 && int64(rd.maxMsg) > lim {
		t.Fatalf("message of %d bytes over the read limit %d", rd.maxMsg, lim)
	}
	bound := rd.slack + uint64(8*inLen)
	if lim >= 0 {
		bound += uint64(min(lim+512, 1<<20))
	} else {
		bound += 1 << 20
	}
	if rd.allocated > bound {
		t.Fatalf("allocated %d bytes reading %d bytes with limit %d (bound %d)", rd.allocated, inLen, lim, bound)
	}

	code := checkEnd(t, rd.end, want)
	if want.loose {
		// The output follows the end the reader met.
		var pe frame.ProtocolError
		switch {
		case code == frame.CloseAbnormal:
			want.end = endEOF
		case errors.As(rd.end, &pe):
			want.end = endViolation
		}
	}
	var wantMsgs, wantControl []event
	for _, ev := range want.events {
		if ev.kind == evMessage {
			if mode == readPrefix {
				ev.data = ev.data[:min(3, len(ev.data))]
			}
			wantMsgs = append(wantMsgs, ev)
		} else {
			wantControl = append(wantControl, ev)
		}
	}
	got := rd.msgs
	// A message only started when the stream failed may or may not
	// have been complete: the model decides, the prefix must agree.
	if rd.pending && len(got) == len(wantMsgs)+1 {
		got = got[:len(got)-1]
	}
	if want.loose && len(rd.control) <= len(wantControl) && sameEvents(rd.control, wantControl[:len(rd.control)]) {
		// The model read on past the bad data; the reader may have
		// stopped at any frame after it.
		wantControl = rd.control
		want.events = append(slices.Clone(wantMsgs), rd.control...)
	}
	if !sameEvents(got, wantMsgs) || !sameEvents(rd.control, wantControl) {
		t.Fatalf("mode %d delivered messages %v and control %v; model %v and %v", mode, rd.msgs, rd.control, wantMsgs, wantControl)
	}
	// The end is sticky: every later read reports it again.
	if _, _, err := c.ReadMessage(context.Background()); !errors.Is(err, rd.end) {
		t.Fatalf("second read: %v, want %v", err, rd.end)
	}
	if !nc.isClosed() {
		t.Fatal("the connection ended but the net.Conn is open")
	}
	if c.State() != conn.StateClosed {
		t.Fatalf("state %v after the end", c.State())
	}
	checkOutput(t, parseOutput(t, out, role), want, code, false)
}

func sameEvents(a, b []event) bool {
	return slices.EqualFunc(a, b, func(x, y event) bool {
		return x.kind == y.kind && x.op == y.op && bytes.Equal(x.data, y.data)
	})
}
