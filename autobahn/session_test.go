package autobahn_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

func runCases(t *testing.T, url string, patterns ...string) map[string]*autobahn.Result {
	t.Helper()
	cs, err := autobahn.Select(patterns, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := autobahn.RunClient(ctx, url, "peer", cs, nil)
	require.NoError(t, err)
	out := map[string]*autobahn.Result{}
	for _, r := range rep.Results("peer") {
		out[r.ID] = r
	}
	require.Len(t, out, len(cs))
	return out
}

func TestSessionGradesGoodPeer(t *testing.T) {
	url := testPeer{checkUTF8: true}.start(t)
	rs := runCases(t, url, "1.1.1", "1.2.8", "2.5", "2.10", "3.2", "4.2.3", "5.6", "5.9", "6.3.1", "7.3.3", "9.7.1")
	for id, r := range rs {
		assert.Equal(t, autobahn.OK, r.Behavior, "%s: %s", id, r.Result)
		assert.Equal(t, autobahn.OK, r.BehaviorClose, "%s: %s", id, r.ResultClose)
	}
}

// The test peer answers every close with 1000, also an invalid code 0.
func TestSessionGradesWrongCloseCode(t *testing.T) {
	url := testPeer{checkUTF8: true}.start(t)
	r := runCases(t, url, "7.9.1")["7.9.1"]
	assert.Equal(t, autobahn.WrongCode, r.BehaviorClose, r.ResultClose)
	assert.Equal(t, autobahn.Failed, r.Behavior, "section 7 fails the behavior on a wrong code")
	require.NotNil(t, r.RemoteCode)
	assert.Equal(t, 1000, *r.RemoteCode)
}

// A peer that checks UTF-8 only when a message is complete is not fail-fast.
func TestSessionGradesLateUTF8CheckNonStrict(t *testing.T) {
	url := testPeer{checkUTF8: true}.start(t)
	r := runCases(t, url, "6.4.1")["6.4.1"]
	assert.Equal(t, autobahn.NonStrict, r.Behavior, r.Result)
	assert.Equal(t, autobahn.OK, r.BehaviorClose, r.ResultClose)
}

// A peer that echoes invalid UTF-8 fails the behavior and the close: the
// suite itself rejects the echo and closes first.
func TestSessionGradesMissingUTF8CheckFailed(t *testing.T) {
	url := testPeer{}.start(t)
	rs := runCases(t, url, "6.3.1", "6.6.1", "6.5.1")
	for _, id := range []string{"6.3.1", "6.6.1"} {
		assert.Equal(t, autobahn.Failed, rs[id].Behavior, id)
		assert.Equal(t, autobahn.Failed, rs[id].BehaviorClose, id)
		assert.True(t, rs[id].ClosedByMe, id)
		assert.True(t, rs[id].FailedByMe, "%s: the suite fails the connection on invalid UTF-8", id)
	}
	assert.True(t, rs["6.5.1"].Passed(), "valid UTF-8 still passes")
}

// A server that leaves the TCP connection open after the closing handshake
// is graded FAILED BY CLIENT when the case's own timer drops it, UNCLEAN when
// the suite's 1 s wait for the server does: in 7.3.3 both expire about together.
func TestSessionGradesServerKeepingTCP(t *testing.T) {
	url := testPeer{checkUTF8: true, keepTCP: true}.start(t)
	rs := runCases(t, url, "7.3.3", "2.1")
	assert.Equal(t, autobahn.OK, rs["7.3.3"].Behavior)
	assert.Contains(t, []autobahn.Verdict{autobahn.FailedByClient, autobahn.Unclean}, rs["7.3.3"].BehaviorClose, rs["7.3.3"].ResultClose)
	assert.True(t, rs["7.3.3"].DroppedByMe)
	assert.Equal(t, autobahn.Unclean, rs["2.1"].BehaviorClose, rs["2.1"].ResultClose)
	assert.True(t, rs["2.1"].DropTimeout, "the server had 1 s to close the TCP connection")
}

func TestRunClientUnreachable(t *testing.T) {
	addr := freeAddr(t)
	rs := runCases(t, "ws://"+addr+"/", "1.1.1")
	assert.Equal(t, autobahn.Failed, rs["1.1.1"].Behavior)
	assert.Equal(t, autobahn.Failed, rs["1.1.1"].BehaviorClose)
}
