package conn

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"duplex/frame"
	"duplex/handshake"
)

// AcceptOptions configures Accept and Upgrade: the opening handshake and the
// connection it opens. A nil *AcceptOptions means the defaults; the options
// are only read during the call, so the caller may reuse or change them after
// it returns.
type AcceptOptions struct {
	// ServerOptions configure the opening handshake: subprotocols, the origin
	// policy (by default a browser's Origin must match the request's Host and,
	// over TLS, be https: RFC 6455, Section 10.2), extra response headers, the
	// head limits, the handshake's timeout ([handshake.DefaultTimeout]), and
	// Authorize, a hook called with the request (its target, cookies,
	// credentials: Result.RequestTarget, Result.RequestHeader) once the
	// handshake's checks have passed, which may refuse it with a status such
	// as 401 or 403 before the 101 is written: the Conn keeps no request, so
	// that is where a server on a raw net.Conn looks at it.
	// NegotiateExtensions must stay nil: the connection negotiates the
	// extensions it can apply from Options.Compression.
	ServerOptions

	// Options configures the connection once it is open.
	Options
}

// noOptions serves a nil *AcceptOptions or *DialOptions: nothing reads
// through it but withDefaults, which copies.
var noOptions Options

// handshakeOptions returns the handshake's options for o, with the
// extension negotiation the connection can apply, and the connection's
// options. Without compression they are o's own, read in place: a copy
// would escape, as the handshake keeps its options in pooled state while it
// runs, and cost an allocation per connection.
func (o *AcceptOptions) handshakeOptions() (*ServerOptions, *Options, error) {
	if o == nil {
		return nil, &noOptions, nil
	}
	if o.NegotiateExtensions != nil {
		return nil, nil, errOwnExtensions
	}
	neg := o.Compression.negotiator()
	if neg == nil {
		return &o.ServerOptions, &o.Options, nil
	}
	so := o.ServerOptions
	so.NegotiateExtensions = neg
	return &so, &o.Options, nil
}

// Accept performs the server side of the opening handshake on nc, a
// connection accepted from a net.Listener, and returns the open connection.
//
// ctx bounds the handshake only: cancelling it aborts a handshake in progress.
// The returned Conn is not tied to ctx. nc should carry no deadline of the
// caller's: handshake.Accept clears the one it sets, but leaves one set before
// it in place when it needs none (see handshake.Accept). On any error nc is closed; a refused
// handshake (by the checks or by ServerOptions.Authorize) has been answered
// with its HTTP status first and is reported as a *handshake.Error carrying
// that status.
func Accept(ctx context.Context, nc net.Conn, opts *AcceptOptions) (*Conn, error) {
	so, co, err := opts.handshakeOptions()
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("conn: accept: %w", err)
	}
	res, err := handshake.Accept(ctx, nc, so)
	if err != nil {
		return nil, fmt.Errorf("conn: accept: %w", err)
	}
	return openConn(nc, res, frame.RoleServer, co)
}

// Upgrade is the net/http form of Accept: it checks r, hijacks w and writes the
// 101 response on the hijacked connection. Bytes the client sent after its
// request that net/http had already buffered are kept: they are read as the
// start of the first frame.
//
// On a refused handshake the HTTP error has been written through w (w is not
// hijacked) and the error is a *handshake.Error carrying the status. The
// returned Conn is not tied to r.Context, which net/http cancels when the
// handler returns.
//
// Over HTTP/2, an extended CONNECT (RFC 8441; r.ProtoMajor 2, r.Method
// CONNECT) is answered with 200 instead, and the connection runs on the
// request's stream (see handshake.AcceptConnect): nothing is hijacked, and
// the stream, so the connection, ends when the handler returns, which must
// therefore wait until the connection is closed (as a handler running
// Serve or a read loop does). See "WebSockets over HTTP/2" in the package
// documentation.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	so, co, err := opts.handshakeOptions()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return nil, fmt.Errorf("conn: upgrade: %w", err)
	}
	if handshake.IsConnect(r) {
		return upgradeConnect(w, r, so, co)
	}
	nc, res, err := handshake.Upgrade(w, r, so)
	if err != nil {
		return nil, fmt.Errorf("conn: upgrade: %w", err)
	}
	return openConn(nc, res, frame.RoleServer, co)
}

// openConn builds the connection on what the handshake read past its head,
// then nc: those bytes may already hold the peer's first frame.
func openConn(nc net.Conn, res *handshake.Result, role frame.Role, opts *Options) (*Conn, error) {
	c := newConn(nc, res.Rest, role, opts)
	if err := c.open(res.Subprotocol, res.Extensions); err != nil {
		c.fail(err)
		return nil, err
	}
	return c, nil
}
