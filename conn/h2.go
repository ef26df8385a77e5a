package conn

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"duplex/frame"
	"duplex/handshake"
	"duplex/internal/deadline"
)

// upgradeConnect is Upgrade for an extended CONNECT on HTTP/2 (RFC 8441): the
// handshake answers 200 on the stream, which then carries the connection.
func upgradeConnect(w http.ResponseWriter, r *http.Request, so *ServerOptions, co *Options) (*Conn, error) {
	res, err := handshake.AcceptConnect(w, r, so)
	if err != nil {
		return nil, fmt.Errorf("conn: upgrade: %w", err)
	}
	return openConn(serverStream(w, r), res, frame.RoleServer, co)
}

// serverStream is the net.Conn over the stream of the extended CONNECT r,
// which w answers.
func serverStream(w http.ResponseWriter, r *http.Request) *h2Stream {
	rc := http.NewResponseController(w)
	var local net.Addr
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = a
	} else {
		local = h2Addr("")
	}
	var s *h2Stream
	// The ResponseWriter must not be used once the handler returned: it
	// panics then, and the handler may return while the connection still
	// runs (a handler that does not wait for it). The stream closes when
	// the request's context ends, which follows the handler's return, and
	// a write in the moment between the two is recovered from: it fails as
	// writing to a closed connection does.
	write := func(p []byte) (n int, err error) {
		defer func() {
			if recover() != nil {
				n, err = 0, net.ErrClosed
			}
		}()
		if n, err = w.Write(p); err == nil {
			err = rc.Flush()
		}
		return n, err
	}
	abort := func() {
		defer func() { _ = recover() }() // as write: the handler may be gone
		// A write deadline in the past resets the stream at once
		// (RST_STREAM), which ends the write that flow control holds.
		_ = rc.SetWriteDeadline(deadline.Past)
	}
	// RFC 8441, Section 5: the stream's end stands for the TCP connection's;
	// net/http ends it (END_STREAM) when the handler returns, so closing
	// has nothing more to do.
	// The response cannot end before the handler returns, so ending the
	// sending side ends the stream: the handler's return then sends
	// END_STREAM and RST_STREAM(NO_ERROR), which RFC 9113, Section 8.1
	// lets a server send after a complete response so that the client stops
	// sending. Unlike a TCP reset, it loses nothing the client has not
	// read: the close frame already sent is delivered.
	endSend := func() { _ = s.Close() }
	s = newH2Stream(r.Body, write, abort, func() {}, endSend, local, h2Addr(r.RemoteAddr))
	stop := context.AfterFunc(r.Context(), func() { _ = s.Close() })
	s.release = func() { stop() }
	return s
}
