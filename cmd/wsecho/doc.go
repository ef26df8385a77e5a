// Command wsecho is a WebSocket echo server, and a client that drives the
// Autobahn test suite's fuzzing server against the duplex client.
//
// As a server it answers the opening handshake on any path and sends every
// text and binary message back unchanged, with its type:
//
//	wsecho [-addr 127.0.0.1:9001] [-compress=false] [-v]
//
// Being a test server it accepts any Origin, and its read limit (64 MiB) takes
// the suite's largest messages (16 MiB). Messages are echoed as a stream, so a
// text message with invalid UTF-8 fails the connection as soon as the bad byte
// arrives (RFC 6455, Section 8.1), even if part of it was already sent back.
// SIGINT or SIGTERM shuts it down gracefully: open connections are closed
// with 1001 (going away).
//
// As a client it runs the cases of a fuzzing server (such as `wstest -m
// fuzzingserver`) at the given URL:
//
//	wsecho -client ws://127.0.0.1:9001 [-agent duplex] [-cases 1..10,42] [-compress=false] [-v]
//
// It reads the number of cases from <url>/getCaseCount, connects to
// <url>/runCase?case=i&agent=<agent> for each selected case and echoes every
// message until the case closes the connection, then asks for the reports at
// <url>/updateReports?agent=<agent>.
//
// Flags:
//
//	-addr    listen address of the server (default 127.0.0.1:9001)
//	-client  fuzzing server URL; selects the client mode
//	-agent   agent name the reports are filed under (default duplex)
//	-cases   cases to run: comma-separated numbers and ranges a..b or a..
//	         (default all)
//	-compress  negotiate permessage-deflate (RFC 7692), on by default: the
//	         server accepts any offer, with any window size and context
//	         takeover mode; the client offers it with client_max_window_bits,
//	         so the server may also choose the client's window
//	-v       log every connection, not only failures
package main
