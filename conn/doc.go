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
// # Buffers and ownership
//
// ReadMessage returns a new slice the caller owns. The reader NextReader
// returns is reused for every message and valid until the next read call;
// it reads the payload straight into the caller's buffer. WriteMessage and
// the writer's Write copy (and, on a client, mask) the payload into the
// connection's own write buffer, never into the caller's slice, which is
// not kept. A frame that fits the write buffer leaves in one Write call.
// Payloads passed to [Options.OnPing] and [Options.OnPong] are valid only
// during the call. In steady state, reading with NextReader and writing
// with WriteMessage or NextWriter allocate nothing; a context that can end
// adds the small allocations of [context.AfterFunc] to each blocking call.
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
package conn
