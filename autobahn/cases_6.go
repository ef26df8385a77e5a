package autobahn

import (
	"encoding/hex"
	"fmt"
	"time"
)

func init() { register(cases6()...) }

// closeInvalidUTF8: the peer must fail the connection with 1007 (RFC 6455,
// Section 8.1: "When an endpoint is to interpret a byte stream as UTF-8 but
// finds that the byte stream is not, in fact, a valid UTF-8 stream, that
// endpoint MUST _Fail the WebSocket Connection_"). The suite closing first
// means the peer missed it, which fails the behavior too.
var closeInvalidUTF8 = CloseExpect{ClosedByMe: false, Codes: []int{1007}, WrongEndpointFatal: true}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("autobahn: bad test vector " + s)
	}
	return b
}

// cases6 is section 6, UTF-8 in text messages.
func cases6() []*Case {
	hello := []byte("Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!")
	kosme := mustHex("cebae1bdb9cf83cebcceb5")
	bad := mustHex("cebae1bdb9cf83cebcceb5eda080656469746564")
	echoFrames := func(id, desc string, msg []byte, parts ...[]byte) *Case {
		return &Case{
			ID: id, Description: desc,
			Expectation: "The whole message comes back; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Message(OpText, msg))
				s.ExpectClose(closeNormal)
				sendParts(s, parts)
				s.CloseAfter(time.Second)
			},
		}
	}
	cs := []*Case{
		echoFrames("6.1.1", "Send an empty text message.", []byte{}, []byte{}),
		echoFrames("6.1.2", "Send an empty text message as three empty fragments.", []byte{}, []byte{}, []byte{}, []byte{}),
		echoFrames("6.1.3", "Send a text message as three fragments of which only the middle one is not empty.",
			[]byte("middle frame payload"), []byte{}, []byte("middle frame payload"), []byte{}),
		echoFrames("6.2.1", "Send a valid UTF-8 text message in one frame; payload 0x"+hex.EncodeToString(hello)+".", hello, hello),
		echoFrames("6.2.2", "Send a valid UTF-8 text message in two fragments split between characters.",
			hello, hello[:15], hello[15:]),
		echoFrames("6.2.3", "Send a valid UTF-8 text message in fragments of one byte, so most fragments end inside a character.",
			hello, bytesOf(hello)...),
		echoFrames("6.2.4", "Send the valid UTF-8 text 0x"+hex.EncodeToString(kosme)+" in fragments of one byte, so most fragments end inside a character.",
			kosme, bytesOf(kosme)...),
		invalidUTF8("6.3.1", "Send the invalid UTF-8 text 0x"+hex.EncodeToString(bad)+" in one frame.", [][]byte{bad}),
		invalidUTF8("6.3.2", "Send the invalid UTF-8 text 0x"+hex.EncodeToString(bad)+" in fragments of one byte.", bytesOf(bad)),
	}
	cs = append(cs, failFastCases()...)
	for _, v := range utf8Vectors {
		payload := mustHex(v.hex)
		if !v.valid {
			cs = append(cs, &Case{
				ID:          v.id,
				Description: "Send a text message in one frame whose payload 0x" + v.hex + " is not valid UTF-8.",
				Expectation: "The peer fails the connection with 1007.",
				Run: func(s *Session) {
					s.Expect(OK)
					s.ExpectClose(closeInvalidUTF8)
					s.Send(OpText, payload)
					s.KillAfter(500 * time.Millisecond)
				},
			})
			continue
		}
		cs = append(cs, &Case{
			ID:          v.id,
			Description: "Send a text message in one frame whose payload 0x" + v.hex + " is valid UTF-8.",
			Expectation: "The message comes back unchanged; then a clean close with code 1000.",
			Run: func(s *Session) {
				s.Expect(OK, Message(OpText, payload))
				s.ExpectClose(closeNormal)
				s.Send(OpText, payload)
				s.KillAfter(500 * time.Millisecond)
			},
		})
	}
	return cs
}

// sendParts sends parts as the fragments of one text message.
func sendParts(s *Session, parts [][]byte) {
	for i, p := range parts {
		op := OpContinuation
		if i == 0 {
			op = OpText
		}
		s.SendFrame(Frame{Opcode: op, Fin: i == len(parts)-1, Payload: p})
	}
}

// bytesOf splits b into fragments of one byte, then an empty final
// fragment, as the original sends them.
func bytesOf(b []byte) [][]byte {
	parts := make([][]byte, len(b), len(b)+1)
	for i := range b {
		parts[i] = b[i : i+1]
	}
	return append(parts, []byte{})
}

func invalidUTF8(id, desc string, parts [][]byte) *Case {
	return &Case{
		ID: id, Description: desc,
		Expectation: "The peer fails the connection with 1007.",
		Run: func(s *Session) {
			s.Expect(OK)
			s.ExpectClose(closeInvalidUTF8)
			sendParts(s, parts)
			s.KillAfter(time.Second)
		},
	}
}

// failFastCases are 6.4.1-6.4.4: a message that becomes invalid UTF-8 in
// its second part, sent in three parts 1 s apart. A peer that validates as
// bytes arrive fails the connection before the third part (OK); one that
// validates whole messages fails it only at the end (NON-STRICT).
func failFastCases() []*Case {
	type split struct{ p1, p2, p3 string }
	atCodePoint := split{"cebae1bdb9cf83cebcceb5", "f4908080", "656469746564"}
	atByte := split{"cebae1bdb9cf83cebcceb5f4", "90", "8080656469746564"}
	atByteNoRest := split{"cebae1bdb9cf83cebcceb5f4", "90", ""}
	mk := func(id string, sp split, oneFrame bool) *Case {
		p1, p2, p3 := mustHex(sp.p1), mustHex(sp.p2), mustHex(sp.p3)
		unit := "frames"
		if oneFrame {
			unit = "parts of a single frame"
		}
		return &Case{
			ID: id,
			Description: fmt.Sprintf("Send a text message in three %s, 1 s apart: 0x%s (valid), 0x%s (makes the text invalid), 0x%s.",
				unit, sp.p1, sp.p2, sp.p3),
			Expectation: "The peer accepts the first part and fails the connection with 1007 as soon as the second part arrives, before the third (OK); failing only after the third part is NON-STRICT.",
			Run: func(s *Session) {
				s.Expect(OK, Timeout("A"))
				s.Expect(NonStrict, Timeout("A"), Timeout("B"))
				s.ExpectClose(closeInvalidUTF8)
				if oneFrame {
					s.BeginFrame(OpText, false, len(p1)+len(p2)+len(p3))
					s.FrameData(p1)
				} else {
					s.SendFrame(Frame{Opcode: OpText, Payload: p1})
				}
				s.ContinueLater(time.Second, "A", func() {
					if !s.Open() {
						return
					}
					s.Record(Timeout("A"))
					if oneFrame {
						s.FrameData(p2)
					} else {
						s.SendFrame(Frame{Opcode: OpContinuation, Payload: p2})
					}
					s.ContinueLater(time.Second, "B", func() {
						if !s.Open() {
							return
						}
						s.Record(Timeout("B"))
						if oneFrame {
							s.FrameData(p3)
							s.Send(OpContinuation, nil)
						} else {
							s.SendFrame(Frame{Opcode: OpContinuation, Fin: true, Payload: p3})
						}
						s.KillAfter(time.Second)
					})
				})
			},
		}
	}
	return []*Case{
		mk("6.4.1", atCodePoint, false),
		mk("6.4.2", atByte, false),
		mk("6.4.3", atCodePoint, true),
		mk("6.4.4", atByteNoRest, true),
	}
}
