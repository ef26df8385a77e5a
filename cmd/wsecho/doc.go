// Command wsecho is a WebSocket echo server, and a client that drives the
// Autobahn test suite's fuzzing server against the duplex client.
//
// As a server it answers the opening handshake on any path but /healthz and
// sends every text and binary message back unchanged, with its type:
//
//	wsecho [-addr 127.0.0.1:9001] [-read-limit BYTES] [-ping-interval D]
//	       [-write-timeout D] [-compress=false] [-v]
//
// A plain GET of /healthz is answered "ok" (503 once shutdown has begun).
// Being a test server it accepts any Origin, and its default read limit
// (64 MiB) takes the suite's largest messages (16 MiB). Messages are echoed
// as a stream, so a text message with invalid UTF-8 fails the connection as
// soon as the bad byte arrives (RFC 6455, Section 8.1), even if part of it
// was already sent back.
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
// # Flags
//
//	-addr      listen address of the server (default 127.0.0.1:9001)
//	-client    fuzzing server URL; selects the client mode
//	-agent     agent name the reports are filed under (default duplex)
//	-cases     cases to run: comma-separated numbers and ranges a..b or a..
//	           (default all)
//	-compress  negotiate permessage-deflate (RFC 7692), on by default: the
//	           server accepts any offer, with any window size and context
//	           takeover mode; the client offers it with client_max_window_bits,
//	           so the server may also choose the client's window
//	-read-limit BYTES
//	           largest message accepted (default 64 MiB); a larger one fails
//	           the connection with 1009 as soon as its frame header says so
//	-ping-interval D
//	           keepalive: ping a peer silent for D, and fail the connection
//	           (1001 to the peer, 1006 locally) if nothing arrives within
//	           -pong-timeout; 0, the default, turns it off
//	-pong-timeout D
//	           time a pinged peer has to send anything (default 0: as long as
//	           -ping-interval)
//	-write-timeout D
//	           bound on each write to the network (default 10s): a peer that
//	           stops reading fails its connection instead of holding it; also
//	           net/http's bound on a response that is not an upgrade; 0: none
//	-idle-timeout D
//	           server: time an HTTP keep-alive connection may wait for its next
//	           request (default 1m)
//	-v         log every connection, not only failures
//	-h         print the usage and exit 0
//
// The read limit, keepalive and write timeout apply in both modes.
//
// # Limits
//
// Besides the flags above, the server gives a client 10 seconds to send its
// request head, and refuses a head over 8 KiB with 431 on every path (and one
// of over 64 lines on a WebSocket handshake), the handshake's limits
// (handshake.DefaultLimits). net/http's timeouts end with the handshake, which
// clears them after the 101 response: an open connection is bounded by the
// write timeout and keepalive only.
//
// The exit status is 0 after a shutdown or -h, 1 when serving or a client run
// failed, and 2 for a bad command line.
package main
