// Package interop holds the tests that prove duplex talks to the WebSocket
// implementations people run, in both roles, over ws:// and wss://: Node's
// ws, Python's websockets, golang.org/x/net/websocket and Chromium's own
// WebSocket. It lives in its own module so that those peers and the browser
// driver stay out of the library's go.mod.
//
// # Matrix
//
// TestMatrix runs every server/client pair that includes duplex through the
// same scenarios, as subtests named pair then RFC 6455 section, such as
// "duplex-server/node-client/5.2/text-65536":
//
//   - text and binary messages of 0, 125, 126, 65535, 65536 and 1 MiB bytes
//     (the edges of the three length encodings of RFC 6455, Section 5.2);
//   - a fragmented message each way, with a ping between the fragments
//     (Section 5.4);
//   - a ping each way, answered with its payload (Section 5.5.2 and 5.5.3);
//   - a close started by each side with a code and a reason, the code each
//     side reports checked (Section 7);
//   - subprotocol negotiation (Section 4.2.2);
//   - all of it again, briefly, over wss:// with a certificate the test makes.
//
// The peer side of every pair runs the same script: it echoes each data
// message with its type and obeys command messages (text starting with "!"
// and a JSON object: ping, fragment, close). Peers written in other languages
// live in node/ and python/ and report what they see as JSON lines on
// stdout; the browser runs the same script from a page the test serves and
// posts its reports back. Where a peer cannot do a step (x/net/websocket has
// no pong event and reads frames, not messages; a page cannot send pings or
// fragments), the pair's capabilities leave that scenario out.
//
// # Peers
//
// The peers come from `make deps` (scripts/install-peers.sh): Node's ws pinned
// in node/package-lock.json, Debian's python3-websockets run with
// /usr/bin/python3, and Debian's chromium. A missing peer skips its pairs with
// a message naming `make deps`, and fails them when DUPLEX_REQUIRE_PEERS=1, as
// CI sets it.
//
// The tests of cmd/ws that need a Node server live here too.
package interop
