package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
)

// TestTwoUsersChat has two users, each in a browser context of their own, join one room, see each other
// arrive, talk both ways, and see one of them leave.
func TestTwoUsersChat(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	start := time.Now().Add(-time.Second)

	ada := openPage(t, browser, srv.url("/?room=demo"))
	ada.join("ada")
	bob := openPage(t, browser, srv.url("/?room=demo"))
	bob.join("bob")

	ada.waitFor(hasNotice("bob joined"))
	ada.waitFor(`document.querySelectorAll("#users li").length === 2`)
	assert.Equal(t, []string{"ada", "bob"}, ada.users())
	assert.Equal(t, []string{"ada", "bob"}, bob.users())
	bob.waitFor(hasNotice("ada joined")) // from the history a newcomer receives
	var title string
	ada.eval(`document.getElementById("title").textContent`, &title)
	assert.Equal(t, "#demo", title)

	ada.say("Hi Bob! Did the deploy go out?")
	bob.waitFor(hasMessage("ada", "Hi Bob! Did the deploy go out?"))
	// bob answers with the Send button, on two lines (Shift+Enter).
	bob.do(
		chromedp.SendKeys(chromedp.ID("input"), "Yes, ten minutes ago."),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.SendKeys(chromedp.ID("input"), "Metrics look calm."),
		chromedp.Click(chromedp.ID("send")),
	)
	ada.waitFor(hasMessage("bob", "Yes, ten minutes ago.\nMetrics look calm."))
	ada.say("Great, thanks! Grüße ✓")
	for _, p := range []*page{ada, bob} {
		p.waitFor(hasMessage("ada", "Great, thanks! Grüße ✓"))
		// A sender's own message may be placed by its ack before its broadcast brings the server's
		// time (the ack carries none): wait for every time to be there.
		p.waitFor(`[...document.querySelectorAll("#record > li.msg")].every(li => li.querySelector("time")?.dateTime)`)
	}
	end := time.Now().Add(time.Second)

	// Both show the same messages, in the same order, with sequence numbers and server timestamps in order.
	want := []string{"Hi Bob! Did the deploy go out?", "Yes, ten minutes ago.\nMetrics look calm.", "Great, thanks! Grüße ✓"}
	for _, p := range []*page{ada, bob} {
		var texts []string
		var lastSeq int
		var lastTime time.Time
		for _, e := range p.record() {
			if e.Seq != 0 {
				assert.Greater(t, e.Seq, lastSeq, "sequence numbers increase")
				lastSeq = e.Seq
			}
			if e.Kind != "msg" {
				continue
			}
			texts = append(texts, e.Text)
			ts, err := time.Parse(time.RFC3339, e.Time)
			require.NoError(t, err, "timestamp of %q", e.Text)
			assert.True(t, !ts.Before(start) && !ts.After(end), "timestamp %v within the test", ts)
			assert.False(t, ts.Before(lastTime), "timestamps in order")
			lastTime = ts
		}
		assert.Equal(t, want, texts)
	}

	screenshot(t, ada)

	// bob closes his tab: the page closes its socket with a close frame of its own, and ada sees him leave.
	bob.cancel()
	ada.waitFor(hasNotice("bob left"))
	ada.waitFor(`document.querySelectorAll("#users li").length === 1`)
	assert.Equal(t, []string{"ada"}, ada.users())
	assert.Eventually(t, func() bool {
		return strings.Contains(srv.logText(), `nick=bob cause="conn: closed with 1000 (normal closure): page closed"`)
	},
		step, 50*time.Millisecond, "the page's unload handler closed the socket")
}

// TestRecordFollowsNewest fills the record panel past its height and checks that it shows the newest entry.
func TestRecordFollowsNewest(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0", "-rate", "1000", "-burst", "1000")
	p := openPage(t, browser, srv.url("/"))
	p.join("ada")
	c := dialChat(t, srv.url("/ws"), "bob")
	const n = 60
	for i := range n {
		sendEvent(t, c, chat.Event{Type: chat.KindSend, ID: newID(), Text: fmt.Sprint("line ", i)})
	}
	p.waitFor(hasMessage("bob", fmt.Sprint("line ", n-1)))
	p.waitFor(`(() => { const p = document.querySelector(".record-panel");
		return p.scrollHeight > p.clientHeight && p.scrollHeight - p.scrollTop - p.clientHeight < 2; })()`)
	var visible bool
	p.eval(`(() => { const r = document.querySelector("#record > li:last-child").getBoundingClientRect();
		const q = document.querySelector(".record-panel").getBoundingClientRect();
		return r.bottom <= q.bottom + 1 && r.top >= q.top; })()`, &visible)
	assert.True(t, visible, "the newest entry is in view")
}

// screenshot saves the page as PNG where DUPLEX_CHAT_SCREENSHOT says (the README's docs/chat.png), and
// checks that it is a PNG either way.
func screenshot(t *testing.T, p *page) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.Greater(t, len(png), 8)
	assert.Equal(t, "\x89PNG\r\n\x1a\n", string(png[:8]))
	if path := os.Getenv("DUPLEX_CHAT_SCREENSHOT"); path != "" {
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}
}
