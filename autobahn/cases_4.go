package autobahn

import (
	"fmt"
	"time"
)

func init() { register(cases4()...) }

// cases4 is section 4, reserved opcodes: RFC 6455, Section 5.2: "If an
// unknown opcode is received, the receiving endpoint MUST _Fail the
// WebSocket Connection_."
func cases4() []*Case {
	hello := []byte("Hello, world!")
	var cs []*Case
	for sub, group := range []struct {
		first Opcode
		kind  string
	}{{3, "non-control"}, {11, "control"}} {
		for i := range 5 {
			op := group.first + Opcode(i)
			id := fmt.Sprintf("4.%d.%d", sub+1, i+1)
			var payload []byte
			withPayload := ""
			if i == 1 || i >= 3 {
				withPayload = " with a payload"
				payload = hello
				if i == 1 {
					payload = []byte("reserved opcode payload")
				}
			}
			if i < 2 {
				cs = append(cs, &Case{
					ID:          id,
					Description: fmt.Sprintf("Send a frame with the reserved %s opcode %d%s.", group.kind, op, withPayload),
					Expectation: "The peer fails the connection at once with 1002.",
					Run: func(s *Session) {
						s.Expect(OK)
						s.ExpectClose(closeByPeer)
						s.Send(op, payload)
						s.KillAfter(time.Second)
					},
				})
				continue
			}
			chop, how := 0, ""
			if i == 4 {
				chop, how = 1, ", one byte per write"
			}
			cs = append(cs, &Case{
				ID:          id,
				Description: fmt.Sprintf("Send a text message, then a frame with the reserved %s opcode %d%s, then a ping%s.", group.kind, op, withPayload, how),
				Expectation: "The message comes back; the peer then fails the connection with 1002 at the reserved opcode, and no pong comes.",
				Run: func(s *Session) {
					s.Expect(OK, Message(OpText, hello))
					s.Expect(NonStrict)
					s.ExpectClose(closeByPeer)
					s.SendFrame(Frame{Opcode: OpText, Fin: true, Payload: hello, Chop: chop})
					s.SendFrame(Frame{Opcode: op, Fin: true, Payload: payload, Chop: chop})
					s.SendFrame(Frame{Opcode: OpPing, Fin: true, Chop: chop})
					s.KillAfter(time.Second)
				},
			})
		}
	}
	return cs
}
