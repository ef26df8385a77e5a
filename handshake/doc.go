// Package handshake implements the opening handshake of [RFC 6455], Section 4, over
// HTTP/1.1: the server side on a raw net.Conn ([Accept]) or on a request net/http has
// already read ([Upgrade]), and the client side on an established connection ([Client]).
//
// The request and response heads are parsed by hand ([ReadRequest], [ReadResponse]) from a
// bufio.Reader, within [Limits]; net/http is used only for its Header type and by the
// [Upgrade] adapter. [Accept] and [Upgrade] share one set of checks, so they refuse the same
// requests with the same status. The key derivation ([AcceptKey], [NewClientKey]) and the
// Sec-WebSocket-Extensions grammar ([ParseExtensions], [AppendExtensions]) are exported for
// the layers above and for fuzzing.
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
// A successful handshake returns a [Result] whose Reader is never nil. The head parsers
// consume exactly the head, through the empty line that ends it, but the reader may already
// hold bytes the peer sent right after it: a client may send its first frame in the same
// packet as its request, and a server its first frame with the 101 response. Those bytes
// belong to the WebSocket connection, so it must read from Result.Reader, never from the
// net.Conn directly. For [Upgrade], Reader is the buffered reader net/http hijacked.
//
// The Request, Response and Extensions in a Result are owned by the caller.
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
// Limits: a request head is read within [Limits] (8 KiB and 64 header lines by default;
// over that, 431), so a peer cannot make the server buffer without bound.
//
// Deadline: [Accept] sets a deadline of ServerOptions.Timeout (10 s by default) for the
// whole handshake, so a client that sends slowly or not at all cannot hold a goroutine; the
// deadline is cleared on success. [Client] takes its bound from its context.
//
// Strict syntax: lines must end in CRLF. RFC 9112, Section 2.2 allows a recipient to accept a
// bare LF, and net/http does; this package refuses it, along with obsolete line folding,
// several Host headers and invalid header names or values, so that it never reads a head
// differently from a stricter proxy in front of it (the root of request smuggling). Every
// browser and WebSocket library sends CRLF.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
package handshake
