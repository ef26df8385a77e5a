package conn

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"duplex/frame"
	"duplex/handshake"
)

// MessageType is the type of a data message: text (UTF-8) or binary
// (RFC 6455, Section 5.6).
type MessageType uint8

// The two message types, with their opcode values.
const (
	MessageText   MessageType = MessageType(frame.OpText)
	MessageBinary MessageType = MessageType(frame.OpBinary)
)

// String returns "text", "binary", or "MessageType(N)" for other values.
func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

func (t MessageType) valid() bool { return t == MessageText || t == MessageBinary }

// Conn is a WebSocket connection (RFC 6455) over an established net.Conn.
//
// One goroutine reads ([Conn.ReadMessage], [Conn.NextReader]) while any
// number of goroutines write, ping and close; see the package
// documentation for the rules, notably that the connection must keep being
// read for pings and closes to be answered.
type Conn struct {
	nc          net.Conn
	in          input
	cfg         config
	subprotocol string
	comp        *compression // nil without permessage-deflate
	ka          *keepalive   // nil without Options.PingInterval
	ev          *evConn      // the loop's state, while a Loop serves the connection

	role frame.Role
	// rsv holds the reserved bits negotiated extensions may set, for
	// frame.Check: RSV1 with permessage-deflate.
	rsv frame.RSV

	// The life cycle: the state, the transitions waiting for OnStateChange
	// (as from, to), and the channel done returns. stateMu also guards the
	// close timer.
	state      atomic.Int32
	stateMu    sync.Mutex
	pending    [3][2]uint8
	npending   uint8
	delivering bool
	closedCh   atomic.Pointer[chan struct{}]

	errMu sync.Mutex
	err   error // why the connection ended; the first cause wins

	peerClosed   atomic.Bool // the peer's close frame has been handled
	tcpClosed    atomic.Bool
	closeExpired atomic.Bool
	closeReading atomic.Bool // Close is reading for the answer
	closeTimer   *time.Timer // guarded by stateMu

	r readState
	w writeState
}

// newConn builds a connection in StateConnecting around nc. rest holds the
// bytes the handshake read past its head, if any: the start of the first
// frame, read before anything else; they are copied. It does no I/O. role
// is this endpoint's role.
func newConn(nc net.Conn, rest []byte, role frame.Role, opts *Options) *Conn {
	o := opts.withDefaults()
	c := &Conn{nc: nc, role: role, cfg: config{
		readLimit:     o.ReadLimit,
		closeTimeout:  o.CloseTimeout,
		writeTimeout:  o.WriteTimeout,
		onPing:        o.OnPing,
		onPong:        o.OnPong,
		onStateChange: o.OnStateChange,
		compression:   o.Compression,
	}}
	if o.PingInterval > 0 {
		c.ka = &keepalive{interval: o.PingInterval, timeout: o.PongTimeout}
	}
	c.initInput(bufSize(o.ReadBufferSize), rest)
	c.initRead()
	c.initWrite(&o)
	return c
}

// config is what a connection keeps of its Options once it is built, the
// settings read as it runs: an idle connection is mostly its Conn, so the
// ones used only to build it are not kept.
type config struct {
	readLimit     int64
	closeTimeout  time.Duration
	writeTimeout  time.Duration
	onPing        func(payload []byte)
	onPong        func(payload []byte)
	onStateChange func(from, to State)
	compression   *CompressionOptions // for the extensions the handshake agreed
}

// open completes the opening handshake: it records what was negotiated and
// moves the connection to StateOpen. It returns an error when an extension
// was negotiated that the connection cannot apply; the caller then fails
// the connection.
func (c *Conn) open(subprotocol string, exts []handshake.Extension) error {
	if err := c.applyExtensions(exts); err != nil {
		return err
	}
	c.subprotocol = subprotocol
	if c.ka != nil {
		c.ka.heardAt = time.Now()
		_ = c.nc.SetReadDeadline(c.ka.next())
	}
	if !c.transition(StateConnecting, StateOpen) {
		return errNotOpen
	}
	return nil
}

// fail ends the connection without a closing handshake: it records err as
// the cause and closes the TCP connection. It serves both a failed opening
// handshake and a broken stream where no close frame can be sent.
func (c *Conn) fail(err error) error {
	c.setErr(err)
	c.closeTCP()
	return c.loadErr()
}

// New returns an open connection over nc for a caller that performed the
// opening handshake itself. rest must hold the bytes the handshake read
// from nc past its head (handshake.Result.Rest, or what a bufio.Reader
// used for it still buffers), so that what the peer sent right after it is
// not lost; nil when there are none. New copies them. role is this
// endpoint's role: a client masks
// the frames it sends and expects unmasked ones, a server the opposite.
// No subprotocol and no extension are in use.
//
// The connection owns nc from now on and closes it.
func New(nc net.Conn, rest []byte, role frame.Role, opts *Options) *Conn {
	c := newConn(nc, rest, role, opts)
	_ = c.open("", nil) // cannot fail: no extensions
	return c
}

// Subprotocol returns the subprotocol agreed in the opening handshake, or
// "" when there is none.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// setErr records err as the reason the connection ended, unless a reason
// was already recorded.
func (c *Conn) setErr(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
}

// loadErr returns the recorded reason the connection ended, or nil.
func (c *Conn) loadErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// newSeed returns 32 bytes from crypto/rand to seed the per-connection
// mask-key generator.
func newSeed() (seed [32]byte) {
	_, _ = rand.Read(seed[:]) // never fails (crypto/rand)
	return seed
}

// newMaskSource returns a fast generator for mask keys. RFC 6455, Section
// 5.3: the masking key "MUST be derived from a strong source of entropy";
// Section 10.3: it must not be predictable to the application. ChaCha8
// seeded from crypto/rand is a cryptographic generator, and the
// application never sees its output.
func newMaskSource() *mrand.ChaCha8 { return mrand.NewChaCha8(newSeed()) }
