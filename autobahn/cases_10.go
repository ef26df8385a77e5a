package autobahn

import (
	"bytes"
	"time"
)

func init() { register(cases10()...) }

// cases10 is section 10, a message the sender fragments itself.
func cases10() []*Case {
	return []*Case{{
		ID:          "10.1.1",
		Description: "Send a text message of 65536 bytes split into fragments of 1300 bytes.",
		Expectation: "The whole message comes back; then a clean close with code 1000.",
		Run: func(s *Session) {
			payload := bytes.Repeat([]byte{'*'}, 65536)
			s.Expect(OK, Message(OpText, payload))
			s.ExpectClose(closeNormal)
			s.sendFragmented(OpText, payload, 1300)
			s.KillAfter(10 * time.Second)
		},
	}}
}

// sendFragmented sends payload as a message of fragments of size bytes.
func (s *Session) sendFragmented(op Opcode, payload []byte, size int) {
	first := true
	for {
		n := min(size, len(payload))
		frameOp := OpContinuation
		if first {
			frameOp = op
		}
		s.SendFrame(Frame{Opcode: frameOp, Fin: n == len(payload), Payload: payload[:n]})
		payload, first = payload[n:], false
		if len(payload) == 0 {
			return
		}
	}
}
