package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// pending is one entry of the page's outbox, as shown.
type pending struct {
	ID     string `json:"id"`
	Class  string `json:"class"` // "msg mine pending" or "msg mine failed"
	Text   string `json:"text"`
	Status string `json:"status"`
}

func (p *page) outbox() []pending {
	p.t.Helper()
	var out []pending
	p.eval(`[...document.querySelectorAll("#outbox > li")].map(li => ({
		id: li.dataset.id, class: li.className,
		text: li.querySelector(".text").textContent, status: li.querySelector(".status").textContent,
	}))`, &out)
	return out
}

// messages returns the texts of the record's messages from nick, in the order shown.
func (p *page) messages(nick string) []string {
	p.t.Helper()
	var out []string
	for _, e := range p.record() {
		if e.Kind == "msg" && e.Nick == nick {
			out = append(out, e.Text)
		}
	}
	return out
}

// composer is what the page shows around the message box.
type composer struct {
	Input    string `json:"input"`
	Counter  string `json:"counter"`
	Over     bool   `json:"over"`
	Note     string `json:"note"`
	Disabled bool   `json:"disabled"`
}

func (p *page) composer() composer {
	p.t.Helper()
	var c composer
	p.eval(`({input: document.getElementById("input").value, counter: document.getElementById("counter").textContent,
		over: document.getElementById("counter").classList.contains("over"),
		note: document.getElementById("composer-note").textContent, disabled: document.getElementById("input").disabled})`, &c)
	return c
}

// typeText puts text into the message box as typing would: the value, then the input event.
func (p *page) typeText(text string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID("input"), text),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("input").dispatchEvent(new Event("input"))`))
}

// noOutbox is a JavaScript predicate: nothing waits in the outbox.
const noOutbox = `document.querySelectorAll("#outbox > li").length === 0`

// TestOverLimitIsRefusedInPage: the page counts a message in UTF-8 bytes against the limit of the
// server's welcome and refuses one over it with a visible message, keeping the text; the connection
// stays open, and a message of exactly the limit goes.
func TestOverLimitIsRefusedInPage(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0", "-max-message", "64")
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, srv.url("/"))
	p.join("ada")

	over := strings.Repeat("é", 33) // 33 characters but 66 bytes: over the limit by bytes only
	p.typeText(over)
	c := p.composer()
	assert.Equal(t, "66 / 64 B", c.Counter, "the counter counts bytes against the welcome's limit")
	assert.True(t, c.Over)
	assert.Empty(t, c.Note, "no refusal before an attempt to send")
	p.do(chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
	p.waitFor(`document.getElementById("composer-note").textContent !== ""`)
	c = p.composer()
	assert.Equal(t, over, c.Input, "the text stays in the box")
	assert.Contains(t, c.Note, "66 bytes")
	assert.Contains(t, c.Note, "64")
	assert.Empty(t, p.outbox(), "nothing was queued")
	assert.Equal(t, "OPEN", p.state())

	at := strings.Repeat("é", 32) // exactly 64 bytes
	p.typeText(at)
	c = p.composer()
	assert.Equal(t, "64 / 64 B", c.Counter)
	assert.False(t, c.Over)
	assert.Empty(t, c.Note, "the refusal goes once the text fits")
	p.do(chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
	p.waitFor(hasMessage("ada", at))
	o.once("ada", at)
	assert.Empty(t, o.texts("ada")[1:], "only the message that fits reached the room")
	assert.Equal(t, "OPEN", p.state())
	assert.False(t, p.composer().Disabled)
}

// TestRefusedMessageCanBeRetriedEditedOrRemoved: a message the server refuses (here a control character,
// bad_text) shows as failed with the server's reason and offers Retry, Edit and Remove; nothing is lost.
func TestRefusedMessageCanBeRetriedEditedOrRemoved(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	px := startProxy(t, srv.addr)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")

	const bell = "ding\u0007dong"
	p.say(bell)
	p.waitFor(`document.querySelector("#outbox > li.failed") !== null`)
	refusals := px.toPageMatching(`"bad_text"`)
	require.Len(t, refusals, 1)
	var refusal chat.Event
	require.NoError(t, json.Unmarshal(refusals[0], &refusal))
	box := p.outbox()
	require.Len(t, box, 1)
	assert.Equal(t, bell, box[0].Text)
	assert.Equal(t, "Not sent: "+refusal.Text, box[0].Status, "the server's reason is shown")
	assert.Equal(t, box[0].ID, refusal.ID, "the refusal names the send")
	assert.Equal(t, "OPEN", p.state())

	// Retry sends it again, with the same id, and it is refused again.
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .retry")))
	require.Eventually(t, func() bool { return px.countToPage(`"bad_text"`) == 2 }, step, 20*time.Millisecond)
	p.waitFor(`document.querySelector("#outbox > li.failed") !== null`)
	sends := px.sentByPage(`"type":"send"`)
	require.Len(t, sends, 2)
	assert.Equal(t, sends[0], sends[1], "a retry is the same send")

	// Edit puts the text back into the box, after what is being written there.
	p.do(chromedp.SetValue(chromedp.ID("input"), "draft"))
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .edit")))
	p.waitFor(noOutbox)
	assert.Equal(t, "draft\n"+bell, p.composer().Input)

	// Remove throws a failed message away.
	p.do(chromedp.SetValue(chromedp.ID("input"), bell), chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
	p.waitFor(`document.querySelector("#outbox > li.failed") !== null`)
	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .remove")))
	p.waitFor(noOutbox)

	p.say("ding dong")
	p.waitFor(hasMessage("ada", "ding dong"))
	o.once("ada", "ding dong")
	assert.Equal(t, []string{"ding dong"}, o.texts("ada"))
	assert.Equal(t, 1, px.webSockets(), "no reconnect")
}

// TestBurstIsPaced presses Enter 30 times as fast as the browser takes it, far faster than the server's
// rate: the page queues what the limits do not allow yet and sends it at the allowed pace, so every
// message arrives, in order, once, without a disconnect. The pace is checked where it is made: the times
// the page hands each message to its socket must fit the server's token bucket.
func TestBurstIsPaced(t *testing.T) {
	browser := newBrowser(t)
	const rate, burst = 10, 5
	srv := startServer(t, "127.0.0.1:0", "-rate", fmt.Sprint(rate), "-burst", fmt.Sprint(burst))
	px := startProxy(t, srv.addr)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	// The time of every join and send the page makes, by the page's clock.
	p.do(chromedp.Evaluate[chromedp.Void](`window.__sent = [];
		const send = WebSocket.prototype.send;
		WebSocket.prototype.send = function (data) {
			const m = JSON.parse(data);
			if (m.type === "join" || m.type === "send") window.__sent.push(performance.now());
			return send.call(this, data);
		}`))
	p.join("ada")
	p.do(chromedp.Evaluate[chromedp.Void](`window.__most = 0;
		new MutationObserver(() => {
			window.__most = Math.max(window.__most, document.querySelectorAll("#outbox > li").length);
		}).observe(document.getElementById("outbox"), { childList: true })`))

	const n = 30
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("burst %02d", i))
	}
	start := time.Now()
	for _, text := range want {
		p.do(chromedp.SetValue(chromedp.ID("input"), text), chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
	}
	typed := time.Since(start)
	p.waitFor(noOutbox)
	p.waitFor(hasMessage("ada", want[n-1]))
	elapsed := time.Since(start)

	assert.Equal(t, want, p.messages("ada"), "the page shows each once, in order")
	o.sync()
	assert.Equal(t, want, o.texts("ada"), "the room recorded each once, in order")
	assert.Equal(t, 1, px.webSockets(), "no reconnect")
	assert.Equal(t, "OPEN", p.state())
	var most int
	p.eval(`window.__most`, &most)
	assert.Greater(t, most, 5, "more than a burst waited in the outbox at once (typed in %v)", typed)
	// 25 messages past the burst at 10 a second take 2.5 s at least.
	assert.Greater(t, elapsed, 2*time.Second, "sent at the allowed pace")

	// The server's bucket, replayed over the page's times: full at the join, which takes a token like
	// every message (a thousandth of a token spare for the clock's grain).
	var sent []float64
	p.eval(`window.__sent`, &sent)
	require.GreaterOrEqual(t, len(sent), n+1, "the join and each message")
	tokens, last := float64(burst), sent[0]
	for i, at := range sent {
		tokens = min(burst, tokens+(at-last)/1000*rate)
		last = at
		require.GreaterOrEqual(t, tokens, 1-1e-3, "send %d at %.1f ms had no token", i, at-sent[0])
		tokens--
	}
	// The page's pace is kept; the network may still bunch two on the way, which the server refuses
	// and the page sends again (TestRateLimitedIsWaitedOut).
	t.Logf("rate_limited refusals on the way: %d", px.countToPage(`"rate_limited"`))
}

// TestPendingWhileServerAwayIsDeliveredOnce: a message written while the server cannot be reached shows
// as pending, and after the page reconnects by itself (resuming its session: no left, no joined) it is
// delivered exactly once.
func TestPendingWhileServerAwayIsDeliveredOnce(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	px := startProxy(t, srv.addr)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")
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
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	px := startProxy(t, srv.addr)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")

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
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	px := startProxy(t, srv.addr)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")
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
	mine := func() []entry {
		var out []entry
		for _, e := range p.record() {
			if e.Kind == "msg" && e.Nick == "ada" {
				out = append(out, e)
			}
		}
		return out
	}
	got := mine()
	require.Len(t, got, 2)
	assert.Equal(t, "first", got[0].Text)
	assert.Equal(t, text, got[1].Text)
	assert.EqualValues(t, ev.Seq, got[1].Seq, "placed under the ack's number")
	assert.Empty(t, got[1].Time, "no time before the broadcast brings it")

	require.True(t, px.release(), "the broadcast was held")
	p.waitFor(`[...document.querySelectorAll("#record .msg")].some(li =>
		li.querySelector(".text").textContent === ` + jsString(text) + ` && li.querySelector("time").dateTime !== "")`)
	got = mine()
	require.Len(t, got, 2, "the broadcast added no copy")
	ts, err := time.Parse(time.RFC3339, got[1].Time)
	require.NoError(t, err)
	assert.True(t, ts.Equal(ev.Time), "the broadcast's time, %v, is shown: got %v", ev.Time, ts)
	assert.EqualValues(t, ev.Seq, got[1].Seq)
}

// TestRateLimitedIsWaitedOut makes the page send faster than the server allows (the proxy makes the
// welcome announce far higher limits than the server holds it to): the server refuses with rate_limited,
// the page waits each retry_ms before sending again, and every message is recorded once, without a
// disconnect.
func TestRateLimitedIsWaitedOut(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0", "-rate", "10", "-burst", "3")
	px := startProxy(t, srv.addr)
	px.rewriteWith(func(b []byte) []byte {
		var ev map[string]any
		if !strings.Contains(string(b), `"type":"welcome"`) || json.Unmarshal(b, &ev) != nil {
			return b
		}
		if limits, ok := ev["limits"].(map[string]any); ok {
			limits["rate"], limits["burst"] = 1000, 1000
		}
		out, err := json.Marshal(ev)
		if err != nil {
			return b
		}
		return out
	})
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")

	const n = 12
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("fast %02d", i))
	}
	for _, text := range want {
		p.do(chromedp.SetValue(chromedp.ID("input"), text), chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
	}
	p.waitFor(noOutbox)
	o.sync()
	got := o.texts("ada")
	assert.ElementsMatch(t, want, got, "each recorded once")
	assert.Equal(t, got, p.messages("ada"), "the page shows them once, in the room's order")
	assert.Equal(t, 1, px.webSockets(), "no disconnect")
	assert.Equal(t, "OPEN", p.state())

	toPage, toServer := px.timeline()
	refusals := 0
	for _, m := range toPage {
		var ev chat.Event
		if json.Unmarshal(m.payload, &ev) != nil || ev.Code != chat.ErrCodeRateLimited {
			continue
		}
		refusals++
		require.Positive(t, ev.RetryMS)
		// The page's next send of that message comes no sooner than the server said (a few ms spare for
		// the way from the server to the proxy).
		earliest := m.at.Add(time.Duration(ev.RetryMS)*time.Millisecond - 5*time.Millisecond)
		for _, s := range toServer {
			var send chat.Event
			if s.at.After(m.at) && json.Unmarshal(s.payload, &send) == nil && send.ID == ev.ID {
				assert.False(t, s.at.Before(earliest), "%s resent %v after its refusal; retry_ms was %d",
					ev.ID, s.at.Sub(m.at), ev.RetryMS)
				break
			}
		}
	}
	assert.Positive(t, refusals, "the server refused some: the path was taken")
}
