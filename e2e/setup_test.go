package e2e

import (
	"context"
	"testing"
)

// proxied starts what most tests stand on: the shared browser, a cmd/chat server with args on a free
// loopback port, and a proxy in front of it for the pages to go through.
func proxied(t testing.TB, args ...string) (browser context.Context, srv *server, px *proxy) {
	t.Helper()
	browser = newBrowser(t)
	srv = startServer(t, "127.0.0.1:0", args...)
	px = startProxy(t, srv.addr)
	return browser, srv, px
}

// adaAndBob starts proxied with the server's defaults, bob watching the room from a Go client connected to the server
// directly, and ada joined on a page that goes through the proxy.
func adaAndBob(t testing.TB) (px *proxy, bob *observer, ada *page) {
	t.Helper()
	browser, srv, px := proxied(t)
	bob = observe(t, srv.url("/ws"), "bob")
	ada = openPage(t, browser, px.url("/"))
	ada.join("ada")
	return px, bob, ada
}
