// Command ws is a command-line WebSocket client and a small server, for
// trying and debugging WebSocket endpoints from a shell.
//
// # Client
//
//	ws [flags] URL
//
// connects to URL (ws:// or wss://; a URL without a scheme, such as
// localhost:8080/ws, is refused with the ws:// form to type), sends each line of standard input as a
// text message (binary with -binary) and prints each message received on a
// line of its own on standard output. It works in pipes and interactively:
//
//	echo hello | ws ws://127.0.0.1:8080/echo
//
// At the end of standard input it waits until no message arrived for -wait
// (one second by default; replies to the last lines may still be on their
// way), then runs the closing handshake with -close-code and -close-reason
// and exits. An interrupt closes at once. When the server
// closes first, ws reports the code and reason it sent.
//
// # Server
//
//	ws [flags] -listen ADDR
//
// accepts WebSocket connections on ADDR (any path, any origin: it is a test
// server), prints each message clients send on a line of standard output,
// and sends each line of standard input to every connected client. At the end
// of standard input it closes every connection and exits. It gives a client
// 10 seconds to send its request head and refuses a head over 8 KiB or 64
// lines with 431 (the handshake's limits), closes an HTTP connection idle for
// a minute, and drops a client that takes over 10 seconds to take one write.
//
// # Flags
//
//	-H "Name: value"   add a request header (repeatable)
//	-origin URL        send an Origin header
//	-subprotocol LIST  comma-separated subprotocols: offered by the client,
//	                   spoken by the server, most preferred first
//	-binary            send lines as binary messages
//	-ping DURATION     send a ping at this interval (0: never)
//	-wait DURATION     after the end of standard input, close once no
//	                   message arrived for this long (default 1s)
//	-close-code N      close code sent on exit (default 1000)
//	-close-reason TEXT close reason sent on exit
//	-cacert FILE       trust the PEM certificates in FILE for wss://
//	-insecure          skip the server certificate check (test servers only)
//	-compress          negotiate permessage-deflate (default true;
//	                   -compress=false neither offers nor accepts it)
//	-v                 print the handshake and the frames on standard error
//
// # Compression
//
// Like a browser, and like clients built on Node's ws, whose default it is,
// ws offers permessage-deflate (RFC 7692) as a client and accepts it as a
// server, so that an endpoint is seen as browsers see it; -compress=false
// turns it off, to see a server's uncompressed behaviour or its frames as
// the application wrote them.
// Messages are printed as they were sent, inflated. Lines under 64 bytes
// (conn.DefaultCompressionThreshold) go out uncompressed, since deflating
// them would only make them longer.
//
// # Verbose mode
//
// Over ws://, and in server mode (which speaks ws://), verbose mode shows the
// wire as it is: the HTTP heads line by line, then one line per frame, with
// its flags, length and mask, and the payload of control frames
// ("> frame close fin len=5 masked: 1000 \"bye\""). A compressed message
// shows rsv1 on its first frame, and the length on the wire
// ("> frame text fin rsv1 len=12 masked"). In server mode each line starts
// with the connection's number ("[1] < frame text fin len=5 masked"). Under
// TLS (wss://) it shows what the connection reports instead: the response
// head, the compression agreed, each message with its length, and pings,
// pongs and closes.
//
// # Exit status
//
//	0  the connection closed normally (1000, 1001 or no status code)
//	1  no connection: network error, TLS failure, refused handshake (its
//	   HTTP status is printed); or the connection failed on the way
//	2  bad usage
//	3  the peer closed the connection with another code (printed)
package main
