package autobahn

import (
	"bytes"
	"fmt"
	"time"
)

func init() { register(cases7()...) }

// wrongCodeFails is the section 7 rule: a close code the case did not
// expect fails the behavior too, since the close is what these cases test.
func wrongCodeFails(r *Result) {
	if r.BehaviorClose == WrongCode {
		r.Behavior = Failed
		r.Result = r.ResultClose
	}
}

// informational grades a case INFORMATIONAL whatever happened: the RFC
// leaves its outcome to the implementation.
func informational(note func(r *Result)) func(r *Result) {
	return func(r *Result) {
		if note != nil {
			note(r)
		}
		r.Behavior, r.BehaviorClose = Informational, Informational
	}
}

// closeCase sends a close frame with payload at once, and expects the
// connection to end as ec says.
func closeCase(id, desc, expectation string, payload []byte, ec CloseExpect) *Case {
	return &Case{
		ID: id, Description: desc, Expectation: expectation, Judge: wrongCodeFails,
		Run: func(s *Session) {
			s.SuppressClose()
			s.Expect(OK)
			s.ExpectClose(ec)
			s.CloseFrame(payload)
			s.KillAfter(time.Second)
		},
	}
}

// cases7 is section 7, the closing handshake (RFC 6455, Sections 5.5.1, 7).
func cases7() []*Case {
	helloWorld := []byte("Hello World!")
	cleanOrDrop := CloseExpect{ClosedByMe: true, Codes: []int{1002}}
	afterClose := func(id, desc, expectation string, after Frame) *Case {
		return &Case{
			ID: id, Description: desc, Expectation: expectation, Judge: wrongCodeFails,
			Run: func(s *Session) {
				s.SuppressClose()
				s.Expect(OK)
				s.ExpectClose(closeNormal)
				s.Close(1000)
				s.SendFrame(after)
				s.KillAfter(time.Second)
			},
		}
	}
	cs := []*Case{
		{
			ID: "7.1.1", Description: "Send a text message; close once it is echoed.",
			Expectation: "The message comes back; then a clean close with code 1000.", Judge: wrongCodeFails,
			Run: func(s *Session) {
				s.Expect(OK, Message(OpText, helloWorld))
				s.ExpectClose(closeNormal)
				s.Send(OpText, helloWorld)
				s.KillAfter(time.Second)
			},
		},
		afterClose("7.1.2", "Send a close frame, then a second, empty one.",
			"A clean close with code 1000; the second close frame is ignored.", Frame{Opcode: OpClose, Fin: true}),
		afterClose("7.1.3", "Send a close frame, then a ping.",
			"A clean close with code 1000; no pong (RFC 6455, Section 5.5.1: nothing may follow a close frame).", Frame{Opcode: OpPing, Fin: true}),
		afterClose("7.1.4", "Send a close frame, then a text message.",
			"A clean close with code 1000; the message is ignored.", Frame{Opcode: OpText, Fin: true, Payload: helloWorld}),
		{
			ID: "7.1.5", Description: "Send the first fragment of a text message, a close frame, then the last fragment.",
			Expectation: "A clean close with code 1000; nothing comes back.", Judge: wrongCodeFails,
			Run: func(s *Session) {
				s.SuppressClose()
				s.Expect(OK)
				s.ExpectClose(closeNormal)
				s.SendFrame(Frame{Opcode: OpText, Payload: []byte("fragment1")})
				s.Close(1000)
				s.SendFrame(Frame{Opcode: OpContinuation, Fin: true, Payload: []byte("fragment2")})
				s.KillAfter(time.Second)
			},
		},
		{
			ID:          "7.1.6",
			Description: "Send a text message of 256 KiB, a short text message, a close frame and a ping, back to back.",
			Expectation: "Graded INFORMATIONAL: whether the short message comes back before the close depends on how the peer processes a close that arrives while it is still writing.",
			Judge: informational(func(r *Result) {
				switch r.Behavior {
				case OK:
					r.Result = "The text message was processed before the close."
				case NonStrict:
					r.Result = "The close was processed before the text message could come back."
				}
			}),
			Run: func(s *Session) {
				s.SuppressClose()
				s.Expect(OK, Message(OpText, helloWorld))
				s.Expect(NonStrict)
				s.ExpectClose(closeNormal)
				s.SendFrame(Frame{Opcode: OpText, Fin: true, Payload: []byte("BAsd7&jh23"), RepeatLen: 256 << 10})
				s.Send(OpText, helloWorld)
				s.Close(1000)
				s.Send(OpPing, nil)
				s.KillAfter(time.Second)
			},
		},
		closeCase("7.3.1", "Send a close frame with an empty payload: no code, no reason.",
			"A clean close with code 1000 (or no code).", nil, closeNormal),
		closeCase("7.3.2", "Send a close frame with a payload of 1 byte, too short for a code.",
			"The peer closes with 1002, or drops the TCP connection.", []byte("a"), cleanOrDrop),
		closeCase("7.3.3", "Send a close frame with code 1000 and no reason.",
			"A clean close with code 1000.", ClosePayload(1000, nil), closeNormal),
		closeCase("7.3.4", "Send a close frame with code 1000 and a reason.",
			"A clean close with code 1000.", ClosePayload(1000, helloWorld), closeNormal),
		closeCase("7.3.5", "Send a close frame with code 1000 and a reason of 123 bytes, the longest that fits.",
			"A clean close with code 1000.", ClosePayload(1000, bytes.Repeat([]byte{'*'}, 123)), closeNormal),
		closeCase("7.3.6", "Send a close frame with code 1000 and a reason of 124 bytes: a control frame of 126 bytes.",
			"The peer closes with 1002, or drops the TCP connection.", ClosePayload(1000, bytes.Repeat([]byte{'*'}, 124)), cleanOrDrop),
		closeCase("7.5.1", "Send a close frame with code 1000 and a reason that is not valid UTF-8.",
			"The peer closes with 1002 or 1007, or drops the TCP connection.",
			ClosePayload(1000, mustHex("cebae1bdb9cf83cebcceb5eda080656469746564")),
			CloseExpect{ClosedByMe: true, Codes: []int{1002, 1007}}),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, closeCase(fmt.Sprintf("7.7.%d", i+1),
			fmt.Sprintf("Send a close frame with the valid code %d.", code),
			"A clean close, with code 1000 or the same code.",
			ClosePayload(code, nil), CloseExpect{ClosedByMe: true, Codes: []int{1000, code}, RequireClean: true}))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, closeCase(fmt.Sprintf("7.9.%d", i+1),
			fmt.Sprintf("Send a close frame with the invalid code %d.", code),
			"The peer closes with 1002, or drops the TCP connection (RFC 6455, Section 7.4: the code is not one an endpoint may send).",
			ClosePayload(code, nil), cleanOrDrop))
	}
	for i, code := range []int{5000, 65535} {
		c := closeCase(fmt.Sprintf("7.13.%d", i+1),
			fmt.Sprintf("Send a close frame with the code %d, outside every range the RFC defines.", code),
			"Graded INFORMATIONAL: the RFC does not say what to do with such a code.",
			ClosePayload(code, nil), CloseExpect{ClosedByMe: true, Codes: []int{1000, code, 1002}})
		c.Judge = informational(func(r *Result) { r.Result = "The RFC leaves the outcome undefined." })
		cs = append(cs, c)
	}
	return cs
}
