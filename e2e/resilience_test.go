package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
)

// TestUserTextIsNeverHTML posts markup as a nickname and as messages: the page must show it literally and
// run none of it.
func TestUserTextIsNeverHTML(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")

	victim := openPage(t, browser, srv.url("/"))
	victim.join("victim")
	attacker := openPage(t, browser, srv.url("/"))
	const evilNick = `<i onclick=x()>eve</i>` // 22 characters: a valid nickname
	attacker.join(evilNick)

	payloads := []string{
		`<img src=x onerror="window.__pwned='img'">`,
		`<script>window.__pwned='script'</script>`,
		`<svg onload="window.__pwned='svg'"></svg>`,
		`"><iframe srcdoc="<script>parent.__pwned='iframe'</script>">`,
	}
	for _, s := range payloads {
		attacker.say(s)
	}
	for _, p := range []*page{victim, attacker} {
		for _, s := range payloads {
			p.waitFor(hasMessage(evilNick, s))
		}
	}
	victim.waitFor(hasNotice(evilNick + " joined"))
	victim.waitFor(`[...document.querySelectorAll("#users li")].some(li => li.textContent === ` + jsString(evilNick) + `)`)
	// An image that failed would have run its handler by the time a round trip through the server is done.
	victim.say("sync")
	victim.waitFor(hasMessage("victim", "sync"))

	for _, p := range []*page{victim, attacker} {
		var pwned string
		p.eval(`String(window.__pwned)`, &pwned)
		assert.Equal(t, "undefined", pwned, "no payload ran")
		var elements int
		p.eval(`document.querySelectorAll("#record img, #record script, #record svg, #record iframe, #record i, #users i").length`, &elements)
		assert.Zero(t, elements, "no payload became an element")
	}
}

// TestCloseButtonAndReconnect checks the shown readyState through the Close button, then that the page
// reconnects by itself when the server restarts, and fetches what was said while it was away.
func TestCloseButtonAndReconnect(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")

	p := openPage(t, browser, srv.url("/"))
	assert.Equal(t, "CLOSED", p.state(), "no socket before joining")
	// Record every state the page shows, however briefly.
	p.do(chromedp.Evaluate[chromedp.Void](`window.__states = [];
		new MutationObserver(records => {
			for (const r of records) for (const n of r.addedNodes) window.__states.push(n.nodeValue);
		}).observe(document.getElementById("state"), { childList: true })`))
	p.join("ada")
	assert.Equal(t, "OPEN", p.state())

	p.do(chromedp.Click(chromedp.ID("close")))
	p.waitFor(stateIs("CLOSED"))
	p.waitFor(hasNotice("You closed the connection."))
	var states []string
	p.eval(`window.__states`, &states)
	assert.Equal(t, []string{"CONNECTING", "OPEN", "CLOSING", "CLOSED"}, states, "the readyState shown through a join and a close")
	var disabled bool
	p.eval(`document.getElementById("input").disabled`, &disabled)
	assert.True(t, disabled, "nothing can be sent on a closed socket")

	// The same button reconnects.
	p.do(chromedp.Click(chromedp.ID("close")))
	p.waitFor(`document.getElementById("state").textContent === "OPEN" && !document.getElementById("input").disabled`)

	// A restart: the server says 1001 (going away) and is gone a while; the page retries with backoff.
	addr := srv.addr
	srv.stop(t)
	p.waitFor(stateIs("CLOSED"))
	p.waitFor(hasNotice("Connection lost (1001"))
	time.Sleep(1500 * time.Millisecond) // let the page fail a retry or two
	srv = startServer(t, addr)

	// Someone speaks before the page is back: it must fetch that from the room's history.
	c := dialChat(t, srv.url("/ws"), "bob")
	sendEvent(t, c, chat.Event{Type: chat.KindSend, ID: newID(), Text: "said while ada was away"})

	p.waitFor(hasNotice("Reconnected."))
	p.waitFor(stateIs("OPEN"))
	p.waitFor(hasMessage("bob", "said while ada was away"))
	p.say("back again")
	for {
		ev := readEvent(t, c)
		if ev.Type == chat.KindMessage && ev.Nick == "ada" {
			assert.Equal(t, "back again", ev.Text)
			break
		}
	}
	require.NoError(t, c.Close(frame.CloseNormal, ""))
	srv.stop(t)
}

// dialChat connects a Go client with duplex/conn and joins the default room.
func dialChat(t testing.TB, url, nick string) *conn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	c, _, err := conn.Dial(ctx, url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	sendEvent(t, c, chat.Event{Type: chat.KindJoin, Nick: nick})
	require.Equal(t, chat.KindWelcome, readEvent(t, c).Type)
	return c
}

func sendEvent(t testing.TB, c *conn.Conn, ev chat.Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	require.NoError(t, c.WriteMessage(ctx, conn.MessageText, b))
}

func readEvent(t testing.TB, c *conn.Conn) chat.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	_, b, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	var ev chat.Event
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}
