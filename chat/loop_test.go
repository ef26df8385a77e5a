package chat_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
)

// testLoop, while TestServerInLoop runs, is the Loop startServer's servers put their connections in.
// The package's tests run one at a time (none is parallel), so a variable is enough.
var testLoop *conn.Loop

// withTestLoop returns cfg with the connections served by testLoop, when one is set.
func withTestLoop(cfg *chat.Config) *chat.Config {
	if testLoop == nil {
		return cfg
	}
	c := chat.Config{}
	if cfg != nil {
		c = *cfg
	}
	c.Loop = testLoop
	return &c
}

// TestServerInLoop runs the server's tests over real sockets again with every connection in a conn.Loop
// (Config.Loop), readiness-driven: the chat must behave the same when no goroutine reads a member.
func TestServerInLoop(t *testing.T) {
	l, err := conn.NewLoop(nil)
	require.NoError(t, err)
	if runtime.GOOS == "linux" {
		require.True(t, l.Readiness(), "the loop watches its sockets with epoll")
	}
	testLoop = l
	t.Cleanup(func() {
		testLoop = nil
		require.NoError(t, l.Close())
	})
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"chat", TestServerChatOverWebSocket},
		{"limits", TestServerLimits},
		{"shutdown", TestServerShutdownSaysGoingAway},
		{"stalled-reader", TestServerStalledReaderOverTCP},
		{"keepalive", TestServerKeepaliveRemovesSilentMember},
	} {
		t.Run(tc.name, tc.test)
	}
}
