package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// TestRefusedMessageCanBeRetriedEditedOrRemoved: a message the server refuses (here a control character,
// bad_text) shows as failed with the server's reason and offers Retry, Edit and Remove; nothing is lost.
func TestRefusedMessageCanBeRetriedEditedOrRemoved(t *testing.T) {
	px, o, p := adaAndBob(t)

	const bell = "ding\u0007dong"
	p.say(bell)
	p.waitFor(hasFailed)
	refusal := px.refusal(t, chat.ErrCodeBadText)
	box := p.outbox()
	require.Len(t, box, 1)
	assert.Equal(t, bell, box[0].Text)
	assert.Equal(t, "Not sent: "+refusal.Text, box[0].Status, "the server's reason is shown")
	assert.Equal(t, box[0].ID, refusal.ID, "the refusal names the send")
	assert.Equal(t, "OPEN", p.state())

	// Retry sends it again, with the same id, and it is refused again.
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .retry")))
	require.Eventually(t, func() bool { return px.countToPage(`"bad_text"`) == 2 }, step, 20*time.Millisecond)
	p.waitFor(hasFailed)
	sends := px.sentByPage(`"type":"send"`)
	require.Len(t, sends, 2)
	assert.Equal(t, sends[0], sends[1], "a retry is the same send")

	// Edit puts the text back into the box, after what is being written there.
	p.do(chromedp.SetValue(chromedp.ID("input"), "draft"))
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .edit")))
	p.waitFor(noOutbox)
	assert.Equal(t, "draft\n"+bell, p.composer().Input)

	// Remove throws a failed message away.
	p.say(bell)
	p.waitFor(hasFailed)
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .remove")))
	p.waitFor(noOutbox)

	p.say("ding dong")
	p.waitFor(hasMessage("ada", "ding dong"))
	o.once("ada", "ding dong")
	assert.Equal(t, []string{"ding dong"}, o.texts("ada"))
	assert.Equal(t, 1, px.webSockets(), "no reconnect")
}

// TestPendingWhileServerAwayIsDeliveredOnce: a message written while the server cannot be reached shows
// as pending, and after the page reconnects by itself (resuming its session: no left, no joined) it is
// delivered exactly once.
func TestPendingWhileServerAwayIsDeliveredOnce(t *testing.T) {
	px, o, p := adaAndBob(t)
	p.say("before")
	p.waitFor(hasMessage("ada", "before"))

	px.setDown(true)
	px.cutAll()
	p.waitFor(hasNotice("Connection lost (1006"))
	const text = "written while the server was away"
	p.say(text)
	box := p.outbox()
	require.Len(t, box, 1)
	assert.Equal(t, text, box[0].Text)
	assert.Equal(t, "msg mine pending", box[0].Class)
	assert.Equal(t, "waiting for the connection…", box[0].Status)
	time.Sleep(1500 * time.Millisecond) // a retry or two fail meanwhile
	assert.Len(t, p.outbox(), 1, "still pending")
	assert.NotContains(t, o.texts("ada"), text)
	assert.False(t, p.composer().Disabled, "the user can keep writing while the page reconnects")

	px.setDown(false)
	p.waitFor(hasNotice("Reconnected."))
	p.waitFor(hasMessage("ada", text))
	p.waitFor(noOutbox)
	ev := o.once("ada", text)
	assert.Equal(t, []string{"before", text}, p.messages("ada"))
	var seq int
	p.eval(`Number([...document.querySelectorAll("#record .msg")].find(li => li.querySelector(".text").textContent === `+jsString(text)+`).dataset.seq)`, &seq)
	assert.EqualValues(t, ev.Seq, seq, "shown under the number the room gave it")
	o.assertNoMembershipChange("ada")
}

// TestLostAckGivesOneCopy drops the connection after the server recorded a message and before its ack
// reached the page: the page resends it with the same id after reconnecting, the server answers with the
// original number, and there is exactly one copy, in the room and on the page. In the second case the
// broadcast of the message is lost too, so the page learns of it from the history of its welcome.
func TestLostAckGivesOneCopy(t *testing.T) {
	px, o, p := adaAndBob(t)

	cases := []struct {
		name string
		text string
		cut  func(text string) func([]byte) bool
	}{
		{"ack", "the ack of this one is lost", func(string) func([]byte) bool {
			return func(b []byte) bool { return strings.Contains(string(b), `"type":"ack"`) }
		}},
		{"ack-and-broadcast", "this one's ack and broadcast are lost", func(text string) func([]byte) bool {
			return func(b []byte) bool {
				return strings.Contains(string(b), `"type":"ack"`) || strings.Contains(string(b), text)
			}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.t = t
			defer func() { p.t = o.t }()
			px.cutWhen(tc.cut(tc.text))
			p.say(tc.text)
			var sends [][]byte
			require.Eventually(t, func() bool { sends = px.sentByPage(jsString(tc.text)); return len(sends) > 0 },
				step, 10*time.Millisecond, "the page sends it")
			var first chat.Event
			require.NoError(t, json.Unmarshal(sends[0], &first))
			// The connection after the cut must carry the ack of the resend.
			conn := i + 2
			require.Eventually(t, func() bool { return len(px.toPageOn(conn, `"id":`+jsString(first.ID))) > 0 },
				step, 20*time.Millisecond, "the page reconnects and its resend is acknowledged")
			p.waitFor(hasMessage("ada", tc.text))
			p.waitFor(noOutbox)

			ev := o.once("ada", tc.text)
			assert.Equal(t, 1, count(p.messages("ada"), tc.text), "one copy on the page")
			sends = px.sentByPage(jsString(tc.text))
			require.Len(t, sends, 2, "sent, then sent again after the reconnect")
			var again chat.Event
			require.NoError(t, json.Unmarshal(sends[1], &again))
			assert.Equal(t, first.ID, again.ID, "resent with the same id")
			acks := px.toPageMatching(`"id":` + jsString(first.ID))
			require.NotEmpty(t, acks)
			for _, b := range acks {
				var ack chat.Event
				require.NoError(t, json.Unmarshal(b, &ack))
				assert.Equal(t, chat.KindAck, ack.Type)
				assert.Equal(t, ev.Seq, ack.Seq, "every ack carries the original number")
			}
			assert.Equal(t, conn, px.webSockets(), "one reconnect per lost ack")
			assert.Equal(t, "OPEN", p.state())
		})
	}
	o.assertNoMembershipChange("ada")
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestAckBeforeBroadcast holds a message's broadcast back on its way to the sender's page (the server
// sends it before the ack): the ack alone puts the message in place, under its number, and the broadcast,
// once let through, only brings the server's time. One copy either way.
func TestAckBeforeBroadcast(t *testing.T) {
	px, o, p := adaAndBob(t)
	p.say("first")
	p.waitFor(hasMessage("ada", "first"))

	const text = "acknowledged before it was broadcast"
	px.holdWhen(func(b []byte) bool {
		return strings.Contains(string(b), `"type":"message"`) && strings.Contains(string(b), text)
	})
	p.say(text)
	p.waitFor(hasMessage("ada", text))
	p.waitFor(noOutbox)
	ev := o.once("ada", text)
	got := p.messagesFrom("ada")
	require.Len(t, got, 2)
	assert.Equal(t, "first", got[0].Text)
	assert.Equal(t, text, got[1].Text)
	assert.EqualValues(t, ev.Seq, got[1].Seq, "placed under the ack's number")
	assert.Empty(t, got[1].Time, "no time before the broadcast brings it")

	require.True(t, px.release(), "the broadcast was held")
	p.waitFor(`[...document.querySelectorAll("#record .msg")].some(li =>
		li.querySelector(".text").textContent === ` + jsString(text) + ` && li.querySelector("time").dateTime !== "")`)
	got = p.messagesFrom("ada")
	require.Len(t, got, 2, "the broadcast added no copy")
	ts, err := time.Parse(time.RFC3339, got[1].Time)
	require.NoError(t, err)
	assert.True(t, ts.Equal(ev.Time), "the broadcast's time, %v, is shown: got %v", ev.Time, ts)
	assert.EqualValues(t, ev.Seq, got[1].Seq)
}
