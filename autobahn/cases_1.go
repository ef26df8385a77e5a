package autobahn

import (
	"bytes"
	"fmt"
	"time"
)

// Close expectations shared by many cases.
var (
	// closeNormal: the suite closes with 1000 once it has what it expects,
	// and the peer must complete the closing handshake.
	closeNormal = CloseExpect{ClosedByMe: true, Codes: []int{1000}, RequireClean: true}
	// closeByPeer: the peer must fail the connection with a protocol error;
	// a dropped TCP connection without a close frame is accepted.
	closeByPeer = CloseExpect{ClosedByMe: false, Codes: []int{1002}}
)

// killFor is how long a case waits for an echo of n bytes before failing
// the connection, as the original: 1 s for small messages, 10 s for large.
func killFor(n int) time.Duration {
	if n > 128 {
		return 10 * time.Second
	}
	return time.Second
}

func init() { register(cases1()...) }

// cases1 is section 1, framing: text and binary messages whose lengths sit
// on both sides of the 7-bit, 16-bit and 64-bit length encodings.
func cases1() []*Case {
	type variant struct {
		n    int
		chop int
	}
	variants := []variant{{0, 0}, {125, 0}, {126, 0}, {127, 0}, {128, 0}, {65535, 0}, {65536, 0}, {65536, 997}}
	var cs []*Case
	for sub, kind := range []struct {
		op   Opcode
		name string
		fill byte
	}{{OpText, "text", '*'}, {OpBinary, "binary", 0xfe}} {
		for i, v := range variants {
			payload := bytes.Repeat([]byte{kind.fill}, v.n)
			desc := fmt.Sprintf("Send a %s message with a payload of %d bytes.", kind.name, v.n)
			if v.chop > 0 {
				desc = fmt.Sprintf("Send a %s message with a payload of %d bytes, written to the socket in pieces of %d bytes.", kind.name, v.n, v.chop)
			}
			op, chop := kind.op, v.chop
			cs = append(cs, &Case{
				ID:          fmt.Sprintf("1.%d.%d", sub+1, i+1),
				Description: desc,
				Expectation: fmt.Sprintf("The %s message comes back unchanged; then a clean close with code 1000.", kind.name),
				Run: func(s *Session) {
					s.Expect(OK, Message(op, payload))
					s.ExpectClose(closeNormal)
					s.SendFrame(Frame{Opcode: op, Fin: true, Payload: payload, Chop: chop})
					s.KillAfter(killFor(len(payload)))
				},
			})
		}
	}
	return cs
}
