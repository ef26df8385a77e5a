// Package micro holds the harness's microbenchmarks, duplex and its peers
// side by side in one go test run:
//
//   - BenchmarkMask: masking in place at 16 B, 1 KiB and 64 KiB, duplex's
//     frame.Mask against gobwas's ws.Cipher, with a plain copy as the
//     memory-speed reference.
//   - BenchmarkHandshakeRaw: the server handshake on a raw net.Conn,
//     replayed from a canned request (the minimal one of RFC 6455 and a browser's) on an in-memory connection:
//     handshake.Accept and conn.Accept against gobwas's ws.Upgrade.
//   - BenchmarkHandshakeHTTP: the handshake through a real http.Server
//     serving in-memory connections: conn.Upgrade against gorilla's
//     Upgrader.Upgrade.
//
// Run them with
//
//	cd bench && go test -run='^$' -bench=. -benchmem ./micro
//
// The package has no code of its own outside its tests.
package micro
