package autobahn

import (
	"fmt"
	"time"
)

func init() { register(cases3()...) }

// cases3 is section 3, reserved bits: RFC 6455, Section 5.2: "MUST be 0
// unless an extension is negotiated that defines meanings for non-zero values".
func cases3() []*Case {
	hello := []byte("Hello, world!")
	// afterEcho sends an echoable message, a frame with rsv set, and a ping.
	afterEcho := func(id string, rsv uint8, how string, chop int, sync bool) *Case {
		return &Case{
			ID:          id,
			Description: fmt.Sprintf("Send a text message, then the same message with RSV = %d, then a ping%s.", rsv, how),
			Expectation: "The first message comes back; the peer then fails the connection with 1002 at the frame with RSV set, and no pong comes.",
			Run: func(s *Session) {
				s.Expect(OK, Message(OpText, hello))
				s.Expect(NonStrict)
				s.ExpectClose(closeByPeer)
				s.SendFrame(Frame{Opcode: OpText, Fin: true, Payload: hello, Chop: chop, Sync: sync})
				s.SendFrame(Frame{Opcode: OpText, Fin: true, RSV: rsv, Payload: hello, Chop: chop, Sync: sync})
				s.SendFrame(Frame{Opcode: OpPing, Fin: true, Chop: chop, Sync: sync})
				s.KillAfter(time.Second)
			},
		}
	}
	alone := func(id, desc string, op Opcode, rsv uint8, payload []byte) *Case {
		return &Case{
			ID: id, Description: desc,
			Expectation: "The peer fails the connection at once with 1002.",
			Run: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(closeByPeer)
				s.SendFrame(Frame{Opcode: op, Fin: true, RSV: rsv, Payload: payload})
				s.KillAfter(time.Second)
			},
		}
	}
	return []*Case{
		alone("3.1", "Send a short text message with RSV = 1.", OpText, 1, hello),
		afterEcho("3.2", 2, "", 0, false),
		afterEcho("3.3", 3, ", each frame in its own write", 0, true),
		afterEcho("3.4", 4, ", one byte per write", 1, false),
		alone("3.5", "Send a short binary message with RSV = 5.", OpBinary, 5, []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}),
		// The original names this case a ping, but on the wire it sends a
		// binary frame; the suite sends the same bytes.
		alone("3.6", "Send a short binary frame with RSV = 6.", OpBinary, 6, hello),
		alone("3.7", "Send a close frame with RSV = 7.", OpClose, 7, nil),
	}
}
