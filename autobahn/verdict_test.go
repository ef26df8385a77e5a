package autobahn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"duplex/autobahn"
)

func TestJudge(t *testing.T) {
	echo := []autobahn.Event{autobahn.Message(autobahn.OpText, []byte("hi"))}
	alts := []autobahn.Alternative{{Verdict: autobahn.OK, Events: echo}, {Verdict: autobahn.NonStrict, Events: []autobahn.Event{}}}
	normal := autobahn.CloseExpect{ClosedByMe: true, Codes: []int{1000}, RequireClean: true}
	byPeer := autobahn.CloseExpect{ClosedByMe: false, Codes: []int{1002}}
	utf8Fail := autobahn.CloseExpect{ClosedByMe: false, Codes: []int{1007}, WrongEndpointFatal: true}
	tests := []struct {
		name          string
		ec            autobahn.CloseExpect
		o             autobahn.Outcome
		behavior      autobahn.Verdict
		behaviorClose autobahn.Verdict
	}{
		{"echo-clean", normal, autobahn.Outcome{Received: echo, ClosedByMe: true, WasClean: true, RemoteCloseCode: 1000}, autobahn.OK, autobahn.OK},
		{"alternative-non-strict", byPeer, autobahn.Outcome{Received: nil, WasClean: true, RemoteCloseCode: 1002}, autobahn.NonStrict, autobahn.OK},
		{"no-match", normal, autobahn.Outcome{Received: append(echo, echo...), ClosedByMe: true, WasClean: true, RemoteCloseCode: 1000}, autobahn.Failed, autobahn.OK},
		{"payload-differs", normal, autobahn.Outcome{Received: []autobahn.Event{autobahn.Message(autobahn.OpText, []byte("ho"))}, ClosedByMe: true, WasClean: true}, autobahn.Failed, autobahn.OK},
		{"binary-instead-of-text", normal, autobahn.Outcome{Received: []autobahn.Event{autobahn.Message(autobahn.OpBinary, []byte("hi"))}, ClosedByMe: true, WasClean: true}, autobahn.Failed, autobahn.OK},
		{"wrong-endpoint", byPeer, autobahn.Outcome{ClosedByMe: true, WasClean: true, RemoteCloseCode: 1000}, autobahn.NonStrict, autobahn.Failed},
		{"unclean", normal, autobahn.Outcome{Received: echo, ClosedByMe: true, WasClean: false}, autobahn.OK, autobahn.Unclean},
		{"wrong-code", byPeer, autobahn.Outcome{WasClean: true, RemoteCloseCode: 1000}, autobahn.NonStrict, autobahn.WrongCode},
		{"no-code-is-accepted", byPeer, autobahn.Outcome{WasClean: true}, autobahn.NonStrict, autobahn.OK},
		{"dropped-tcp-accepted-when-not-clean-required", byPeer, autobahn.Outcome{}, autobahn.NonStrict, autobahn.OK},
		{"client-dropped-tcp", byPeer, autobahn.Outcome{WasClean: true, RemoteCloseCode: 1002, DroppedByMe: true}, autobahn.NonStrict, autobahn.FailedByClient},
		{"server-dropped-tcp-is-fine", byPeer, autobahn.Outcome{WasClean: true, RemoteCloseCode: 1002, DroppedByMe: true, IsServer: true}, autobahn.NonStrict, autobahn.OK},
		{"wrong-endpoint-fatal", utf8Fail, autobahn.Outcome{ClosedByMe: true, WasClean: true, RemoteCloseCode: 1007}, autobahn.Failed, autobahn.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := alts
			if tt.ec.WrongEndpointFatal {
				a = []autobahn.Alternative{{Verdict: autobahn.OK, Events: []autobahn.Event{}}}
			}
			j := autobahn.Judge(a, tt.ec, tt.o, autobahn.Failed, "")
			assert.Equal(t, tt.behavior, j.Behavior, "behavior")
			assert.Equal(t, tt.behaviorClose, j.BehaviorClose, "behaviorClose")
		})
	}
}

func TestJudgeKeepsInitialVerdictWithoutAlternatives(t *testing.T) {
	normal := autobahn.CloseExpect{ClosedByMe: true, Codes: []int{1000}, RequireClean: true}
	j := autobahn.Judge(nil, normal, autobahn.Outcome{ClosedByMe: true, WasClean: true}, autobahn.OK, "received")
	assert.Equal(t, autobahn.OK, j.Behavior)
	assert.Equal(t, "received", j.Result)
}

func TestVerdictPassed(t *testing.T) {
	for _, v := range []autobahn.Verdict{autobahn.OK, autobahn.Informational} {
		assert.True(t, v.Passed(), v)
	}
	for _, v := range []autobahn.Verdict{autobahn.NonStrict, autobahn.Unimplemented, autobahn.Failed, autobahn.WrongCode, autobahn.Unclean, autobahn.FailedByClient} {
		assert.False(t, v.Passed(), v)
	}
}
