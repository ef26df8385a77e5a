// Package e2e holds the end-to-end tests of the chat: the real cmd/chat binary, built with the race
// detector, driven through its page in headless Chromium.
//
// It is a module of its own so that the browser driver stays out of the library's go.mod. The tests need
// Debian's chromium (`make deps`, or `apt-get install chromium`); without it they skip, unless
// DUPLEX_REQUIRE_PEERS=1 is set, in which case they fail. CHROMIUM names another browser binary.
// DUPLEX_CHAT_SCREENSHOT names a file that receives a screenshot of two users chatting.
package e2e
