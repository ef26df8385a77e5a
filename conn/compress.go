package conn

import (
	"context"
	"errors"
	"strings"
	"sync"

	"duplex/frame"
	"duplex/handshake"
	"duplex/internal/deflate"
)

// DefaultCompressionThreshold is the default size under which WriteMessage
// sends a message uncompressed when this side compresses with context
// takeover: below it, DEFLATE's block header and the compressor's time
// outweigh what it saves on a typical chat line. Without context takeover
// a message is compressed on its own, without the earlier messages to
// refer to, and the default is [DefaultCompressionThresholdAlone].
const DefaultCompressionThreshold = 64

// DefaultCompressionThresholdAlone is the default threshold of a side that
// compresses each message on its own (no context takeover). Measured on
// chat-like JSON at level 1, such messages of 64 to 128 bytes come out
// larger or barely smaller than they went in (109% to 95% of their size),
// of 192 bytes at 62%, of 256 at 56%; with context takeover, 64 bytes come
// out at 22%.
const DefaultCompressionThresholdAlone = 160

// CompressionOptions configures permessage-deflate ([RFC 7692]). A nil
// *CompressionOptions in [Options] turns compression off: a client does not
// offer it and a server declines every offer.
//
// Both sides honour every parameter of RFC 7692 in both directions: any
// window size of 8 to 15 bits the peer asks for, with or without context
// takeover. The compressor bounds its back-references to the agreed window,
// so a window is never claimed that is not produced.
type CompressionOptions struct {
	// Level trades speed for size, from 1 (fastest) to 9 (smallest).
	// 0 means 6. Level 1 is as fast at every window; under 15 bits (this
	// side's MaxWindowBits or the peer's request) levels 2 to 9 are one
	// compressor, close to level 5.
	Level int

	// Threshold is the size in bytes under which WriteMessage sends a
	// message uncompressed. 0 means [DefaultCompressionThreshold], or
	// [DefaultCompressionThresholdAlone] when this side compresses
	// without context takeover; a negative value compresses every
	// message. Messages written with
	// NextWriter are always compressed, their size being unknown at the
	// start.
	Threshold int

	// NoContextTakeover makes this side compress every message on its own
	// (server_no_context_takeover from a server, client_no_context_takeover
	// offered by a client). It saves the compressor's history, up to
	// 2^MaxWindowBits bytes per connection, at some cost in size for
	// streams of similar messages.
	NoContextTakeover bool

	// PeerNoContextTakeover asks the peer to compress every message on its
	// own, so that this side keeps no history to inflate with. A server's
	// request binds the client; a client's request is one the server may
	// decline by refusing the offer, which then leaves the connection
	// uncompressed.
	PeerNoContextTakeover bool

	// MaxWindowBits bounds this side's LZ77 window to 2^MaxWindowBits bytes
	// (8-15), and with it the history kept per connection under context
	// takeover. 0 means 15. The peer may ask for a smaller one.
	MaxWindowBits int

	// PeerMaxWindowBits asks the peer to bound its window to
	// 2^PeerMaxWindowBits bytes (8-15), bounding the history this side
	// keeps to inflate with. 0 makes no request. A server can ask only a
	// client that offered client_max_window_bits, as browsers do; a
	// client's request may make a server that cannot honour it (zlib
	// cannot produce 8) decline compression altogether.
	PeerMaxWindowBits int
}

// serverPref is o as a server's preferences for handshake.AcceptDeflate.
func (o *CompressionOptions) serverPref() handshake.DeflateParams {
	return handshake.DeflateParams{
		ServerNoContextTakeover: o.NoContextTakeover,
		ClientNoContextTakeover: o.PeerNoContextTakeover,
		ServerMaxWindowBits:     o.MaxWindowBits,
		ClientMaxWindowBits:     o.PeerMaxWindowBits,
	}
}

// negotiator returns the handshake hook that accepts permessage-deflate as o
// says, or nil when compression is off.
func (o *CompressionOptions) negotiator() func([]handshake.Extension) ([]handshake.Extension, error) {
	if o == nil {
		return nil
	}
	pref := o.serverPref()
	return func(offers []handshake.Extension) ([]handshake.Extension, error) {
		if p, ok := handshake.AcceptDeflate(offers, pref); ok {
			return []handshake.Extension{p.Extension()}, nil
		}
		return nil, nil
	}
}

// clientOffer is the permessage-deflate offer of a client with options o,
// or nil when compression is off. It always carries client_max_window_bits:
// this side can bound its window to whatever the server asks (RFC 7692,
// Section 7.1.2.2).
func (o *CompressionOptions) clientOffer() []handshake.Extension {
	if o == nil {
		return nil
	}
	p := handshake.DeflateParams{
		ServerNoContextTakeover: o.PeerNoContextTakeover,
		ClientNoContextTakeover: o.NoContextTakeover,
		ServerMaxWindowBits:     o.PeerMaxWindowBits,
		ClientMaxWindowBits:     handshake.WindowBitsNoValue,
	}
	if o.MaxWindowBits >= handshake.MinWindowBits && o.MaxWindowBits < handshake.MaxWindowBits {
		p.ClientMaxWindowBits = o.MaxWindowBits
	}
	return []handshake.Extension{p.Extension()}
}

// compression is the negotiated permessage-deflate state of a connection.
type compression struct {
	params    handshake.DeflateParams
	threshold int
	// What this side compresses with: the window, the level, and whether
	// each message is compressed on its own, which lets a prepared message
	// share its compressed form among connections.
	write prepKey
	fresh bool
}

// applyExtensions sets up the extensions the handshake agreed on; only
// permessage-deflate is known, and only when Options.Compression allowed it.
func (c *Conn) applyExtensions(exts []handshake.Extension) error {
	if len(exts) == 0 {
		return nil
	}
	o := c.cfg.compression
	if len(exts) > 1 || o == nil || !strings.EqualFold(exts[0].Name, handshake.DeflateName) {
		return errExtensions
	}
	p, err := handshake.ParseDeflateResponse(exts[0])
	if err != nil {
		return err
	}
	writeBits, readBits := p.ServerMaxWindowBits, p.ClientMaxWindowBits
	writeFresh, readFresh := p.ServerNoContextTakeover, p.ClientNoContextTakeover
	if c.role == frame.RoleClient {
		writeBits, readBits = readBits, writeBits
		writeFresh, readFresh = readFresh, writeFresh
	}
	// A window or takeover this side did not agree to use is still its
	// choice to give up: a smaller window and fresh messages are always
	// readable by the peer (RFC 7692, Sections 7.1.1 and 7.1.2).
	own := handshake.MaxWindowBits
	if o.MaxWindowBits > 0 {
		own = min(max(o.MaxWindowBits, handshake.MinWindowBits), handshake.MaxWindowBits)
	}
	if writeBits == 0 || writeBits > own {
		writeBits = own
	}
	if readBits == 0 {
		readBits = handshake.MaxWindowBits
	}
	c.comp = &compression{params: p, threshold: o.Threshold,
		write: prepKey{bits: writeBits, level: o.Level}, fresh: writeFresh || o.NoContextTakeover}
	if c.comp.threshold == 0 {
		c.comp.threshold = DefaultCompressionThreshold
		if c.comp.fresh {
			c.comp.threshold = DefaultCompressionThresholdAlone
		}
	}
	c.w.enc = deflate.NewEncoder(writeBits, o.Level, !c.comp.fresh)
	c.r.dec = deflate.NewDecoder(readBits, !readFresh)
	c.r.dec.SetLimit(c.cfg.readLimit) // what a message holds while inflated is bounded by the limit
	// RFC 7692, Section 6: permessage-deflate "uses the RSV1 bit of the
	// WebSocket header ... to indicate whether a message is compressed".
	c.rsv = frame.RSV1Bit
	return nil
}

// Compression returns the permessage-deflate parameters agreed in the
// opening handshake (as the server's response stated them) and true, or
// false when messages are not compressed.
func (c *Conn) Compression() (handshake.DeflateParams, bool) {
	if c.comp == nil {
		return handshake.DeflateParams{}, false
	}
	return c.comp.params, true
}

type noCompressionKey struct{}

// NoCompression returns a context under which [Conn.WriteMessage] and
// [Conn.NextWriter] send their message uncompressed, as RFC 7692 allows for
// any message (Section 6: the RSV1 bit says whether each is compressed).
// Use it for data that is already compressed, such as images. It changes
// nothing on a connection without compression. The option rides on the
// context so that both ways of writing take it without a second set of
// methods.
func NoCompression(ctx context.Context) context.Context {
	return context.WithValue(ctx, noCompressionKey{}, true)
}

// compressing reports whether a message of size n (-1: unknown, streamed)
// written under ctx goes out compressed.
func (c *Conn) compressing(ctx context.Context, n int) bool {
	if c.comp == nil || ctx.Value(noCompressionKey{}) != nil {
		return false
	}
	return n < 0 || n >= c.comp.threshold
}

// bufPool holds the buffers compressed messages are built in, so that an
// idle connection holds none.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// ErrBadCompressedData reports a compressed message that is not valid
// DEFLATE data. RFC 7692, Section 8 asks only that the endpoint "MUST
// _Fail the WebSocket Connection_"; the code is 1007, as for other payload
// data inconsistent with the message (RFC 6455, Section 7.4.1).
var ErrBadCompressedData error = frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "invalid compressed data"}

// errRSV1 reports RSV1 on a frame other than the first of a data message.
// RFC 7692, Section 6.1: the RSV1 bit is set on "the first frame of the
// message" only, and control frames are never compressed.
var errRSV1 error = frame.ProtocolError{Code: frame.CloseProtocolError, Reason: "RSV1 set on a continuation or control frame"}

// inflateErr maps an error of the decompressor to the connection's.
func inflateErr(err error) error {
	switch {
	case errors.Is(err, deflate.ErrCorrupt):
		return ErrBadCompressedData
	case errors.Is(err, deflate.ErrTooBig):
		return ErrReadLimit // the decoder stops one byte past the limit
	}
	return err
}
