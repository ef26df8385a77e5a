// Package autobahn is a WebSocket conformance suite: the cases of the
// Autobahn|Testsuite (sections 1-7, 9, 10, 12 and 13), with the same case IDs, the
// same frames on the wire, the same expectations and the same verdict rules,
// written in Go so that `go test` can prove [RFC 6455] conformance without
// Docker or Python.
//
// It runs in the two modes of the original's wstest:
//
//   - fuzzingclient ([RunClient]): the suite connects to a server once per
//     case and tests it;
//   - fuzzingserver ([Server]): a client under test connects once per case
//     to /runCase?case=N&agent=A, after asking /getCaseCount, and asks
//     /updateReports?agent=A at the end.
//
// The suite writes and reads raw bytes on TCP itself. It imports none of
// duplex's frame, handshake or conn packages, so that a bug there cannot
// hide itself.
//
// # Verdicts
//
// Each case yields two verdicts, as in the original. behavior compares the
// events received (messages, pongs, the case's own timeout markers) with
// the case's alternatives: the first alternative equal to them gives its
// verdict (OK or NON-STRICT); none gives FAILED. behaviorClose checks the
// end of the connection: FAILED when the wrong endpoint sent the first close
// frame, UNCLEAN when a clean close was required and the closing handshake
// did not complete, WRONG CODE when the peer's close code is not one of the
// expected (no code at all is accepted), FAILED BY CLIENT when the suite as
// a client had to drop the TCP connection itself, else OK. Some cases
// adjust these afterwards (7.1.6 and 7.13.x are INFORMATIONAL for everyone;
// most of section 7 turns WRONG CODE into a failed behavior). A case passes
// strictly when both verdicts are OK, or INFORMATIONAL.
//
// # Protocol engine
//
// The suite's side of a connection ([Session]) behaves as the original's:
// it answers pings, assembles messages, validates UTF-8 as each frame
// arrives, answers a close with 1000, fails the connection with a closing
// handshake on a peer's protocol violation (and drops it on a second one),
// gives a close 1 s before dropping, and as a client gives the server 1 s to
// close the TCP connection after the closing handshake.
//
// # Compression
//
// Sections 12 and 13 test permessage-deflate (RFC 7692): 1000 compressed
// messages of 16 bytes to 128 KiB, each sent after the echo of the one
// before, whole or in frames of 256 bytes to 32 KiB of compressed data, RSV1
// on the first frame only. Section 12 uses the original's default offer and
// acceptance over five kinds of data (the original reads JSON, HTML and
// binary files; the suite generates data of the same character); section 13
// sends JSON with every combination of context takeover and window size the
// original requests (13.1-13.7), as offers when the suite is the client and
// as its response to the client's offer when it is the server. A case where
// permessage-deflate is not agreed is UNIMPLEMENTED, as in the original.
//
// The suite's own codec is klauspost/compress's flate (the standard
// library's API and format, several times faster), with context takeover
// kept or reset as agreed. It always uses a 32 KiB window, so when a peer
// asks the suite for a smaller one it sends Huffman-coded literals only,
// which refer to nothing and fit any window.
//
// # Concurrency
//
// A session runs its case on one loop goroutine: Run, the hooks and the
// timers run there one at a time, so cases need no locking. A reader
// goroutine and a writer goroutine, owned by the session, keep the socket
// moving in both directions while the loop waits. [Report] is safe for
// concurrent use; [Server] runs one session per connection.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
package autobahn
