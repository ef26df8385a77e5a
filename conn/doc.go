// Package conn is a WebSocket connection ([RFC 6455], sections 5 to 7) over
// a net.Conn: framing, fragmentation, control frames, the closing
// handshake and the connection's life cycle, on top of the wire format of
// package duplex/frame and the opening handshake of duplex/handshake.
//
// A connection comes from [Accept] or [Upgrade] on a server, [Dial] on a
// client, or [New] around a net.Conn whose handshake the caller performed.
// Read messages with [Conn.ReadMessage] or stream them with
// [Conn.NextReader]; write them with [Conn.WriteMessage] or stream them
// with [Conn.NextWriter]; end the connection with [Conn.Close].
//
// # Concurrency
//
// One goroutine reads; a second concurrent read returns
// [ErrConcurrentRead]. Any number of goroutines may write, ping and close
// at the same time: a message lock keeps the frames of two messages apart,
// and a frame lock lets pings, pongs and a close go out between the
// fragments of a long message (RFC 6455, Section 5.4). No method panics
// when used from several goroutines or after the connection ended.
//
// Pings are answered, and the peer's close frame is answered, on the read
// path: the connection must keep being read, by a goroutine that loops on
// ReadMessage or NextReader, for the protocol to work. A connection nobody
// reads does not answer pings and cannot complete a closing handshake the
// peer starts. [Conn.Close] reads by itself when no goroutine is reading.
//
// # Batching writes
//
// System calls are most of the cost of small messages, so the connection
// reads every frame already in its buffer before it reads the network
// again, and it corks: a frame written while the connection holds input it
// has not read yet, as the reply to one of several messages that arrived
// together is, waits in the write buffer, and leaves with the replies to
// the others in one Write, once that input is read. The reader flushes
// before it waits for the network, a timer after 1 ms at most if the
// reader does not come back, and a full buffer at once; a close frame
// never waits. A frame written with no input pending leaves at once, so
// corking adds no latency to a lone message. Frames always leave in the
// order written. [Conn.Cork] batches the writes of another goroutine
// explicitly, as a broadcast or an outgoing queue wants: what it writes
// inside Cork leaves together when Cork returns.
//
// # Broadcast
//
// A message sent to many connections, as a chat room or a feed sends it, is
// best prepared once: [NewPreparedMessage] copies it, and
// [Conn.WritePrepared] writes it to each connection without encoding it
// again. Its compressed form is made once per window and level, for every
// connection that compresses each message on its own (no context
// takeover); a connection with context takeover compresses it with its own
// history. A client masks its copy with its own key. Inside [Conn.Cork], a
// connection's queued messages, prepared or not, leave in one write.
//
// # Buffers and ownership
//
// ReadMessage returns a new slice the caller owns. The reader NextReader
// returns is reused for every message and valid until the next read call;
// it reads the payload straight into the caller's buffer (from the kernel,
// with no copy in between, when the caller's buffer is at least
// [Options.ReadBufferSize] long; on Linux the same read, a readv, brings
// what follows the payload into the read buffer, so the next frame's
// header costs no read of its own). WriteMessage and the writer's Write copy
// (and, on a client, mask) the payload into the connection's own write
// buffer, never into the caller's slice, which is not kept; a server sends
// a payload larger than the buffer as it is, in one vectored write with its
// header, in a [Loop] too, where only what the socket does not take at once
// is copied to wait. A frame that fits the write buffer leaves in one Write call.
// Payloads passed to [Options.OnPing] and [Options.OnPong] are valid only
// during the call. In steady state, reading with NextReader and writing
// with WriteMessage or NextWriter allocate nothing; a context that can end
// adds the small allocations of [context.AfterFunc] to each blocking call.
// [Serve] and a [Loop] hand each message to Handler.OnMessage as a slice the
// callback owns, one allocation a message, or, with
// Handler.BorrowMessages, lend it from the pools for the call only, which
// allocates nothing.
//
// The read and write buffers are borrowed from pools shared by all
// connections, for as long as there is input to parse or output to send,
// and given back as soon as they are empty: an idle connection holds
// neither. It waits for the socket to be readable through its
// syscall.RawConn, without a buffer; a net.Conn without one (a tls.Conn, a
// net.Pipe) keeps its read buffer, since it can only be waited on by
// reading. The wait happens near the top of the read call, so that the
// reading goroutine's stack at rest is small enough for the runtime to
// shrink to its minimum (2 KiB). Measured with bench/'s idle row, an idle
// connection costs 6.4 KiB of process memory in all at 10,000 and 19,000
// connections (the stack, the Conn, its net.Conn and the runtime poller's
// entry, and the heap's slack); in a [Loop], about 1.05 KiB.
//
// # Errors
//
// Once the peer's close frame arrived, reads return a [CloseError] with
// its code and reason (code 1005 when it had none); a connection that
// ended without a close frame reports code 1006, as the browser does.
// [CloseStatus] extracts the code. A protocol violation by the peer fails
// the connection: a close frame with the violation's code is sent, the TCP
// connection is closed, and every later call returns the same error, which
// matches a [frame.ProtocolError] with errors.As (code 1002 for framing
// errors, 1007 for invalid UTF-8, 1009 for a message over the read limit).
// Calls on a connection this side closed return errors matching
// [ErrClosed] (and [net.ErrClosed]).
//
// Every blocking method takes a context. A context that ends while the
// stream sits between frames leaves the connection usable; one that ends
// in the middle of a frame fails the connection, since the position in the
// stream is lost.
//
// # Closing
//
// [Conn.Close] runs the closing handshake of RFC 6455, Section 7: it sends
// a close frame, waits for the peer's, and ends the TCP connection, the
// server first, as Section 7.1.1 recommends, all within
// [Options.CloseTimeout]. A close frame from the peer is answered with the
// same code. [Conn.CloseNow] closes the TCP connection without a
// handshake. [Conn.State] follows the browser's readyState:
// CONNECTING, OPEN, CLOSING once a close frame went either way, CLOSED
// once the TCP connection is gone; [Options.OnStateChange] observes every
// transition.
//
// Once this side's close frame went, for Close and for a connection failed
// by a protocol violation of the peer (1002, 1007, 1009, ...), the
// connection reads on, discarding data, until the peer's close frame or
// the end of the stream: at most CloseTimeout, and at most 32 times
// [Options.ReadLimit] bytes (within 1 MiB and 64 MiB). Only then does it end
// TCP: a server at once, a client once the server did, within the same
// bounds. A peer is often still sending the message that failed, and
// closing a socket with unread input makes the kernel reset the connection,
// which destroys the close frame before the peer reads it: a browser would
// report 1006 instead of the code sent. So a read that fails the connection
// returns once this wait is over, with the connection CLOSED. Where the
// stream can no longer be followed frame by frame (a header that does not
// parse), a server shuts down its sending side after the close frame and
// discards until the peer's end of stream. Two failures end TCP at once:
// a context that ended in the middle of a frame (the caller gave up), and
// a keepalive timeout (the peer is gone).
//
// A Close from any goroutine while the reader is inside [Options.OnPing] or
// [Options.OnPong], including a Close from the hook itself, reads the
// peer's close frame in the reader's place, and returns like any other
// Close; the reader then returns the connection's end.
//
// # Keepalive
//
// A peer whose host vanished without a FIN (a closed laptop, a changed
// mobile network) or whose process hangs leaves a connection that TCP
// alone notices after minutes. With [Options.PingInterval] set, a
// connection that has heard nothing from the peer for that long sends a
// ping, and if nothing at all arrives within [Options.PongTimeout] (by
// default the interval again) it fails the connection: the peer is sent a
// close frame with 1001 (going away) if it can still take one, TCP is
// closed at once, and reads return an error matching [ErrKeepalive] with
// code 1006, as a browser reports a connection that ended without a close
// frame. Any frame counts as a sign of life, so a busy connection is never
// pinged, and a peer is failed at most PingInterval + PongTimeout after it
// went silent (plus the scheduling delay of a loaded machine).
//
// Keepalive runs on the read path and costs no goroutine and no timer of
// its own: it is the read deadline of the blocking read, moved only when
// it passes or a ping is answered. Like answering pings, it needs the
// connection to be read; [Serve] always is. Writes are bounded separately
// by [Options.WriteTimeout], so a peer that stops reading cannot hold a
// writer: a write the kernel does not take in time fails the connection.
//
// # Defaults
//
// Every bound but the last two applies without configuration:
//
//	bound                               default               option
//	message size                        1 MiB, then 1009      Options.ReadLimit
//	server handshake (Accept, Upgrade)  10 s or ctx           ServerOptions.Timeout
//	client handshake (all of Dial)      30 s or ctx           ClientOptions.Timeout
//	request and response head           8 KiB, 64 lines; 431  ServerOptions.Limits, ClientOptions.Limits
//	closing handshake                   5 s                   Options.CloseTimeout
//	discarded while closing             32 x ReadLimit, 1-64 MiB
//	keepalive                           off                   Options.PingInterval, PongTimeout
//	each write                          off (the context's)   Options.WriteTimeout
//
// "or ctx" means that a context with a deadline bounds the handshake
// instead of the default. Upgrade refuses a head over the limits with 431
// although net/http, whose http.Server allows 1 MiB by default, read it
// whole: set http.Server.MaxHeaderBytes to match.
//
// The servers in duplex/cmd turn keepalive and the write timeout on, and
// set net/http's read-header, idle and write timeouts and a head size to
// match the handshake's limits; a server of your own should do the same
// (see cmd/chat).
//
// # Compression
//
// With [Options.Compression] set, [Accept], [Upgrade] and [Dial] negotiate
// permessage-deflate ([RFC 7692]); [Conn.Compression] reports what was
// agreed. Every parameter is honoured in both directions: context takeover
// kept across messages or reset for each, and any LZ77 window of 8 to 15
// bits the peer asks for. Messages are compressed at levels 2 to 9 with
// github.com/klauspost/compress/flate, a well-kept library that, unlike
// compress/flate (always a 32 KiB window), bounds its back-references to
// any window, so a window is never claimed that is not produced; on
// chat-like JSON its compressor takes a half to a seventh of
// compress/flate's CPU time at the same level. Level 1 is
// internal/deflate's own compressor, as fast as klauspost's level 1 for
// smaller output, and as fast under any window, where klauspost's only
// windowed compressor is its level 5. They are inflated by
// internal/deflate's own inflater, which takes 56 to 62% less CPU time
// than klauspost's on chat-like JSON of 256 B to 64 KiB, for a message of
// up to 64 KiB on the wire, and by klauspost's beyond (see
// internal/deflate). A window of 8 bits is honoured as 256 bytes, although
// zlib-based peers use 512. A client always offers client_max_window_bits,
// letting the server choose its window.
//
// Writes: [Conn.WriteMessage] compresses a message of at least
// CompressionOptions.Threshold bytes (by default 64 with context takeover,
// 160 without, under which a message alone comes out larger or barely
// smaller; see [DefaultCompressionThresholdAlone]) into one
// frame with RSV1 set;
// [Conn.NextWriter] compresses as it is written, RSV1 on the first frame
// only (RFC 7692, Section 6.1). Control frames are never compressed. A
// context from [NoCompression] sends one message as is, for data already
// compressed; with context takeover such a message does not enter the
// compressor's history, as the peer's decompressor never sees it.
//
// Prepared messages ([NewPreparedMessage], [Conn.WritePrepared]; see
// Broadcast): the compressed form is made once per window and level, at
// the first connection that needs it, and shared by every connection that
// compresses each message on its own (no context takeover) with those
// parameters; a connection with context takeover compresses the message
// with its own history, as the peer's decompressor expects. A client masks
// its copy of the shared form in its write buffer, never the shared bytes.
//
// Reads: a message with RSV1 of up to 64 KiB on the wire is read whole,
// then inflated at once into a pooled buffer that the reader serves, so
// that a NextReader reading it holds its plaintext (at most the read limit,
// or 1 MiB) until its end; a longer one is inflated as it is read. [Options.ReadLimit] applies to the
// inflated size, checked as it grows (the inflater itself stops one byte
// past the limit, so what it holds is bounded by the limit too), so a small
// frame that inflates far beyond the limit stops there and fails the
// connection with 1009; its size on the wire may exceed the limit by an eighth plus 1 KiB,
// the most incompressible data grows once coded. Text is checked for UTF-8
// after inflating. Invalid DEFLATE data fails the connection with 1007
// ([ErrBadCompressedData]; RFC 7692, Section 8 names no code), and RSV1 on a
// continuation or control frame with 1002.
//
// Memory: an idle connection holds no compressor or decompressor state
// beyond the history context takeover needs: at most 2^bits bytes per
// direction, grown with the messages (so 32 KiB each way at most with the
// default window), and none for a direction without context takeover. The
// compressors (0.4 MiB at level 1, 0.8 MiB at level 2 to 1.4 MiB at level 9, 1.1 MiB for
// windows under 15 bits), the inflaters (12 KiB of tables, with the
// message's compressed bytes, history and plaintext) and the buffer a
// message is compressed into are borrowed from pools shared by all
// connections for one message at a time, and the pools let idle ones go at
// garbage collection. A message of up to 16 KiB written whole
// ([Conn.WriteMessage], [Conn.WritePrepared]) at level 1 without context
// takeover borrows no compressor at all: klauspost's stateless encoder
// compresses it with a 16 KiB table on the writing goroutine's stack,
// which the runtime shrinks again at the following collections (see
// internal/deflate). To bound memory for many idle connections, set
// NoContextTakeover and PeerNoContextTakeover, or smaller window bits.
// Measured over 10,000 idle pairs (BenchmarkIdleMemory, with the pools
// emptied, over an in-memory pipe: go test -run '^$' -bench IdleMemory
// -benchtime 1x ./conn), an endpoint holds, beyond an uncompressed one,
// 0.28 KiB without context takeover, whatever went through it; with
// context takeover and 15-bit windows, 0.69 KiB after one 200-byte message
// each way and 64 KiB after 48 KiB each way (the two histories); with
// 10-bit windows, 2.3 KiB after 48 KiB each way.
//
// Speed: nearly all the time of a compressed message goes to the
// compressor and the inflater (about 90% of the CPU time of the round trip
// below at 64 KiB in a profile, the runtime and system calls most of the
// rest), and the connection makes no allocation for it. A compressed
// message written whole is built in one pooled buffer after room for its
// frame header, and a client masks it there, so that its frame leaves in
// one write whatever its size (a vectored one after frames corked before
// it). A compressed echo round trip of chat-like JSON (a client writes a
// message, the server reads it and writes it back, the client reads it;
// one library at both ends, in one process, over loopback TCP; level 1;
// the parameters agreed are checked from the server's response) takes,
// against lxzan/gws v1.8.9 under the same parameters, this share of its
// CPU time (of its wall time in brackets), the median of six runs of
// bench/micro's BenchmarkCompressedEchoRatio, which interleaves the
// libraries' round trips so that they share the machine's drifting load,
// with the range of the six CPU ratios (cd bench && go test -run '^$'
// -bench CompressedEchoRatio -count 6 ./micro; load average 0.4 to 1.0 on
// 2 cores):
//
//	agreed, both ways              4 KiB                     64 KiB
//	no context takeover, 15 bits   0.79 (0.80), 0.78-0.80    0.71 (0.71), 0.71-0.72
//	context takeover, 15 bits      0.34 (0.34), 0.34-0.34    0.61 (0.60), 0.60-0.62
//	context takeover, 12 bits      0.50 (0.50), 0.50-0.51    0.58 (0.57), 0.57-0.59
//
// The 4 KiB row without context takeover moves between two levels from
// one run to the next, about 0.71 and about 0.79 (the test binary run
// eight times in a row gave 0.71, 0.71, 0.72, 0.72, 0.79, 0.80, 0.79,
// 0.80), most likely with where the scheduler puts the two ends; the
// six runs above all fell on the upper one. Under a load average of 5
// the same command gave 0.77 (0.73-0.79), 0.70, 0.32, 0.59, 0.45 and 0.56.
//
// Where the gain comes from (internal/deflate has the figures of each):
// the inflater of internal/deflate, which takes the place of klauspost's
// for messages of up to 64 KiB on the wire; at level 1, internal/deflate's
// own compressor, as fast as klauspost's level 1 at 15 bits and about 0.6
// of the time of the windowed compressor gws uses under 15 bits (its only
// one there, its level 5: the output is 5 to 11% larger, no larger than
// klauspost's level 1 at 15 bits); and, with context takeover, a
// connection's compressor going on from where its last message left it,
// while gws seeds its compressor with the whole window (32 KiB or 4 KiB
// here) for every message. Before the own inflater the same command gave
// 0.94 and 1.01 without context takeover, 0.39 and 0.85 with it at 15
// bits, 0.69 and 0.95 at 12 bits; with the inflater and before the own
// level 1, 0.80 and 0.82, 0.39 and 0.73, 0.68 and 0.86. A message of up to
// 16 KiB without context takeover is compressed by klauspost's stateless
// encoder, which needs no compressor (see Memory above): in this round
// trip it does better at 4 KiB than the own level 1. On a busy server
// whose connections take turns with more compressors than are kept apart
// for them, a message's compressor is seeded with 2 to 8 KiB of its
// history (see internal/deflate). Per round trip (bench/micro's
// BenchmarkCompressedEcho, -benchmem), duplex makes no allocation, gws 6
// (0.2 to 1.7 KiB); duplex's few hundred bytes per round trip are
// compressors that the garbage collector took from the pools, made again.
// Against gorilla/websocket v1.5.3 (compress/flate, no context takeover
// only), duplex takes 0.45 of its CPU time at 4 KiB and 0.41 at 64 KiB
// (same run).
//
// # WebSockets over HTTP/2
//
// A browser sends every request to an origin over one HTTP/2 connection,
// but a WebSocket opened with the HTTP/1.1 upgrade costs a TCP and TLS
// connection of its own. [RFC 8441] lets it run on a stream of the page's
// HTTP/2 connection instead: the client sends an extended CONNECT
// (":method CONNECT", ":protocol websocket", ":scheme", ":path",
// ":authority", Sec-WebSocket-Version 13 and the usual Origin,
// Sec-WebSocket-Protocol and Sec-WebSocket-Extensions; no key), the server
// answers 200, and the stream's DATA frames carry the RFC 6455 frames,
// masking included. Everything above the bytes is the same Conn: messages,
// fragmentation, ping and pong, the closing handshake, keepalive, limits
// and permessage-deflate; the end of the stream (END_STREAM, or
// RST_STREAM) stands for the end of the TCP connection (RFC 8441,
// Section 5).
//
// Server: [Upgrade] handles both kinds of request. An HTTP/2 (or later)
// CONNECT goes to handshake.AcceptConnect, which checks it (Sections 4 and
// 5, then the origin policy, subprotocols and extensions exactly as for
// HTTP/1.1, with the same options) and refuses with an HTTP/2 response
// (a status, headers and a short body; 400 for a wrong :protocol or
// version, 403 for a foreign origin), or sends the 200 and flushes it.
// The connection then reads the client's frames from r.Body and writes
// through w, flushing each write. Nothing is hijacked: the stream, and so
// the connection, lasts as long as the handler, which must not return
// before the connection is closed; a connection whose handler returned
// fails as one whose TCP connection closed, and its writes return errors.
// Register the handler without a method in its pattern: "GET /ws" does not
// match a CONNECT, "/ws" matches both. A server on its own listener that
// negotiates h2 with ALPN can hand HTTP/2 connections to
// golang.org/x/net/http2's Server.ServeConn with a handler that calls
// Upgrade, and the others to [Accept] (x/net's server, since net/http
// serves HTTP/2 only through an http.Server; both read the GODEBUG below).
//
// The stream's deadlines are the connection's own: net/http's stream
// deadlines cannot serve, since an expired read deadline there breaks the
// body for good and an expired write deadline resets the stream, while the
// connection lets deadlines expire and reads on (keepalive, a context
// ending a wait). So one goroutine per connection reads the body, 32 KiB
// at a time, and a read waits for it under its deadline (an idle HTTP/2
// connection therefore holds that goroutine and its buffer, besides the
// handler's goroutine net/http runs for every stream); a write that HTTP/2
// flow control holds past its deadline resets the stream, as a write that
// timed out leaves a TCP connection unusable. The connection is served by
// a goroutine, never by a [Loop]'s poller: the stream has no socket to
// poll. [Loop.Serve] still returns at once, so a handler that hands an
// HTTP/2 connection to a Loop must then wait for it to close (on a channel
// its OnClose closes, say) before it returns.
//
// Client: [DialOptions].HTTP2 makes Dial offer h2 in ALPN for a wss URL.
// If the server picks it and its first SETTINGS frame holds
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (Section 3), Dial sends the
// extended CONNECT with golang.org/x/net/http2's client, on a connection
// it dialled for this WebSocket alone; if the server picks http/1.1, Dial
// upgrades on that connection; if its SETTINGS lack the setting, on a new
// HTTP/1.1 connection. The response head returned says which (ProtoMajor).
//
// The process-wide switch: Go's HTTP/2 server (net/http's, and x/net's)
// implements the server side of RFC 8441 but advertises the setting only
// when the process starts with GODEBUG=http2xconnect=1 in its environment.
// Both read the variable once, in an init function, so neither os.Setenv
// nor a //go:debug directive turns it on, and it applies to every HTTP/2
// server of the process. Without it, an HTTP/2 client such as a browser
// falls back to the HTTP/1.1 upgrade (Upgrade serves both), so the switch
// costs nothing in compatibility; with it, Go's server hands every
// extended CONNECT, whatever its :protocol, to the handler, which must
// refuse what it does not serve (Upgrade does). The test binaries that
// need it (conn, interop) run themselves again with it, and the autobahn
// test starts its HTTP/2 server process with it.
//
// Cost: a stream saves the browser a TCP and TLS connection (and their
// handshakes) per WebSocket, and the server a socket; each frame pays for
// HTTP/2 instead: a DATA frame, flow control, and hops between goroutines
// (on the server, the handler's, the HTTP/2 connection's and its writer's;
// on the client, x/net's body writer's). Measured with BenchmarkH2 (both
// over TLS on loopback, to the same net/http server, medians of 5; go test
// ./conn -run '^$' -bench '^BenchmarkH2$' -count 5), HTTP/2 over HTTP/1.1
// took, in two runs on this shared 2-core machine at load averages of 9
// and 16 to 29: one 16-byte message and its echo 2.6 and 1.8 times as
// long, 1 KiB 2.8 and 1.9, 64 KiB 3.5 and 4.0; sending messages one way, 16
// bytes 3.7 and 5.8 times as long per message, 1 KiB 2.0 and 3.4, 64 KiB
// 0.8 and 2.5. Small messages pay most, as the per-frame work dominates;
// the absolute times vary with the load more than the ratios.
//
// Checked on Go 1.26.8, golang.org/x/net v0.62.0 and Debian's Chromium
// 156.0.8078.114 (h2_test.go, interop/h2_test.go, and net/http's source
// for what no test reaches): without the GODEBUG, net/http's server sends
// no SETTINGS_ENABLE_CONNECT_PROTOCOL (TestH2WithoutGODEBUG) and resets a
// stream whose request has :protocol (PROTOCOL_ERROR); with it, a handler sees
// r.Method CONNECT, r.ProtoMajor 2 and r.Header.Get(":protocol") ==
// "websocket", r.Host from :authority and r.RequestURI from :path (a
// request without :path is refused), but not :scheme, which the server
// neither checks nor passes on (the origin policy takes the scheme from
// r.TLS, as over HTTP/1.1). Chromium needs no flag: a page
// loaded over HTTP/2 from a server that advertised the setting opens its
// same-origin WebSocket as an extended CONNECT on that very connection
// (same client port); without the setting it opens a second connection
// and upgrades over HTTP/1.1; if the server refuses the CONNECT, the
// WebSocket fails (close code 1006) and Chromium does not retry over
// HTTP/1.1. net/http's Transport refuses to send :protocol; x/net's sends
// it, once the server's SETTINGS allowed it.
//
// # Conformance
//
// The connection enforces RFC 6455 on what it receives: masking by role,
// reserved bits and opcodes, control frame size and fragmentation,
// fragment order, close codes and payloads, and UTF-8 in text messages and
// close reasons, checked incrementally so an invalid message fails at its
// first bad byte. Pings are answered with their payload whatever the
// application does. Each frame a client sends has a fresh mask key from a
// per-connection ChaCha8 generator seeded from crypto/rand. Messages
// received after a close frame went either way are discarded.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
// [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
package conn
