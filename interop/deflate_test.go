package interop_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// deflateMode is one setting of the matrix's permessage-deflate dimension
// (RFC 7692). Every pair whose peer speaks the extension runs every
// scenario in each mode.
type deflateMode struct {
	// name is the subtest level the mode adds; the uncompressed mode adds
	// none, so its subtests keep their names.
	name string
	// peer is what the peer scripts are told (DUPLEX_PEER_DEFLATE): "off",
	// "on" with the peer's defaults (Node with threshold 0, so that small
	// messages are compressed too), or "small".
	peer string
	// server and client are duplex's options in each role.
	server, client *conn.CompressionOptions
	// want is the agreement expected, when both sides ask for the same
	// thing; nil leaves the windows to the peer's defaults.
	want *handshake.DeflateParams
	// needs says whether a peer can take part, beyond speaking the
	// extension; nil: any peer that does.
	needs func(caps) bool
}

// runs says whether the pair with caps c runs in mode m.
func (m deflateMode) runs(c caps) bool {
	if !m.compressed() {
		return true
	}
	return c.deflate && (m.needs == nil || m.needs(c))
}

func (m deflateMode) compressed() bool { return m.peer != "off" }

// takeover: both sides keep their context between messages.
func (m deflateMode) takeover() bool {
	return m.want == nil || !m.want.ServerNoContextTakeover && !m.want.ClientNoContextTakeover
}

// window8: both windows are 8 bits.
func (m deflateMode) window8() bool {
	return m.want != nil && m.want.ServerMaxWindowBits == 8 && m.want.ClientMaxWindowBits == 8
}

// smallWindows: both windows are 1 KiB or less.
func (m deflateMode) smallWindows() bool {
	return m.want != nil && m.want.ServerMaxWindowBits <= 10 && m.want.ClientMaxWindowBits <= 10
}

// The "small" mode asks for no context takeover both ways and small windows
// (server_max_window_bits=10, client_max_window_bits=9): each side offers
// or accepts exactly that, wherever the peer can be configured (a browser
// offers only client_max_window_bits and takes what the server answers).
// The "w8" mode asks for the smallest window, 8 bits, both ways, with
// context takeover: zlib cannot make an 8-bit raw window and uses 9
// bits, which duplex must read. duplex compresses every message (a
// negative threshold), as the peers do.
var deflateModes = []deflateMode{
	{peer: "off"},
	{
		name:   "deflate",
		peer:   "on",
		server: &conn.CompressionOptions{Threshold: -1},
		client: &conn.CompressionOptions{Threshold: -1},
	},
	{
		name: "deflate-no-takeover-w10-9",
		peer: "small",
		server: &conn.CompressionOptions{Threshold: -1, NoContextTakeover: true, PeerNoContextTakeover: true,
			MaxWindowBits: 10, PeerMaxWindowBits: 9},
		client: &conn.CompressionOptions{Threshold: -1, NoContextTakeover: true, PeerNoContextTakeover: true,
			MaxWindowBits: 9, PeerMaxWindowBits: 10},
		want: &smallAgreement,
	},
	{
		name:   "deflate-w8",
		peer:   "w8",
		server: &conn.CompressionOptions{Threshold: -1, MaxWindowBits: 8, PeerMaxWindowBits: 8},
		client: &conn.CompressionOptions{Threshold: -1, MaxWindowBits: 8, PeerMaxWindowBits: 8},
		want:   &handshake.DeflateParams{ServerMaxWindowBits: 8, ClientMaxWindowBits: 8},
		needs:  func(c caps) bool { return c.window8 },
	},
}

// smallAgreement is what the "small" mode's peers agree on.
var smallAgreement = handshake.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true,
	ServerMaxWindowBits: 10, ClientMaxWindowBits: 9}

// peerEnv is the environment that sets a peer script's mode.
func (m deflateMode) peerEnv() string { return "DUPLEX_PEER_DEFLATE=" + m.peer }

// negotiated checks that both ends agree on permessage-deflate, or on its
// absence: duplex's Conn.Compression against the Sec-WebSocket-Extensions
// response the peer reports (RFC 7692, Section 7.1).
func negotiated(t *testing.T, l *link, c caps) {
	got, ok := l.c.Compression()
	if !l.mode.compressed() {
		assert.False(t, ok, "duplex compresses although it was not asked to: %+v", got)
		assert.Empty(t, l.open.Extensions, "extensions the peer reports")
		return
	}
	require.True(t, ok, "duplex negotiated no compression; the peer reports %q", l.open.Extensions)
	exts, err := handshake.ParseExtensions([]string{l.open.Extensions})
	require.NoError(t, err, "extensions the peer reports: %q", l.open.Extensions)
	require.Len(t, exts, 1, "extensions the peer reports: %q", l.open.Extensions)
	peer, err := handshake.ParseDeflateResponse(exts[0])
	require.NoError(t, err)
	assert.Equal(t, got, peer, "duplex's and the peer's view of the agreement")
	if want := l.mode.want; want != nil {
		if c.fixedOffer {
			// duplex bounds its own window without saying so when the
			// offer did not ask (RFC 7692, Section 7.1.2.1: the server
			// "MAY include" server_max_window_bits; the client's inflater
			// takes any window up to 15 bits).
			w := *want
			w.ServerMaxWindowBits = 0
			want = &w
		}
		assert.Equal(t, *want, got, "agreement")
	} else {
		assert.False(t, got.ServerNoContextTakeover || got.ClientNoContextTakeover, "context takeover kept: %+v", got)
	}
}

// checkWire checks the last message each way as it crossed the wire: RSV1
// set exactly when compression was agreed (RFC 7692, Section 6), and at
// least frames frames in the message duplex sent. A link over TLS has no
// tap: its wire is ciphertext.
func checkWire(t *testing.T, l *link, sentFrames, receivedFrames int) (out, in wireMessage) {
	t.Helper()
	if l.tap == nil {
		return
	}
	out, nOut, err := l.tap.out.lastMessage()
	require.NoError(t, err, "decoding what duplex sent")
	in, nIn, err := l.tap.in.lastMessage()
	require.NoError(t, err, "decoding what duplex received")
	require.Positive(t, nOut, "messages duplex sent")
	require.Positive(t, nIn, "messages duplex received")
	_, want := l.c.Compression()
	assert.Equal(t, want, out.rsv1, "RSV1 on the message duplex sent")
	assert.Equal(t, want, in.rsv1, "RSV1 on the message duplex received")
	assert.False(t, out.contRSV1, "RSV1 on a continuation frame duplex sent")
	assert.False(t, in.contRSV1, "RSV1 on a continuation frame duplex received")
	assert.GreaterOrEqual(t, out.frames, sentFrames, "frames of the message duplex sent")
	assert.GreaterOrEqual(t, in.frames, receivedFrames, "frames of the message duplex received")
	return out, in
}

// smallerOnTheWire sends a repetitive 64 KiB text and checks that it
// crossed the wire compressed both ways, at a fraction of its size.
func smallerOnTheWire(t *testing.T, l *link, _ caps) {
	want := []byte(strings.Repeat("duplex compresses repetitive text. ", 2000)[:64<<10])
	require.NoError(t, l.c.WriteMessage(ctxFor(t), conn.MessageText, want))
	got := l.next(t)
	assert.Equal(t, conn.MessageText, got.typ)
	assert.True(t, bytes.Equal(want, got.data), "echoed payload differs")
	require.NotNil(t, l.tap, "a plaintext link has a tap")
	out, in := checkWire(t, l, 1, 1)
	assert.Less(t, out.bytes, int64(len(want)/8), "bytes on the wire of the message duplex sent")
	assert.Less(t, in.bytes, int64(len(want)/8), "bytes on the wire of the message duplex received")
	t.Logf("64 KiB of text: %d bytes sent, %d received", out.bytes, in.bytes)
}

// windowBits echoes a message whose only long matches lie 2000 bytes back:
// 32 copies of a block of text that compresses poorly. With the default
// windows (at least 4 KiB) both sides find them; with the small mode's
// windows (1 KiB from the server, 512 bytes from the client) neither may
// use them (RFC 7692, Section 7.1.2), and a compressor that did would make
// the peer's inflater fail.
func windowBits(t *testing.T, l *link, _ caps) {
	want := bytes.Repeat(noisyText(2, 2000), 32)
	require.NoError(t, l.c.WriteMessage(ctxFor(t), conn.MessageText, want))
	got := l.next(t)
	assert.True(t, bytes.Equal(want, got.data), "echoed payload differs")
	require.NotNil(t, l.tap, "a plaintext link has a tap")
	out, in := checkWire(t, l, 1, 1)
	if l.mode.smallWindows() {
		assert.Greater(t, out.bytes, int64(len(want)/2), "bytes duplex sent: a match beyond its window was used")
		assert.Greater(t, in.bytes, int64(len(want)/2), "bytes the peer sent: a match beyond its window was used")
	} else {
		assert.Less(t, out.bytes, int64(len(want)/8), "bytes duplex sent: the window misses the matches")
		assert.Less(t, in.bytes, int64(len(want)/8), "bytes the peer sent: the window misses the matches")
	}
	t.Logf("%d bytes with matches 2000 bytes back: %d sent, %d received", len(want), out.bytes, in.bytes)
}

// echoTwice echoes want twice and returns the sizes on the wire of the
// messages each way.
func echoTwice(t *testing.T, l *link, want []byte) (sent, received [2]int64) {
	t.Helper()
	for i := range 2 {
		require.NoError(t, l.c.WriteMessage(ctxFor(t), conn.MessageText, want))
		got := l.next(t)
		assert.True(t, bytes.Equal(want, got.data), "echoed payload differs")
		require.NotNil(t, l.tap, "a plaintext link has a tap")
		out, in := checkWire(t, l, 1, 1)
		sent[i], received[i] = out.bytes, in.bytes
	}
	t.Logf("the same %d bytes twice: %v sent, %v received", len(want), sent, received)
	return sent, received
}

// eightBitWindow echoes a 300-byte text twice with 8-bit windows and context
// takeover: duplex's second copy must not refer back to the first, 300
// bytes lying beyond the 256 it agreed to. (zlib makes a 9-bit window
// instead of an 8-bit one, but reaches back at most 250 bytes with it, its
// window less its lookahead; the peers' second copies show it.)
func eightBitWindow(t *testing.T, l *link, _ caps) {
	sent, _ := echoTwice(t, l, noisyText(4, 300))
	assert.Greater(t, sent[1], sent[0]/2, "duplex referred beyond its 8-bit window")
}

// contextTakeover echoes the same poorly compressing text twice. With
// context takeover the second copy refers to the first across the message
// boundary and shrinks to a few bytes each way; with no_context_takeover
// each message is compressed on its own (RFC 7692, Section 7.1.1), so the
// second is as large as the first. The text is shorter than the smallest
// window (256 bytes), so only the takeover decides.
func contextTakeover(t *testing.T, l *link, _ caps) {
	sent, received := echoTwice(t, l, noisyText(3, 200))
	if !l.mode.takeover() {
		assert.Greater(t, sent[1], sent[0]/2, "duplex kept its context")
		assert.Greater(t, received[1], received[0]/2, "the peer kept its context")
	} else {
		assert.Less(t, sent[1], sent[0]/4, "duplex dropped its context")
		assert.Less(t, received[1], received[0]/4, "the peer dropped its context")
	}
}

// uncompressedMessage sends one message uncompressed on a compressed
// connection, as RFC 7692, Section 6 allows for any message ("the RSV1 bit
// ... indicates whether a message is compressed or not"), then the same
// text compressed. Under context takeover the uncompressed message must
// stay out of duplex's compressor history: the peer's decompressor never
// saw it, so a reference into it would corrupt the next message.
func uncompressedMessage(t *testing.T, l *link, _ caps) {
	want := noisyText(5, 600)
	require.NoError(t, l.c.WriteMessage(conn.NoCompression(ctxFor(t)), conn.MessageText, want))
	got := l.next(t)
	assert.True(t, bytes.Equal(want, got.data), "echoed payload differs")
	require.NotNil(t, l.tap, "a plaintext link has a tap")
	out, _, err := l.tap.out.lastMessage()
	require.NoError(t, err)
	assert.False(t, out.rsv1, "RSV1 on the message sent with NoCompression")
	assert.Equal(t, int64(len(want)), out.bytes, "bytes on the wire of the message sent with NoCompression")

	require.NoError(t, l.c.WriteMessage(ctxFor(t), conn.MessageText, want))
	got = l.next(t)
	assert.True(t, bytes.Equal(want, got.data), "echoed payload differs after an uncompressed message")
	out, _ = checkWire(t, l, 1, 1)
	assert.Greater(t, out.bytes, int64(len(want)/2), "the compressed copy referred to the uncompressed one")
}

// TestDeflateDeclined: a peer without permessage-deflate (x/net) ignores
// duplex's offer, or makes none, and the connection works uncompressed
// (RFC 7692, Section 5: the server "MUST NOT" accept an offer it does not
// support; a client treats a response without the extension as declined).
func TestDeflateDeclined(t *testing.T) {
	env := &matrixEnv{r: newRouter(), pki: newTestPKI(t)}
	env.srv = startDuplexServer(t, env.r, env.pki)
	on := deflateModes[1]
	require.True(t, on.compressed())
	plain, _ := startXnetServer(t, env.r, env.pki)
	for name, l := range map[string]*link{
		"7692-5/xnet-server-ignores-the-offer": dialLink(t, env, plain, false, on),
		"7692-5/xnet-client-offers-nothing":    env.srv.accept(t, false, on, xnetClient(t, env.r, env.pki)),
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := l.c.Compression()
			assert.False(t, ok, "compression agreed with a peer that has none")
			echo(t, l, conn.MessageText, 1000)
		})
	}
}

// inflatedOverReadLimit has the peer send 8 MiB of zeros, a few KiB once
// compressed, to a duplex end whose read limit is 4 MiB: duplex must stop
// inflating at the limit and fail the connection with 1009, as
// Options.ReadLimit applies to the inflated size (RFC 7692, Section 8
// leaves the limit to the implementation; RFC 6455, Section 7.4.1: 1009
// "indicates ... a message that is too big for it to process").
func inflatedOverReadLimit(t *testing.T, l *link, c caps) {
	command(t, l, map[string]any{"cmd": "zeros", "size": 8 << 20})
	err := l.ended(t)
	var pe frame.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, frame.CloseTooBig, pe.Code, "code duplex failed the connection with")
	if c.closeReport {
		assert.Equal(t, int(frame.CloseTooBig), nextEvent(t, l.peer, "close").Code, "code the peer reports")
	}
}
