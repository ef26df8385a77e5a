package fuzz_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"duplex/conn"
	"duplex/frame"
)

// serverReadLimit is the read limit of the server under
// FuzzServerConn, small enough for inputs to cross it.
const serverReadLimit = 1 << 12

// validRequest is an opening handshake as a browser sends it (RFC 6455,
// Section 4.1), so that the fuzzed bytes after it reach the frame reader.
const validRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n\r\n"

// FuzzServerConn is the whole-connection target: a server accepts a valid
// opening handshake, then reads arbitrary bytes with Serve, echoing every
// message. Whatever the bytes, it must not panic, must deliver exactly the
// messages, pings and close the reference model finds, must end with a
// close frame whose code the RFC allows (or none when the stream ended
// without a close frame), must report the end through OnError and OnClose
// as documented, and must leave no goroutine behind.
func FuzzServerConn(f *testing.F) {
	for _, fr := range rfcFrames(f) {
		if fr.to == frame.RoleServer {
			f.Add(fr.wire)
		}
	}
	f.Add(duplexTraffic(f, frame.RoleClient))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog("FuzzServerConn", data)()
		goroutines := runtime.NumGoroutine()
		want := modelStream(data, frame.RoleServer, serverReadLimit)

		nc := newMemConn(append([]byte(validRequest), data...))
		ctx := context.Background()
		c, err := conn.Accept(ctx, nc, &conn.AcceptOptions{Options: conn.Options{ReadLimit: serverReadLimit}})
		if err != nil {
			t.Fatalf("valid handshake refused: %v", err)
		}
		var (
			events  []event
			opened  int
			errs    []error
			closes  []conn.CloseEvent
			ordered = true
		)
		serveErr := conn.Serve(ctx, c, conn.Handler{
			OnOpen: func() { opened++ },
			OnMessage: func(typ conn.MessageType, b []byte) {
				ordered = ordered && opened == 1 && len(errs) == 0 && len(closes) == 0
				events = append(events, event{kind: evMessage, op: byte(typ), data: bytes.Clone(b)})
				_ = c.WriteMessage(ctx, typ, b)
			},
			OnError: func(err error) {
				ordered = ordered && len(closes) == 0
				errs = append(errs, err)
			},
			OnClose: func(e conn.CloseEvent) { closes = append(closes, e) },
		})
		if !ordered || opened != 1 || len(closes) != 1 || len(errs) > 1 {
			t.Fatalf("events out of order: open %d, errors %v, closes %v", opened, errs, closes)
		}
		ev := closes[0]
		switch want.end {
		case endClose:
			if !ev.WasClean || ev.Code != want.code || ev.Reason != want.reason || len(errs) != 0 || serveErr != nil {
				t.Fatalf("peer closed with %v %q: event %+v, errors %v, Serve %v", want.code, want.reason, ev, errs, serveErr)
			}
		default:
			if ev.WasClean || len(errs) != 1 || serveErr != errs[0] {
				t.Fatalf("unclean end %+v: event %+v, errors %v, Serve %v", want, ev, errs, serveErr)
			}
		}
		code := ev.Code
		if serveErr != nil {
			code = checkEnd(t, serveErr, want)
		}
		if ev.Code != code {
			t.Fatalf("OnClose code %v, the read ended with %v", ev.Code, code)
		}

		// What the server wrote: the 101 response, then frames.
		br := bufio.NewReader(bytes.NewReader(nc.written()))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("no 101 response: %v", err)
		}
		var rest bytes.Buffer
		_, _ = rest.ReadFrom(br)
		// Pongs the peer sent need no answer; pings and messages get one.
		var answered []event
		for _, e := range want.events {
			if e.kind != evPong {
				answered = append(answered, e)
			}
		}
		var msgs []event
		for _, e := range want.events {
			if e.kind == evMessage {
				msgs = append(msgs, e)
			}
		}
		if len(events) != len(msgs) {
			t.Fatalf("delivered %d messages, model %d", len(events), len(msgs))
		}
		for i := range msgs {
			if events[i].op != msgs[i].op || !bytes.Equal(events[i].data, msgs[i].data) {
				t.Fatalf("message %d: %+v, model %+v", i, events[i], msgs[i])
			}
		}
		checkOutput(t, parseOutput(t, rest.Bytes(), frame.RoleServer), streamResult{
			events: answered, end: want.end, code: want.code, reason: want.reason,
		}, code, true)
		if !nc.isClosed() {
			t.Fatal("Serve returned with the net.Conn open")
		}
		checkGoroutines(t, goroutines)
	})
}

// checkGoroutines fails if more goroutines run than before the input, once
// they had time to end. Counting is cheap; goleak names the culprits.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left behind: %v", goleak.Find())
		}
		time.Sleep(time.Millisecond)
	}
}
