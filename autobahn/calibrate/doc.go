// Package calibrate checks the duplex/autobahn suite against the verdicts
// the original Autobahn|Testsuite gave well-known implementations: it runs
// the suite against the same peers (gorilla/websocket's own example server,
// a naive gorilla echo server, a coder/websocket echo server and client)
// and compares verdicts case by case with the reference reports in
// ../shared/autobahn (relative to the repository root).
//
// It is a module of its own so that the peers stay out of duplex's go.mod.
package calibrate
