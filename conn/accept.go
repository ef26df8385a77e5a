package conn

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"duplex/frame"
	"duplex/handshake"
)

// AcceptOptions configures Accept and Upgrade. A nil *AcceptOptions means the
// defaults; the options are copied, so the caller may reuse or change them after
// the call returns.
type AcceptOptions struct {
	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The first one the client also offered is selected
	// (RFC 6455, Section 4.2.2); none is selected when nothing matches.
	Subprotocols []string

	// OriginPatterns adds host patterns (path.Match syntax, such as
	// "*.example.com" or "localhost:*") a browser Origin may have besides the
	// request's own Host. By default a request whose Origin host differs from
	// its Host is refused with 403, which protects browser clients from
	// cross-site WebSocket hijacking (RFC 6455, Section 10.2).
	OriginPatterns []string

	// InsecureSkipOriginCheck accepts any Origin. Only for servers that do not
	// rely on browser cookies or other ambient credentials.
	InsecureSkipOriginCheck bool

	// Header holds extra headers sent in the 101 response.
	Header http.Header

	// Limits bounds the size of the request head Accept reads; zero fields
	// take handshake.DefaultLimits. (For Upgrade, net/http has read the head.)
	Limits handshake.Limits

	// Timeout bounds the handshake on the connection: reading the request
	// (Accept) and writing the 101 response. Zero means
	// handshake.DefaultTimeout; a negative value means no deadline.
	Timeout time.Duration

	// Options configures the connection once it is open.
	Options
}

// serverOptions maps o onto the handshake's options. The slices and header are
// copied so a caller changing them later cannot race with the handshake.
func (o *AcceptOptions) serverOptions() (*handshake.ServerOptions, *Options) {
	if o == nil {
		return &handshake.ServerOptions{}, &Options{}
	}
	so := &handshake.ServerOptions{
		Subprotocols:            append([]string(nil), o.Subprotocols...),
		OriginPatterns:          append([]string(nil), o.OriginPatterns...),
		InsecureSkipOriginCheck: o.InsecureSkipOriginCheck,
		Header:                  o.Header.Clone(),
		Limits:                  o.Limits,
		Timeout:                 o.Timeout,
		NegotiateExtensions:     o.Compression.negotiator(),
	}
	co := o.Options
	return so, &co
}

// Accept performs the server side of the opening handshake on nc, a
// connection accepted from a net.Listener, and returns the open connection.
//
// ctx bounds the handshake only: cancelling it aborts a handshake in progress.
// The returned Conn is not tied to ctx. On any error nc is closed; a refused
// handshake has been answered with its HTTP status first and is reported as a
// *handshake.Error carrying that status.
func Accept(ctx context.Context, nc net.Conn, opts *AcceptOptions) (*Conn, error) {
	so, co := opts.serverOptions()
	var res *handshake.Result
	err := interruptible(ctx, nc, func() error {
		var err error
		res, err = handshake.Accept(nc, so)
		return err
	})
	if err != nil {
		_ = nc.Close()
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
func Upgrade(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	so, co := opts.serverOptions()
	nc, res, err := handshake.Upgrade(w, r, so)
	if err != nil {
		return nil, fmt.Errorf("conn: upgrade: %w", err)
	}
	return openConn(nc, res, frame.RoleServer, co)
}

// openConn builds the connection on the handshake's buffered reader, never on
// nc directly: that reader may already hold the peer's first frame.
func openConn(nc net.Conn, res *handshake.Result, role frame.Role, opts *Options) (*Conn, error) {
	c := newConn(nc, res.Reader, role, opts)
	if err := c.open(res.Subprotocol, res.Extensions); err != nil {
		c.fail(err)
		return nil, err
	}
	return c, nil
}

// interruptible runs fn, which does blocking I/O on nc, so that ctx ending
// interrupts it: nc is closed, which wakes a blocked read or write and fails
// later ones. (A deadline in the past would not do: fn may set its own
// deadline after ctx ended and so undo it.) It returns ctx's cause if ctx
// ended while fn ran, even if fn succeeded just before, and fn's error
// otherwise; the caller closes nc on error.
func interruptible(ctx context.Context, nc net.Conn, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	err := fn()
	if !stop() {
		return context.Cause(ctx)
	}
	return err
}
