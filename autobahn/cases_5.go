package autobahn

import (
	"time"
)

func init() { register(cases5()...) }

// how a group of section 5 cases writes its frames.
type writeMode struct {
	name string
	chop int
	sync bool
}

var (
	oneWrite   = writeMode{"in one write", 0, false}
	frameWise  = writeMode{"each frame in its own write", 0, true}
	octetWise  = writeMode{"one byte per write", 1, false}
	writeModes = []writeMode{oneWrite, frameWise, octetWise}
)

func (m writeMode) frame(op Opcode, fin bool, payload string) Frame {
	return Frame{Opcode: op, Fin: fin, Payload: []byte(payload), Chop: m.chop, Sync: m.sync}
}

// cases5 is section 5, fragmentation (RFC 6455, Section 5.4).
func cases5() []*Case {
	var cs []*Case
	peerFails := func(id, desc, expectation string, frames ...Frame) *Case {
		return &Case{
			ID: id, Description: desc, Expectation: expectation,
			Run: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(closeByPeer)
				for _, f := range frames {
					s.SendFrame(f)
				}
				s.KillAfter(time.Second)
			},
		}
	}
	const controlFragmented = "The peer fails the connection at once with 1002: control frames MUST NOT be fragmented (RFC 6455, Section 5.5)."
	cs = append(cs,
		peerFails("5.1", "Send a ping split into two fragments.", controlFragmented,
			oneWrite.frame(OpPing, false, "fragment1"), oneWrite.frame(OpContinuation, true, "fragment2")),
		peerFails("5.2", "Send a pong split into two fragments.", controlFragmented,
			oneWrite.frame(OpPong, false, "fragment1"), oneWrite.frame(OpContinuation, true, "fragment2")),
	)
	ids := []string{"5.3", "5.4", "5.5"}
	for i, m := range writeModes {
		cs = append(cs, &Case{
			ID:          ids[i],
			Description: "Send a text message in two fragments, " + m.name + ".",
			Expectation: "The whole message comes back; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Message(OpText, []byte("fragment1fragment2")))
				s.ExpectClose(closeNormal)
				s.SendFrame(m.frame(OpText, false, "fragment1"))
				s.SendFrame(m.frame(OpContinuation, true, "fragment2"))
				s.CloseAfter(time.Second)
			},
		})
	}
	ids = []string{"5.6", "5.7", "5.8"}
	for i, m := range writeModes {
		cs = append(cs, &Case{
			ID:          ids[i],
			Description: "Send a text message in two fragments with a ping between them, " + m.name + ".",
			Expectation: "The pong comes first, then the whole message; then a clean close with code 1000 (RFC 6455, Section 5.4: control frames MAY be injected in the middle of a fragmented message).",
			Run: func(s *Session) {
				s.Expect(OK, Pong([]byte("ping payload")), Message(OpText, []byte("fragment1fragment2")))
				s.ExpectClose(closeNormal)
				s.SendFrame(m.frame(OpText, false, "fragment1"))
				s.SendFrame(m.frame(OpPing, true, "ping payload"))
				s.SendFrame(m.frame(OpContinuation, true, "fragment2"))
				s.CloseAfter(time.Second)
			},
		})
	}
	const nothingToContinue = "The peer fails the connection at once with 1002: there is no message to continue."
	for fi, fin := range []bool{true, false} {
		finName := []string{"FIN set", "FIN clear"}[fi]
		for i, m := range writeModes {
			id := []string{"5.9", "5.10", "5.11", "5.12", "5.13", "5.14"}[fi*3+i]
			cs = append(cs, peerFails(id,
				"Send a continuation frame with "+finName+" while no message is in progress, then a text message, "+m.name+".",
				nothingToContinue,
				m.frame(OpContinuation, fin, "non-continuation payload"), m.frame(OpText, true, "Hello, world!")))
		}
	}
	cs = append(cs, &Case{
		ID:          "5.15",
		Description: "Send a text message in two fragments, then a continuation frame with FIN clear that continues nothing, then a text message.",
		Expectation: "The first message comes back; the peer then fails the connection with 1002 at the stray continuation frame.",
		Run: func(s *Session) {
			s.Expect(OK, Message(OpText, []byte("fragment1fragment2")))
			s.Expect(NonStrict)
			s.ExpectClose(closeByPeer)
			s.SendFrame(oneWrite.frame(OpText, false, "fragment1"))
			s.SendFrame(oneWrite.frame(OpContinuation, true, "fragment2"))
			s.SendFrame(oneWrite.frame(OpContinuation, false, "fragment3"))
			s.SendFrame(oneWrite.frame(OpText, true, "fragment4"))
			s.KillAfter(time.Second)
		},
	})
	twice := func(fs ...Frame) []Frame { return append(fs, fs...) }
	cs = append(cs,
		peerFails("5.16", "Twice: a continuation frame with FIN clear that continues nothing, then a text message in two fragments.", nothingToContinue,
			twice(oneWrite.frame(OpContinuation, false, "fragment1"), oneWrite.frame(OpText, false, "fragment2"), oneWrite.frame(OpContinuation, true, "fragment3"))...),
		peerFails("5.17", "Twice: a continuation frame with FIN set that continues nothing, then a text message in two fragments.", nothingToContinue,
			twice(oneWrite.frame(OpContinuation, true, "fragment1"), oneWrite.frame(OpText, false, "fragment2"), oneWrite.frame(OpContinuation, true, "fragment3"))...),
		peerFails("5.18", "Send a text message in two fragments where the second fragment also has the text opcode.",
			"The peer fails the connection at once with 1002: fragments after the first MUST have the continuation opcode.",
			oneWrite.frame(OpText, false, "fragment1"), oneWrite.frame(OpText, true, "fragment2")),
	)
	for i, m := range []writeMode{oneWrite, frameWise} {
		id := []string{"5.19", "5.20"}[i]
		cs = append(cs, &Case{
			ID: id,
			Description: "Send a text message in five fragments: two fragments and a ping, a pause of 1 s, two more fragments, " +
				"another ping, and the last fragment; all legal, " + m.name + ".",
			Expectation: "The first pong arrives during the pause, before the message is complete; then the second pong, then the whole message; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Pong([]byte("pongme 1!")), Pong([]byte("pongme 2!")),
					Message(OpText, []byte("fragment1fragment2fragment3fragment4fragment5")))
				s.ExpectClose(closeNormal)
				s.SendFrame(m.frame(OpText, false, "fragment1"))
				s.SendFrame(m.frame(OpContinuation, false, "fragment2"))
				s.SendFrame(m.frame(OpPing, true, "pongme 1!"))
				s.ContinueLater(time.Second, "", func() {
					s.SendFrame(m.frame(OpContinuation, false, "fragment3"))
					s.SendFrame(m.frame(OpContinuation, false, "fragment4"))
					s.SendFrame(m.frame(OpPing, true, "pongme 2!"))
					s.SendFrame(m.frame(OpContinuation, true, "fragment5"))
					s.CloseAfter(time.Second)
				})
			},
		})
	}
	return cs
}
