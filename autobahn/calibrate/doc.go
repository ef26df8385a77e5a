// Package calibrate checks the duplex/autobahn suite against the verdicts
// the original Autobahn|Testsuite gave well-known implementations: it runs
// the suite against the same peers (gorilla/websocket's own example server,
// a naive gorilla echo server, a coder/websocket echo server and client)
// and compares verdicts case by case with the reference reports in
// testdata/reference (see its README.md for what they are and how they were
// made; internal/distill reduces the original's reports to them).
//
// It is a module of its own so that the peers stay out of duplex's go.mod.
package calibrate
