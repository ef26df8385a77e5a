package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

// TestLargeRoomPresenceFollowsBatches runs a server that batches presence above two members: the
// page's list follows the members events (joins and leaves, one event per interval), the count and
// the summary under it follow them, and the record holds no notice per person; a page that joins the
// large room lists itself and the others at once. The two first joins, below the threshold, are
// notices as before.
func TestLargeRoomPresenceFollowsBatches(t *testing.T) {
	browser, srv, px := proxied(t, "-presence-batch", "2", "-presence-interval", "300ms")
	p := openPage(t, browser, px.url("/"))
	p.join("ada")
	dialChat(t, srv.url("/ws"), "bob")
	p.waitFor(hasNotice("bob joined"))
	p.waitFor(usersAre("ada", "bob"))

	carol := dialChat(t, srv.url("/ws"), "carol")
	dave := dialChat(t, srv.url("/ws"), "dave")
	dialChat(t, srv.url("/ws"), "eve")
	p.waitFor(usersAre("ada", "bob", "carol", "dave", "eve"))
	p.waitFor(countIs(5))
	p.waitFor(presenceSays("eve"))
	p.waitFor(presenceSays("joined"))

	// A second page joins the large room: its welcome's list may not hold it yet, the page does.
	q := openPage(t, browser, px.url("/"))
	q.join("fay")
	q.waitFor(`[...document.querySelectorAll("#users li")].some(li => li.textContent === "fay")`)
	q.waitFor(usersAre("ada", "bob", "carol", "dave", "eve", "fay"))
	p.waitFor(usersAre("ada", "bob", "carol", "dave", "eve", "fay"))

	require.NoError(t, carol.Close(frame.CloseNormal, ""))
	require.NoError(t, dave.Close(frame.CloseNormal, ""))
	for _, pg := range []*page{p, q} {
		pg.waitFor(usersAre("ada", "bob", "eve", "fay"))
		pg.waitFor(countIs(4))
		pg.waitFor(presenceSays("left"))
	}
	for _, e := range append(p.record(), q.record()...) {
		for _, nick := range []string{"carol", "dave", "eve", "fay"} {
			assert.NotContains(t, e.Text, nick+" joined", "no notice per person in a large room")
			assert.NotContains(t, e.Text, nick+" left", "no notice per person in a large room")
		}
	}
	assert.Positive(t, px.countToPage(`"type":"members"`), "the list followed members events")
}
