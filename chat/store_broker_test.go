package chat_test

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/chat/broker"
)

// node is one chat hub on a broker, as cmd/chat runs it; stop shuts the hub down, then closes the broker.
type node struct {
	h *harness
	b *broker.Broker
}

// startNode connects a broker to urls and runs a hub on it. The hub is shut down before the broker
// closes, at the end of the test or at stop.
func startNode(t testing.TB, urls string) *node {
	t.Helper()
	b, err := broker.Connect(broker.Config{URLs: urls, ReconnectWait: 50 * time.Millisecond, Timeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(b.Close) // runs after the harness's shutdown, registered below
	return &node{h: newHarness(t, &chat.Config{Broker: b, Grace: -1}), b: b}
}

func (n *node) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, n.h.hub.Shutdown(ctx))
	n.h.wg.Wait()
	n.b.Close()
}

// joinAs joins room as nick with since and epoch, and returns the socket and the welcome.
func (n *node) joinAs(t testing.TB, room, nick string, since uint64, epoch string) (*fakeSocket, chat.Event) {
	t.Helper()
	f := n.h.connect(1024)
	f.send(t, chat.Event{Type: chat.KindJoin, Room: room, Nick: nick, Since: since, Epoch: epoch})
	w := f.next(t)
	require.Equal(t, chat.KindWelcome, w.Type, "welcome expected, got %+v", w)
	return f, w
}

// say sends text with id and returns the seq of its ack, reading past the broadcasts that come first.
func say(t testing.TB, f *fakeSocket, id, text string) uint64 {
	t.Helper()
	f.send(t, chat.Event{Type: chat.KindSend, ID: id, Text: text})
	for {
		ev := f.next(t)
		require.NotEqual(t, chat.KindError, ev.Type, "send %s refused: %+v", id, ev)
		if ev.Type == chat.KindAck && ev.ID == id {
			return ev.Seq
		}
	}
}

// startEmbedded runs an embedded NATS server on dir at port (0: any) and returns it; the test stops it
// at its end unless it was stopped before.
func startEmbedded(t testing.TB, dir string, port int) *broker.Server {
	t.Helper()
	s, err := broker.StartEmbedded(broker.Options{Dir: dir, Port: port})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

func portOf(t testing.TB, s *broker.Server) int {
	t.Helper()
	u, err := url.Parse(s.ClientURL())
	require.NoError(t, err)
	_, p, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	return port
}

// TestBrokerRestartKeepsHistoryAndEpoch: a chat node and its embedded NATS stop and start again on the
// same directory. The room keeps its epoch and numbering, a client resuming with since gets exactly
// the events it missed, and a resend of an acked id is acked with its first seq and not stored again.
func TestBrokerRestartKeepsHistoryAndEpoch(t *testing.T) {
	dir := t.TempDir()
	ns := startEmbedded(t, dir, 0)
	n := startNode(t, ns.ClientURL())
	ada, w := n.joinAs(t, "r", "ada", 0, "")
	epoch := w.Epoch
	require.NotEmpty(t, epoch)
	joined := ada.nextOf(t, chat.KindJoined)
	require.Equal(t, "ada", joined.Nick)
	seen := say(t, ada, "m1", "one")
	s2 := say(t, ada, "m2", "two")
	s3 := say(t, ada, "m3", "three")
	assert.Equal(t, []uint64{seen + 1, seen + 2}, []uint64{s2, s3}, "the stream numbers sends without gaps")
	n.stop(t)
	ns.Shutdown()

	ns = startEmbedded(t, dir, 0)
	n = startNode(t, ns.ClientURL())
	ada, w = n.joinAs(t, "r", "ada", seen, epoch)
	assert.Equal(t, epoch, w.Epoch, "the epoch outlives a restart")
	assert.Equal(t, s3, w.Seq)
	assert.False(t, w.More)
	var texts []string
	var seqs []uint64
	for _, raw := range w.History {
		ev := decodeEvent(t, raw)
		texts = append(texts, ev.Text)
		seqs = append(seqs, ev.Seq)
	}
	assert.Equal(t, []string{"two", "three"}, texts, "exactly what was missed")
	assert.Equal(t, []uint64{s2, s3}, seqs)

	j := ada.nextOf(t, chat.KindJoined).Seq
	assert.Equal(t, s3+1, j)
	// A resend of an id acked before the restart: acked with the first seq, stored once.
	assert.Equal(t, s2, say(t, ada, "m2", "two"))
	ada.send(t, chat.Event{Type: chat.KindSend, ID: "m4", Text: "four"})
	var got []chat.Event
	for {
		ev := ada.next(t)
		if ev.Type == chat.KindMessage {
			got = append(got, ev)
		}
		if ev.Type == chat.KindAck && ev.ID == "m4" {
			assert.Equal(t, j+1, ev.Seq, "the resend took no seq")
			break
		}
	}
	if len(got) == 0 { // the ack may come before the broadcast
		got = append(got, ada.nextOf(t, chat.KindMessage))
	}
	require.Len(t, got, 1)
	assert.Equal(t, "four", got[0].Text)
	assert.Equal(t, j+1, got[0].Seq)
}
