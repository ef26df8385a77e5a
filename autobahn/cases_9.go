package autobahn

import (
	"bytes"
	"fmt"
	"time"
)

func init() { register(cases9()...) }

// sizeName writes a byte count as the original's case titles do: 64k, 1M.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return fmt.Sprint(n)
}

func kindName(op Opcode) string {
	if op == OpBinary {
		return "binary"
	}
	return "text"
}

// payloadOf is n bytes of a fixed pattern, ASCII for text.
func payloadOf(op Opcode, n int) []byte {
	if op == OpBinary {
		return bytes.Repeat([]byte{0xfe}, n)
	}
	f := Frame{Payload: []byte("BAsd7&jh23"), RepeatLen: n}
	return f.payload()
}

// largeMessage sends one message of n bytes (in fragments of frag bytes, or
// written in pieces of chop bytes) and waits up to wait for its echo.
func largeMessage(id, desc string, op Opcode, n, frag, chop int, wait time.Duration) *Case {
	return &Case{
		ID: id, Description: desc,
		Expectation: fmt.Sprintf("The %s message comes back unchanged within %s; then a clean close with code 1000.", kindName(op), wait),
		Run: func(s *Session) {
			payload := payloadOf(op, n)
			s.Wirelog(false)
			s.ReportTime()
			s.SetBehavior(Failed, fmt.Sprintf("No message came back within %s.", wait))
			s.ExpectClose(closeNormal)
			s.OnMessage(func(got Opcode, p []byte) {
				switch {
				case got != op:
					s.SetBehavior(Failed, fmt.Sprintf("Expected a %s message, got a %s one.", kindName(op), kindName(got)))
				case !bytes.Equal(p, payload):
					s.SetBehavior(Failed, fmt.Sprintf("Expected the %d bytes sent, got %d different ones.", n, len(p)))
				default:
					s.SetBehavior(OK, fmt.Sprintf("Received %s message of length %d.", kindName(op), len(p)))
				}
				s.Wirelog(true)
				s.Close(1000)
			})
			if frag > 0 {
				s.sendFragmented(op, payload, frag)
			} else {
				s.SendFrame(Frame{Opcode: op, Fin: true, Payload: payload, Chop: chop})
			}
			s.CloseAfter(wait)
		},
	}
}

// roundTrips sends count messages of n bytes one at a time, each after the
// echo of the previous one.
func roundTrips(id string, op Opcode, count, n int, wait time.Duration) *Case {
	return &Case{
		ID:          id,
		Description: fmt.Sprintf("Send %d %s messages of %d bytes, each after the echo of the previous one, to measure the round-trip time.", count, kindName(op), n),
		Expectation: fmt.Sprintf("Every message comes back unchanged, all within %s; then a clean close with code 1000.", wait),
		Run: func(s *Session) {
			payload := payloadOf(op, n)
			s.Wirelog(false)
			s.ReportTime()
			s.SetBehavior(Failed, fmt.Sprintf("The case did not finish within %s.", wait))
			s.ExpectClose(closeNormal)
			s.echoRounds(op, payload, count, wait, func() { s.Send(op, payload) })
		},
	}
}

// echoRounds sends a message with send, then again each time its echo comes
// back as (op, payload), count times in all, and closes with 1000: OK once
// every echo came back, FAILED at the first that did not. wait is the
// case's time limit.
func (s *Session) echoRounds(op Opcode, payload []byte, count int, wait time.Duration, send func()) {
	sent := 0
	s.OnMessage(func(got Opcode, p []byte) {
		if got != op || !bytes.Equal(p, payload) {
			s.SetBehavior(Failed, fmt.Sprintf("Message %d came back changed.", sent))
			s.Wirelog(true)
			s.Close(1000)
			return
		}
		if sent < count {
			send()
			sent++
			return
		}
		s.SetBehavior(OK, "All messages came back in time.")
		s.Wirelog(true)
		s.Close(1000)
	})
	s.CloseAfter(wait)
	send()
	sent++
}

// cases9 is section 9, limits and performance: large messages, many
// fragments, many small writes and many round trips, at the original's sizes.
func cases9() []*Case {
	var cs []*Case
	sizes := []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20}
	for sub, op := range []Opcode{OpText, OpBinary} {
		for i, n := range sizes {
			wait := 100 * time.Second
			if n <= 256<<10 || (op == OpBinary && n <= 4<<20) {
				wait = 10 * time.Second
			}
			cs = append(cs, largeMessage(fmt.Sprintf("9.%d.%d", sub+1, i+1),
				fmt.Sprintf("Send a %s message of %s bytes.", kindName(op), sizeName(n)), op, n, 0, 0, wait))
		}
	}
	frags := []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	for sub, op := range []Opcode{OpText, OpBinary} {
		for i, f := range frags {
			cs = append(cs, largeMessage(fmt.Sprintf("9.%d.%d", sub+3, i+1),
				fmt.Sprintf("Send a %s message of 4M bytes in fragments of %s bytes.", kindName(op), sizeName(f)),
				op, 4<<20, f, 0, 100*time.Second))
		}
	}
	chops := []int{64, 128, 256, 512, 1024, 2048}
	for sub, op := range []Opcode{OpText, OpBinary} {
		for i, c := range chops {
			cs = append(cs, largeMessage(fmt.Sprintf("9.%d.%d", sub+5, i+1),
				fmt.Sprintf("Send a %s message of 1M bytes, written to the socket in pieces of %d bytes.", kindName(op), c),
				op, 1<<20, 0, c, 1000*time.Second))
		}
	}
	lens := []int{0, 16, 64, 256, 1024, 4096}
	waits := []time.Duration{60, 60, 60, 120, 240, 480}
	for sub, op := range []Opcode{OpText, OpBinary} {
		for i, n := range lens {
			cs = append(cs, roundTrips(fmt.Sprintf("9.%d.%d", sub+7, i+1), op, 1000, n, waits[i]*time.Second))
		}
	}
	return cs
}
