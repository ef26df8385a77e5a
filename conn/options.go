package conn

import "time"

// Defaults for the zero fields of [Options].
const (
	// DefaultReadLimit bounds a message to 1 MiB: a peer cannot make the
	// connection buffer more than that in ReadMessage, which is the usual
	// size of a chat or RPC message with plenty of room. Raise it for bulk
	// transfers, or stream them with NextReader.
	DefaultReadLimit = 1 << 20

	// DefaultBufferSize is the default read and write buffer size: a page,
	// large enough that a typical message travels in one system call.
	DefaultBufferSize = 4096

	// DefaultCloseTimeout bounds the closing handshake: long enough for a
	// peer across the world, short enough that a vanished peer does not
	// hold the connection.
	DefaultCloseTimeout = 5 * time.Second
)

// maxBufferSize bounds the buffer and fragment sizes of Options.
const maxBufferSize = 1 << 30

// Options configures a connection. A nil *Options means all defaults; the
// struct is copied, so changing it afterwards does not affect the
// connection. Zero fields take the defaults.
type Options struct {
	// ReadLimit is the largest message, in bytes, the connection accepts.
	// A longer message fails the connection with code 1009 (message too
	// big) as soon as a frame header announces it, before its payload is
	// read. 0 means [DefaultReadLimit]; a negative value means no limit.
	ReadLimit int64

	// ReadBufferSize is the size of the read buffer. A smaller reader
	// from the opening handshake is read through a buffer of this size.
	// 0 means [DefaultBufferSize].
	ReadBufferSize int

	// WriteBufferSize is the size of the write buffer: a frame whose
	// payload fits it leaves in one Write call on the net.Conn.
	// 0 means [DefaultBufferSize].
	WriteBufferSize int

	// FragmentSize is the payload size of the frames a writer from
	// [Conn.NextWriter] sends: data accumulates until it fills a fragment,
	// which then leaves as one frame. 0 means WriteBufferSize; a larger
	// value grows the write buffer to fit. WriteMessage never fragments.
	FragmentSize int

	// CloseTimeout bounds the closing handshake (sending the close frame,
	// waiting for the peer's, and waiting for the TCP connection to end),
	// after which the connection is closed without it. 0 means
	// [DefaultCloseTimeout].
	CloseTimeout time.Duration

	// PingInterval, if positive, turns on keepalive: a peer that has sent
	// nothing for this long is sent a ping, and if nothing at all arrives
	// within PongTimeout after it, the connection is failed: reads return
	// an error matching [ErrKeepalive] with code 1006, and the peer is sent
	// a close frame with 1001 (going away) if it can still take one. Any
	// frame counts as a sign of life, not only the pong. Keepalive runs on
	// the read path and costs no goroutine and no timer beyond the read
	// deadline of the blocking read: the connection must be read, as for
	// answering pings. 0 turns it off.
	PingInterval time.Duration

	// PongTimeout is how long keepalive waits for the peer after a ping.
	// 0 means PingInterval, so a peer is failed after at most twice the
	// interval of silence.
	PongTimeout time.Duration

	// WriteTimeout bounds every write to the network: a frame the kernel
	// does not take within it (a peer that stopped reading, a full send
	// buffer) fails the connection, so a writer is never held for ever.
	// It applies with the context of each call, whichever ends first.
	// 0 means no bound but the context's.
	WriteTimeout time.Duration

	// OnPing, if set, is called with the payload of each ping received,
	// on the reading goroutine, after the pong answering it was sent (the
	// pong is not the hook's business: RFC 6455, Section 5.5.2). The
	// payload is valid only during the call. It must not block; it may
	// call Close, which then reads for the peer's close frame itself, as it
	// does when no goroutine is reading.
	OnPing func(payload []byte)

	// OnPong, if set, is called with the payload of each pong received, on
	// the reading goroutine. The payload is valid only during the call. It
	// must not block; it may call Close, as OnPing may.
	OnPong func(payload []byte)

	// OnStateChange, if set, is called after every change of state, in
	// order, once per transition, synchronously on a goroutine that is
	// changing the state. It must not block; it may call methods of the
	// connection.
	OnStateChange func(from, to State)

	// Compression, if set, negotiates permessage-deflate in [Accept],
	// [Upgrade] and [Dial] (RFC 7692); nil means no compression. [New]
	// negotiates nothing and ignores it.
	Compression *CompressionOptions
}

// withDefaults returns a copy of o with the zero fields set.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Compression != nil {
		co := *r.Compression
		r.Compression = &co
	}
	if r.ReadLimit == 0 {
		r.ReadLimit = DefaultReadLimit
	}
	if r.ReadBufferSize <= 0 {
		r.ReadBufferSize = DefaultBufferSize
	}
	if r.WriteBufferSize <= 0 {
		r.WriteBufferSize = DefaultBufferSize
	}
	if r.FragmentSize <= 0 {
		r.FragmentSize = r.WriteBufferSize
	}
	// Sizes are kept in 32 bits, an idle connection being mostly its Conn.
	r.ReadBufferSize = min(r.ReadBufferSize, maxBufferSize)
	r.WriteBufferSize = min(r.WriteBufferSize, maxBufferSize)
	r.FragmentSize = min(r.FragmentSize, maxBufferSize)
	if r.CloseTimeout <= 0 {
		r.CloseTimeout = DefaultCloseTimeout
	}
	if r.PingInterval < 0 {
		r.PingInterval = 0
	}
	if r.PongTimeout <= 0 {
		r.PongTimeout = r.PingInterval
	}
	return r
}
