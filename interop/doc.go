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
// Every pair whose peer speaks permessage-deflate (RFC 7692: Node's ws,
// Python's websockets, Chromium and duplex itself) runs all of it again,
// compressed: subtests "deflate" (context takeover, the peer's default
// windows), "deflate-no-takeover-w10-9" (no context takeover either way,
// server_max_window_bits=10, client_max_window_bits=9, offered or accepted
// by both sides wherever the peer can be configured; a browser offers its
// own and takes the server's answer) and "deflate-w8" (8-bit windows both
// ways, which Python's zlib module cannot make, so websockets sits it
// out). Each end checks what was agreed: duplex with Conn.Compression, the
// peer (headless Chromium included) by reporting its
// Sec-WebSocket-Extensions response, which must state the same. Every
// message is compressed both ways (duplex with a negative threshold, Node
// with threshold 0), and a tap under the duplex end of each plaintext
// connection decodes the frame headers that crossed the wire: RSV1 on the
// first frame of every data message each way and on no continuation frame
// (Section 6.1), several frames for the fragmented messages, and a
// repetitive 64 KiB text at under an eighth of its size both ways. The
// sizes on the wire also show each side honouring the agreement: a text
// repeated 2000 bytes apart shrinks with the default windows and does not
// with the 1 KiB and 512-byte ones, and a message sent twice shrinks the
// second time only with context takeover. A message sent with
// conn.NoCompression crosses without RSV1 and the compressed one after it
// still inflates; 8 MiB of zeros from the peer, a few KiB compressed, fail
// the connection with 1009 against a 4 MiB read limit. In the
// uncompressed runs the same tap checks that no message had RSV1, and the
// browser's offer is declined; TestDeflateDeclined checks that x/net, which
// has no permessage-deflate, leaves a connection uncompressed in both roles.
//
// The peer side of every pair runs the same script: it echoes each data
// message with its type and obeys command messages (text starting with "!"
// and a JSON object: ping, fragment, close, zeros). Peers written in other languages
// live in node/ and python/ and report what they see as JSON lines on
// stdout; the browser runs the same script from a page the test serves and
// posts its reports back. Where a peer cannot do a step (x/net/websocket has
// no pong event and reads frames, not messages; a page cannot send pings or
// fragments), the pair's capabilities leave that scenario out.
//
// # Closing over the read limit
//
// TestCloseOverReadLimit checks that a peer learns why duplex failed its
// connection. Chromium, Node's ws and Python's websockets each open 20
// fresh connections, one after another, to a duplex server whose read
// limit is 4096 bytes and which echoes what it reads: each sends a text
// message of exactly the limit and gets it back, then one over it, 100
// bytes over on half of them ("7.4.1/<peer>/limit+100") and 25 times the
// limit on the other half ("7.4.1/<peer>/limit*25"). Every one must end
// with duplex failing the connection with 1009 (RFC 6455, Section 7.4.1)
// and the peer reporting 1009 after a complete closing handshake: the
// page's onclose has wasClean, ws's close event too (a close frame both
// received and sent), and websockets reports the server's close frame and
// its own answer, with the TCP connection ended by an end of stream, not
// a reset. A server that closes TCP while the rest of the message is
// still arriving resets the connection, and the peer reports 1006, or
// 1009 without wasClean (RFC 6455, Section 1.4). The peers run this with
// the "oversize" mode of node/peer.js and python/peer.py; the page runs
// it from a script the test evaluates.
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
