package autobahn

import (
	"bytes"
	"fmt"
	"time"
)

func init() { register(cases2()...) }

// cases2 is section 2, pings and pongs (RFC 6455, Section 5.5.2 and 5.5.3).
func cases2() []*Case {
	fe := func(n int) []byte { return bytes.Repeat([]byte{0xfe}, n) }
	binary := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	pingEcho := func(id, desc string, payload []byte, chop int, wait time.Duration) *Case {
		return &Case{
			ID: id, Description: desc,
			Expectation: "A pong with the same payload answers the ping; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Pong(payload))
				s.ExpectClose(closeNormal)
				s.SendFrame(Frame{Opcode: OpPing, Fin: true, Payload: payload, Chop: chop})
				s.CloseAfter(wait)
			},
		}
	}
	unsolicited := func(id, desc string, payload []byte) *Case {
		return &Case{
			ID: id, Description: desc,
			Expectation: "Nothing comes back for the pong; a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(closeNormal)
				s.Send(OpPong, payload)
				s.Close(1000)
				s.CloseAfter(time.Second)
			},
		}
	}
	tenPings := func(id, desc string, chop int) *Case {
		return &Case{
			ID: id, Description: desc,
			Expectation: "Ten pongs come back, in order, with the payloads of the pings (the RFC requires an answer only to the latest ping, the suite asks for all); then a clean close with code 1000.",
			Run: func(s *Session) {
				var pongs []Event
				for i := range 10 {
					p := fmt.Appendf(nil, "payload-%d", i)
					pongs = append(pongs, Pong(p))
					s.SendFrame(Frame{Opcode: OpPing, Fin: true, Payload: p, Chop: chop})
				}
				s.Expect(OK, pongs...)
				s.ExpectClose(closeNormal)
				s.CloseAfter(3 * time.Second)
			},
		}
	}
	return []*Case{
		pingEcho("2.1", "Send a ping with an empty payload.", []byte{}, 0, time.Second),
		pingEcho("2.2", "Send a ping with a short text payload.", []byte("Hello, world!"), 0, time.Second),
		pingEcho("2.3", "Send a ping with a short payload that is not UTF-8.", binary, 0, time.Second),
		pingEcho("2.4", "Send a ping with a binary payload of 125 bytes, the largest a control frame may carry.", fe(125), 0, time.Second),
		{
			ID:          "2.5",
			Description: "Send a ping with a binary payload of 126 bytes, one more than a control frame may carry.",
			Expectation: "The peer fails the connection at once with 1002 (RFC 6455, Section 5.5: control frame payloads are at most 125 bytes).",
			Run: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(closeByPeer)
				s.Send(OpPing, fe(126))
				s.KillAfter(time.Second)
			},
		},
		pingEcho("2.6", "Send a ping with a binary payload of 125 bytes, one byte per write.", fe(125), 1, 2*time.Second),
		unsolicited("2.7", "Send a pong nobody asked for, with an empty payload, then close.", []byte{}),
		unsolicited("2.8", "Send a pong nobody asked for, with a payload, then close.", []byte("unsolicited pong payload")),
		{
			ID:          "2.9",
			Description: "Send a pong nobody asked for, then a ping with a payload.",
			Expectation: "Only the ping is answered, by a pong with its payload; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Pong([]byte("ping payload")))
				s.ExpectClose(closeNormal)
				s.Send(OpPong, []byte("unsolicited pong payload"))
				s.Send(OpPing, []byte("ping payload"))
				s.CloseAfter(time.Second)
			},
		},
		tenPings("2.10", "Send ten pings with distinct payloads, back to back.", 0),
		tenPings("2.11", "Send ten pings with distinct payloads, back to back, one byte per write.", 1),
	}
}
