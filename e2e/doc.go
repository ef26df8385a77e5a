// Package e2e holds the end-to-end tests of the chat: the real cmd/chat binary, built with the race
// detector, driven through its page in headless Chromium.
//
// The tests share one Chromium (started on first use, ended by TestMain) and open every page in a browser
// context of its own, so no two pages share cookies or storage.
//
// Tests that need a network that misbehaves put a proxy of their own on loopback between the page and
// the server (proxy_test.go): it cuts connections, refuses new ones as a stopped server would, loses one
// chosen message on its way to the page (an ack, say), or closes with a code of its choice, and it keeps
// what went each way. A Go client in the same room, connected to the server directly, tells what the room
// really recorded, so "delivered exactly once" is checked against the server and not only the page.
//
// It is a module of its own so that the browser driver stays out of the library's go.mod. The tests need
// Debian's chromium (`make deps`, or `apt-get install chromium`); without it they skip, unless
// DUPLEX_REQUIRE_PEERS=1 is set, in which case they fail. CHROMIUM names another browser binary.
// DUPLEX_CHAT_SCREENSHOT names a file that receives a screenshot of two users chatting.
package e2e
