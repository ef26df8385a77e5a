package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

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
	p.enter()
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
	p.enter()
	p.waitFor(hasMessage("ada", at))
	o.once("ada", at)
	assert.Empty(t, o.texts("ada")[1:], "only the message that fits reached the room")
	assert.Equal(t, "OPEN", p.state())
	assert.False(t, p.composer().Disabled)
}

// TestBurstIsPaced presses Enter 30 times as fast as the browser takes it, far faster than the server's
// rate: the page queues what the limits do not allow yet and sends it at the allowed pace, so every
// message arrives, in order, once, without a disconnect. The pace is checked where it is made: the times
// the page hands each message to its socket must fit the server's token bucket.
func TestBurstIsPaced(t *testing.T) {
	const rate, burst = 10, 5
	browser, srv, px := proxied(t, "-rate", fmt.Sprint(rate), "-burst", fmt.Sprint(burst))
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
		p.say(text)
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

// TestRateLimitedIsWaitedOut makes the page send faster than the server allows (the proxy makes the
// welcome announce far higher limits than the server holds it to): the server refuses with rate_limited,
// the page waits each retry_ms before sending again, and every message is recorded once, without a
// disconnect.
func TestRateLimitedIsWaitedOut(t *testing.T) {
	browser, srv, px := proxied(t, "-rate", "10", "-burst", "3")
	px.announceLimits(func(limits map[string]any) { limits["rate"], limits["burst"] = 1000, 1000 })
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")

	const n = 12
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("fast %02d", i))
	}
	for _, text := range want {
		p.say(text)
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

// TestServerTooLongKeepsText makes the page believe in a larger limit than the server's (the proxy
// rewrites the welcome), so that the server is the one to refuse: too_long, with the connection open,
// shows the message as failed with the server's reason, and Edit gives the text back to the box.
func TestServerTooLongKeepsText(t *testing.T) {
	browser, _, px := proxied(t, "-max-message", "64")
	px.announceLimits(func(limits map[string]any) { limits["max_message"] = 1000 })
	p := openPage(t, browser, px.url("/"))
	p.join("ada")

	long := strings.Repeat("long ", 20) // 100 bytes: over the server's 64, under the 1000 the page was told
	p.say(long)
	p.waitFor(hasFailed)
	refusal := px.refusal(t, chat.ErrCodeTooLong)
	box := p.outbox()
	require.Len(t, box, 1)
	assert.Equal(t, long, box[0].Text)
	assert.Equal(t, "Not sent: "+refusal.Text, box[0].Status)
	assert.Equal(t, "OPEN", p.state(), "a message over the limit does not cost the connection")

	p.do(chromedp.Click(chromedp.CSS("#outbox > li.failed .edit")))
	p.waitFor(noOutbox)
	assert.Equal(t, long, p.composer().Input, "the text is back in the box, to be shortened")
	p.say("short")
	p.waitFor(hasMessage("ada", "short"))
	assert.Equal(t, 1, px.webSockets(), "no reconnect")
}
