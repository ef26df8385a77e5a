package e2e

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/frame"
)

// TestPresenceFollowsDeltas: the list of who is online starts from the welcome's users and follows the
// joined and left notices (the server sends no full list after the welcome); after a reconnect the new
// welcome's list replaces what changed meanwhile.
func TestPresenceFollowsDeltas(t *testing.T) {
	browser, srv, px := proxied(t)
	bob := dialChat(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")
	p.waitFor(usersAre("ada", "bob"))
	carol := dialChat(t, srv.url("/ws"), "carol")
	p.waitFor(hasNotice("carol joined"))
	p.waitFor(usersAre("ada", "bob", "carol"))
	require.NoError(t, bob.Close(frame.CloseNormal, ""))
	p.waitFor(hasNotice("bob left"))
	p.waitFor(usersAre("ada", "carol"))

	// While the page is cut off, carol leaves and dave arrives.
	px.setDown(true)
	px.cutAll()
	p.waitFor(hasNotice("Connection lost (1006"))
	p.waitFor(`document.getElementById("users").classList.contains("stale")`)
	require.NoError(t, carol.Close(frame.CloseNormal, ""))
	dialChat(t, srv.url("/ws"), "dave")
	px.setDown(false)
	p.waitFor(hasNotice("Reconnected."))
	p.waitFor(usersAre("ada", "dave"))
	p.waitFor(hasNotice("carol left")) // from the welcome's history
	p.waitFor(hasNotice("dave joined"))
	assert.Equal(t, []string{"ada", "dave"}, p.users())
	assert.Zero(t, px.countToPage(`"type":"presence"`), "the list came from the welcomes and the deltas alone")
}

// TestSecondTabTakesOverSession opens a second tab with the first one's session (as a duplicated tab
// has): the server moves the membership to it without a left or joined, the first tab shows that the chat
// is open elsewhere, and it does not reconnect, which would take the session back and start a tug of war.
func TestSecondTabTakesOverSession(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t, "127.0.0.1:0")
	o := observe(t, srv.url("/ws"), "bob")
	first := openPage(t, browser, srv.url("/"))
	first.join("ada")
	var saved string
	first.eval(`sessionStorage.getItem("duplex.chat")`, &saved)
	require.Contains(t, saved, `"session":"`)

	second := openPage(t, browser, srv.url("/"))
	second.do(chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("duplex.chat", `+jsString(saved)+`)`), chromedp.Reload())
	// The welcome names the user: the reloaded tab joined by itself, as ada, without the form.
	second.waitFor(`document.getElementById("me").textContent === "signed in as ada"`)
	second.waitFor(`document.getElementById("state").textContent === "OPEN" && document.getElementById("join").hidden &&
		!document.getElementById("input").disabled`)

	first.waitFor(hasNotice("Opened in another tab or connection"))
	first.waitFor(stateIs("CLOSED"))
	time.Sleep(2 * time.Second) // longer than the first two backoff steps
	assert.Equal(t, "CLOSED", first.state(), "no reconnect after a takeover")
	c := first.composer()
	assert.True(t, c.Disabled, "nothing is written into a tab that is no longer connected")
	assert.Equal(t, "Reconnect", first.text("close"), "the user may take it back by hand")

	second.say("from the second tab")
	o.waitText("ada", "from the second tab")
	o.once("ada", "from the second tab")
	o.assertNoMembershipChange("ada")
	assert.Equal(t, "CLOSED", first.state())
}

// TestReloadKeepsOutbox reloads the page while a message waits for the server: the reloaded page comes
// back in the same room as the same user, shows the message pending, and delivers it once the server
// is reachable, once.
func TestReloadKeepsOutbox(t *testing.T) {
	browser, srv, px := proxied(t)
	o := observe(t, srv.url("/ws"), "bob")
	p := openPage(t, browser, px.url("/?room=lobby"))
	p.join("ada")
	p.say("before the reload")
	p.waitFor(hasMessage("ada", "before the reload"))

	px.setDown(true)
	px.cutAll()
	p.waitFor(hasNotice("Connection lost (1006"))
	const text = "written before the reload"
	p.say(text)
	p.typeText("a draft")
	require.Len(t, p.outbox(), 1)

	// The page itself must load: let HTTP through but keep the WebSocket refused a little longer.
	px.setDown(false)
	px.refuseWebSockets(true)
	p.do(chromedp.Reload())
	p.waitFor(`document.getElementById("join").hidden && document.querySelectorAll("#outbox > li.pending").length === 1`)
	box := p.outbox()
	require.Len(t, box, 1)
	assert.Equal(t, text, box[0].Text)
	assert.Equal(t, "a draft", p.composer().Input, "the draft survives too")
	assert.NotContains(t, o.texts("ada"), text)

	px.refuseWebSockets(false)
	p.waitFor(hasMessage("ada", text))
	p.waitFor(noOutbox)
	p.waitFor(hasMessage("ada", "before the reload")) // the whole kept history fills the new page
	o.once("ada", text)
	assert.Equal(t, 1, count(p.messages("ada"), text))
	assert.Equal(t, "signed in as ada", p.text("me"))
}

// TestPolicyCloseIsShownAndFinal: a close for a policy violation (1008) shows the server's code and
// reason, and the page does not reconnect by itself into the same refusal.
func TestPolicyCloseIsShownAndFinal(t *testing.T) {
	browser, _, px := proxied(t)
	p := openPage(t, browser, px.url("/"))
	p.join("ada")
	px.closeClients(frame.ClosePolicyViolation, "rate limit exceeded")
	p.waitFor(hasNotice("Disconnected (1008: rate limit exceeded)."))
	p.waitFor(stateIs("CLOSED"))

	time.Sleep(2 * time.Second) // longer than the first backoff step
	assert.Equal(t, "CLOSED", p.state(), "no reconnect after a policy close")
	assert.Equal(t, 1, px.webSockets())
	assert.Equal(t, "Reconnect", p.text("close"), "the user may still reconnect by hand")
}

// startInProcess serves chat.NewServer(cfg) on loopback, for a setting cmd/chat has no flag for, and
// returns its address. The server is shut down at the end of the test.
func startInProcess(t testing.TB, cfg *chat.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := chat.NewServer(cfg)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: step}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), step)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx))
		assert.NoError(t, s.Shutdown(ctx))
		<-served
	})
	return ln.Addr().String()
}

// TestRoomFullIsShownNotRetried: a join refused because the room is full shows the server's reason in
// the join form and is not retried by itself; the user's next Join, once there is room, goes over the same
// connection.
func TestRoomFullIsShownNotRetried(t *testing.T) {
	browser := newBrowser(t)
	addr := startInProcess(t, &chat.Config{MaxRoom: 1})
	px := startProxy(t, addr)
	bob := dialChat(t, "http://"+addr+"/ws", "bob")
	p := openPage(t, browser, px.url("/"))
	p.do(chromedp.SetValue(chromedp.ID("nick"), "ada"), chromedp.Click(chromedp.ID("join-button")))
	p.waitFor(`document.getElementById("join-error").textContent !== ""`)
	shown := p.text("join-error")
	refusal := px.refusal(t, chat.ErrCodeRoomFull)
	assert.Equal(t, refusal.Text, shown, "the server's reason is shown")

	time.Sleep(2 * time.Second) // longer than the first backoff steps
	assert.Equal(t, 1, px.webSockets(), "no reconnect")
	assert.Len(t, px.sentByPage(`"type":"join"`), 1, "no second join by itself")
	var hidden bool
	p.eval(`document.getElementById("join").hidden`, &hidden)
	assert.False(t, hidden, "the join form stays open")

	require.NoError(t, bob.Close(frame.CloseNormal, ""))
	p.do(chromedp.Click(chromedp.ID("join-button")))
	p.waitFor(joinedOpen)
	assert.Equal(t, 1, px.webSockets(), "the second join went over the same connection")
}
