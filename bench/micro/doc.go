// Package micro holds the harness's microbenchmarks, duplex and its peers
// side by side in one go test run:
//
//   - BenchmarkMask: masking in place at 16 B, 1 KiB and 64 KiB, duplex's
//     frame.Mask against gobwas's ws.Cipher, with a plain copy as the
//     memory-speed reference.
//   - BenchmarkHandshakeRaw: the server handshake on a raw net.Conn,
//     replayed from a canned request (the minimal one of RFC 6455 and a
//     browser's) on an in-memory connection: handshake.Accept and
//     conn.Accept against gobwas's ws.Upgrade (gorilla has no handshake on
//     a raw connection). This is the parsing and checking alone, and the
//     deadline: an in-memory connection is not a *net.TCPConn, so Accept
//     sets and clears its deadline there.
//   - BenchmarkHandshakeRawRatio: the contenders of BenchmarkHandshakeRaw
//     interleaved, reporting each one's wall time and the benchmark
//     thread's CPU time per handshake (CLOCK_THREAD_CPUTIME_ID) and
//     duplex's over gobwas's; on a loaded machine the CPU ratio is the one
//     to quote, the wall time being mostly the others' work.
//     BenchmarkHandshakeRawOptionsRatio is the same with the options a
//     demanding server sets (a subprotocol, an origin pattern, an extra
//     response field, an authorisation hook) and gobwas's Upgrader doing
//     the same through its callbacks.
//   - BenchmarkHandshakeRawTCP: the same contenders over real loopback TCP
//     connections, what servers run, the request already in the socket when
//     the handshake starts (as on a fresh connection it usually is); the
//     timer covers the server's handshake alone, in batches of 64
//     connections reused after each handshake. There handshake.Accept reads
//     and writes without a deadline (see the handshake package's Deadline
//     section), as ws.Upgrade, which sets none.
//   - BenchmarkHandshakeRawTCPRatio: the contenders of
//     BenchmarkHandshakeRawTCP interleaved, a batch each per iteration in
//     a rotating order, reporting each one's wall and thread CPU time per
//     handshake and duplex's over gobwas's: the figures to quote on a
//     shared machine, whose load drifts between separate runs. The two
//     system calls and the loopback delivery they trigger are most of a
//     handshake over TCP (about 10 us here, of which the parsing and
//     checks are about 1.5 us), so the ratios there are close to 1 and
//     smaller than in memory.
//   - BenchmarkHandshakeHTTP: the handshake through a real http.Server
//     serving in-memory connections: conn.Upgrade against gorilla's
//     Upgrader.Upgrade; BenchmarkHandshakeHTTPRatio interleaves them, and
//     there only the wall times count, the handshakes running on the
//     servers' goroutines.
//   - BenchmarkCompressedEcho: a permessage-deflate echo round trip of
//     chat-like JSON (4 KiB and 64 KiB; a client writes, the server echoes,
//     the client reads the echo whole), each library at both ends over
//     loopback TCP, under three sets of negotiated parameters (no context
//     takeover with 15-bit windows; context takeover with 15-bit and with
//     12-bit windows; level 1), checked from the server's response on every
//     run: duplex against gws, and gorilla where it can agree (no context
//     takeover only). TestCompressedEchoAgrees checks that every pair agrees
//     on the parameters and echoes every message intact and compressed.
//   - BenchmarkCompressedEchoRatio: the same pairs with their round trips
//     interleaved, one of each per iteration, so that they share the
//     machine's drifting load; it reports each library's wall and CPU time
//     per round trip and duplex's over gws's (duplex/gws,
//     duplex/gws-cpu). On this shared machine these ratios are the figures
//     to quote.
//
// Run them with
//
//	cd bench && go test -run='^$' -bench=. -benchmem ./micro
//
// the handshakes alone with -bench=Handshake -count=5 (the TCP
// benchmarks build on Linux only, for the thread CPU time they read), or
// only the compressed echoes with
//
//	cd bench && go test -run='^$' -bench=CompressedEcho -count=5 ./micro
//
// The package has no code of its own outside its tests.
package micro
