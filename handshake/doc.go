// Package handshake implements the opening handshake of [RFC 6455], Section 4, over
// HTTP/1.1: the server side on a raw net.Conn ([Accept]) or on a request net/http has
// already read ([Upgrade]), and the client side on an established connection ([Client]).
//
// The request and response heads are parsed by hand, within [Limits]: [ReadRequest] and
// [ReadResponse] read them from a bufio.Reader, for callers with a reader of their own and
// for fuzzing; [Accept] and [Client] read them into a buffer of their own, by the same rules
// (a differential test and a fuzz target hold Accept to ReadRequest). net/http is used only
// for its Header type and by the [Upgrade] adapter. [Accept] and [Upgrade] share one set of
// checks, so they refuse the same requests with the same status. The key derivation
// ([AcceptKey], [NewClientKey]) and the Sec-WebSocket-Extensions grammar
// ([ParseExtensions], [AppendExtensions]) are exported for the layers above and for
// fuzzing.
//
// Over HTTP/2 ([RFC 8441]) the opening handshake is an extended CONNECT on a stream:
// [AcceptConnect] checks one that net/http read ([IsConnect] tells it from an HTTP/1.1
// upgrade) with the same origin, subprotocol and extension rules and options as [Accept],
// and answers 200 or a refusal through the ResponseWriter; [NewConnectRequest] and
// [CheckConnectResponse] are the client's side, for golang.org/x/net/http2's client. No
// key is exchanged (RFC 8441, Section 5). Package conn runs the connection on the stream.
//
// # Conformance
//
// Server (RFC 6455, Section 4.2): every requirement of Section 4.2.1 is checked, including
// the single Sec-WebSocket-Key and Sec-WebSocket-Version of Sections 11.3.1 and 11.3.5; a
// version other than 13 gets 426 with Sec-WebSocket-Version: 13 (Section 4.4). The 101
// response carries Upgrade, Connection, Sec-WebSocket-Accept and the selected subprotocol
// and extensions (Section 4.2.2). Client (Section 4.1): a fresh 16-byte key from
// crypto/rand per request, Host without the default port, and every "MUST _Fail the
// WebSocket Connection_" check on the response. Sec-WebSocket-Extensions follow the grammar
// of Section 9.1. The HTTP/1.1 framing follows RFC 9112, choosing rejection wherever it
// offers a choice (bare LF, obsolete line folding).
//
// permessage-deflate ([RFC 7692], Section 7): [DeflateParams] holds the four parameters;
// [ParseDeflateOffer] and [ParseDeflateResponse] apply Section 7's rules (an unknown or
// repeated parameter, or a bad value, makes an offer one to decline and a response one to
// fail); [AcceptDeflate] selects among a client's offers for a NegotiateExtensions hook and
// accepts every window size of 8 to 15 bits; [Client] checks a permessage-deflate response
// against its offers ([CheckDeflateResponse]) and fails the handshake when none allows it.
//
// # Buffers and ownership
//
// A head is read into a 4 KiB buffer borrowed from a pool for the duration of the
// handshake only (a longer head gets a buffer of its own, up to Limits.MaxHeadBytes);
// Accept writes its 101 response from the same buffer. Nothing in a [Result] points into it.
//
// The peer may send its first frame in the same packet as its head: a client right after
// its request, a server right after its 101. The head readers stop at the empty line that
// ends the head, but a read may bring more: Result.Rest holds a copy of those bytes (nil
// when there are none, the usual case), owned by the caller. They belong to the WebSocket
// connection, which must consume them before it reads from the net.Conn; conn does. For
// [Upgrade], Rest holds what the buffered reader net/http hijacked still held.
//
// [Accept] builds no header map: it checks the fields in place and keeps one copy of the
// head in the Result. [Result.RequestHeader] reads one field of that copy (Cookie,
// Authorization, Origin, Sec-WebSocket-Protocol, ...) without allocating: the string it
// returns shares the copy's memory. [Result.Request]
// parses the copy, on each call, into a new [Request] with its header map, owned by the
// caller: a few allocations and about a microsecond, paid only by a server that wants the
// whole request. After [Upgrade] both read the header net/http read; after [Client], the
// request that was sent.
//
// The Response and Extensions in a Result are owned by the caller. On the server side
// Subprotocol is one of the strings of ServerOptions.Subprotocols.
//
// # Errors
//
// A refused or failed handshake returns an [*Error]: its Status is the HTTP status the server
// sent (server side) or received (client side; 0 when no response was read), and its cause
// wraps one of the sentinel errors (ErrBadMethod, ErrBadVersion, ErrOriginRefused, ...),
// matched with errors.Is. I/O errors, deadlines included, are returned wrapped with the step
// that failed, so errors.Is(err, os.ErrDeadlineExceeded) and errors.Is(err, io.EOF) work.
// On any error Accept and Client close the connection; so does Upgrade once it has hijacked.
//
// Every refusal is a complete HTTP/1.1 response with Content-Type text/plain, a
// Content-Length, Connection: close and a one-line body saying why; 405 carries Allow: GET
// and 426 carries Upgrade: websocket and Sec-WebSocket-Version: 13.
//
// # Concurrency
//
// The functions keep no state between calls: any number of handshakes may run at once, on
// different connections, sharing one options value, which they only read. A
// NegotiateExtensions hook may thus be called concurrently. A handshake must be the only
// user of its connection while it runs.
//
// # Security
//
// Origin: a browser lets any page open a WebSocket to any host with the user's cookies, so
// by default [Accept] and [Upgrade] accept a request carrying an Origin only if the origin's
// host equals the Host header (RFC 6455, Section 10.2). ServerOptions.OriginPatterns widens
// this to listed host patterns; InsecureSkipOriginCheck disables it for servers that trust
// no ambient credentials. A request without Origin does not come from a browser and is
// accepted.
//
// Authorization: [ServerOptions.Authorize] sees the request (its target, cookies,
// credentials) once the handshake's own checks have passed and before the 101 is written,
// and may refuse it with a status of its choice and header fields such as the
// WWW-Authenticate challenge of a 401 ([Error.Header]); the refusal's body is the status
// text alone, so that the reason stays on the server. The same hook serves [Accept],
// [Upgrade] and [AcceptConnect], and package conn passes it on: it is how a server on a raw
// net.Conn, whose conn.Conn keeps no request, looks at one.
//
// Limits: a request head is read within [Limits] (8 KiB and 64 header lines by default;
// over that, 431), so a peer cannot make the server buffer without bound.
//
// Deadline: [Accept] bounds the handshake by ServerOptions.Timeout (10 s by default) and
// its context's deadline, so a client that sends slowly or not at all cannot hold a
// goroutine. The bound is set on the connection as a deadline before any read or write
// that may wait, and cleared on success. On a *net.TCPConn under Unix, Accept first reads
// what the socket holds without waiting (through syscall.RawConn): a request that arrived
// whole, the usual case on a fresh connection, is checked and answered with no deadline,
// the 101 response too being written without waiting when the send buffer takes it at
// once, as an empty one does. A request still incomplete after that read, a response the
// socket does not take whole, and every refusal (with its lingering close) are under the
// deadline, which is thus computed and set only for a slow or a refused client. Any other
// net.Conn (TLS, a pipe, a type wrapping a TCPConn) gets the deadline before the first
// read. A deadline the caller set on the connection before Accept is replaced and cleared
// when Accept sets its own, and otherwise left as it was. [Client] takes its bound from its
// context.
//
// Strict syntax: lines must end in CRLF. RFC 9112, Section 2.2 allows a recipient to accept a
// bare LF, and net/http does; this package refuses it, along with obsolete line folding,
// several Host headers and invalid header names or values, so that it never reads a head
// differently from a stricter proxy in front of it (the root of request smuggling). Every
// browser and WebSocket library sends CRLF.
//
// # Performance
//
// On the server side the hot path is the raw-connection [Accept]: for a browser's request
// (14 header lines, a cookie, a permessage-deflate offer) it allocates the copy of the
// head alone, 576 bytes in 1 allocation, where it took 24 allocations and 6.7 KB when it
// read the head with ReadRequest into a header map. Accept and [Upgrade] are small enough
// to be inlined, their work done in a function of their own, so the Result is allocated
// in the caller's frame: on its stack when the caller takes its fields and drops it, as
// conn.Accept and conn.Upgrade do, on the heap (one more allocation) when it keeps it.
// Upgrade then allocates nothing of its own, and conn.Accept, which reads the caller's
// server options in place unless compression needs a copy, 2 in all with its Conn. The
// read buffer is pooled because the allocation target needs it: a fresh 4 KiB buffer per
// handshake would be one more allocation and 4 KiB to clear. Over TCP a handshake makes
// two system calls, one read and one write, as ws.Upgrade does (counted with strace).
//
// Side by side with gobwas/ws's ws.Upgrade, which checks less (it skips the syntax checks of
// every name and value, the origin policy and Sec-WebSocket-Extensions) and keeps no head,
// in bench/micro, contenders interleaved, medians of 6 runs on 2 cores shared with other
// work:
//
//	cd bench && go test ./micro -run '^$' -bench 'HandshakeRaw.*Ratio' -count 6
//
// The ratios are of the CPU time of the benchmark's thread (the -cpu metrics), which the
// load does not inflate: at load average 6 to 13, where these were taken, the wall-time
// ratios spread over a factor of ten between runs, the CPU ones over a few percent.
//
// Over loopback TCP, the request in the socket when the handshake starts (what servers
// run): Accept over ws.Upgrade 0.99 (0.96 to 1.01) for the minimal request of RFC 6455 and
// 1.01 (0.99 to 1.05) for a browser's; conn.Accept, the Conn included, 1.03 and 1.07 (wall
// time, at load 4 or less: 0.99 and 1.03, conn.Accept 1.02 and 1.06). The system calls and
// the loopback delivery they start are about nine tenths of a handshake there.
//
// On an in-memory net.Conn, the parsing and checks alone, plus the deadline Accept sets and
// clears on a connection it cannot poll: 1.34 (1.30 to 1.36) for the minimal request and
// 1.45 (1.41 to 1.53) for the browser's, conn.Accept 1.74 and 1.80; in the same conditions,
// before the request line and the browsers' extension offer were recognised whole, 1.36
// and 1.50, conn.Accept 1.76 and 1.86. What keeps Accept above ws.Upgrade there is mostly
// what it owes its callers, each measured by leaving it out of a build of its own: the copy
// of the head that the Result keeps (its allocation and the collector's work that follows)
// 0.11 and 0.19 of ws.Upgrade's time, and the clock read that computes the deadline 0.14
// (about 30 ns on this machine; reading the monotonic clock alone, as time.Since does,
// would save a fifth of that). Without those two Accept would take about 1.1 of
// ws.Upgrade's time: the deadline's two calls into the connection and the checks
// ws.Upgrade does not make. Both pay for SHA-1.
//
// With the options a demanding server sets (BenchmarkHandshakeRawOptionsRatio: a
// subprotocol, an origin pattern and an extra response field, against a ws.Upgrader with
// the same subprotocol and field and callbacks on the target and the Host), Accept takes
// 0.93 and 1.07 of ws.Upgrader's time, conn.Accept 1.23 and 1.35; they took 1.38 and 1.56,
// 1.71 and 1.85 when every handshake validated the options again (a path.Match per origin
// pattern, the syntax of the extra field, its keys sorted for the response). A pooled
// scratch now keeps a copy of the options it last validated, and of the response lines
// they make, and compares it with the options it is given: a few string comparisons that
// stop at the first word when the strings are the same. The benchmark's Authorize hook,
// which reads the target and the Host, brings Accept to 1.05 and 1.18 and conn.Accept to
// 1.33 and 1.46, with no allocation: the hook gets the Result as a value.
//
// Through a real http.Server on in-memory connections, conn.Upgrade makes 41 and 52
// allocations where gorilla/websocket makes 48 and 60, in 0.95 and 0.99 of its wall time
// (medians of 6, ranges 0.93 to 1.02 and 0.92 to 1.04, same run, at load 4 or less; the
// handshakes run on the servers' goroutines, so the thread's CPU time tells nothing here). net/http runs the
// handler on a goroutine whose stack starts small: Upgrade keeps what its checks gather in
// the pooled scratch and runs the checks and the hijack in frames of their own, so that the
// stack need not grow.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
// [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
package handshake
