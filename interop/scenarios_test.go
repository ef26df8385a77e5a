package interop_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// caps says what the peer of a pair can do; a scenario a peer cannot take
// part in is left out of its pair, never run half-way.
type caps struct {
	sendsPings     bool // sends a ping on command
	reportsPongs   bool // reports the pong it received and says so in a message
	sendsFragments bool // sends a fragmented message on command
	readsFragments bool // reassembles fragmented messages
	closeReport    bool // reports the code of the close frame it received
	// closeReply is the code the peer answers a close frame with; 0 means
	// it echoes the code it received, as RFC 6455, Section 5.5.1 says an
	// endpoint "typically" does.
	closeReply frame.CloseCode
	// deflate: the peer negotiates permessage-deflate (RFC 7692), so the
	// pair runs in every compression mode.
	deflate bool
	// fixedOffer: the peer's permessage-deflate offer cannot be configured;
	// a browser offers only client_max_window_bits.
	fixedOffer bool
	// window8: the peer agrees to 8-bit windows. Python's zlib module
	// refuses to make a raw deflate stream with them ("Invalid
	// initialization option"), so websockets cannot.
	window8 bool
}

// scenario is one row of the matrix, named with its RFC 6455 section.
type scenario struct {
	name string
	// fresh: the scenario ends its connection, so it gets its own;
	// the others share one connection per pair.
	fresh bool
	tls   bool
	needs func(caps) bool
	// inMode, when set, says in which compression modes the scenario runs.
	inMode func(deflateMode) bool
	run    func(t *testing.T, l *link, c caps)
}

// sizes are the edges of the three payload length encodings of RFC 6455,
// Section 5.2 (7-bit up to 125, 16-bit up to 65535, 64-bit above), and 1 MiB.
var sizes = []struct {
	name string
	n    int
}{{"0", 0}, {"125", 125}, {"126", 126}, {"65535", 65535}, {"65536", 65536}, {"1MiB", 1 << 20}}

func scenarios() []scenario {
	var s []scenario
	for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
		for _, size := range sizes {
			s = append(s, scenario{
				name: fmt.Sprintf("5.2/%v-%s", typ, size.name),
				run:  func(t *testing.T, l *link, _ caps) { echo(t, l, typ, size.n) },
			})
		}
	}
	return append(s,
		scenario{name: "4.2.2/subprotocol", run: subprotocol},
		scenario{name: "7692-7.1/negotiated", needs: func(c caps) bool { return c.deflate }, run: negotiated},
		scenario{name: "7692-6/smaller-on-the-wire", inMode: deflateMode.compressed, run: smallerOnTheWire},
		scenario{name: "7692-7.1.2/window-bits", inMode: deflateMode.compressed, run: windowBits},
		scenario{name: "7692-7.1.1/context-takeover", inMode: deflateMode.compressed, run: contextTakeover},
		scenario{name: "7692-6/uncompressed-message", inMode: deflateMode.compressed, run: uncompressedMessage},
		scenario{name: "7692-8/inflated-over-read-limit", fresh: true, inMode: deflateMode.compressed, run: inflatedOverReadLimit},
		scenario{name: "7692-7.1.2.1/8-bit-window", inMode: deflateMode.window8, run: eightBitWindow},
		scenario{name: "5.4/fragmented-to-peer", needs: func(c caps) bool { return c.readsFragments }, run: fragmentedToPeer},
		scenario{name: "5.4/fragmented-from-peer", needs: func(c caps) bool { return c.sendsFragments }, run: fragmentedFromPeer},
		scenario{name: "5.5.2/ping-from-duplex", run: pingFromDuplex},
		scenario{name: "5.5.2/ping-from-peer", needs: func(c caps) bool { return c.sendsPings }, run: pingFromPeer},
		scenario{name: "7/close-from-duplex", fresh: true, run: closeFromDuplex},
		scenario{name: "7/close-from-peer", fresh: true, run: closeFromPeer},
		scenario{name: "11.1.2/wss-echo-and-close", fresh: true, tls: true, run: wssEchoAndClose},
	)
}

// command sends a command message to the peer's script.
func command(t testing.TB, l *link, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	require.NoError(t, err)
	require.NoError(t, l.c.WriteMessage(ctxFor(t), conn.MessageText, append([]byte("!"), b...)))
}

func echo(t *testing.T, l *link, typ conn.MessageType, n int) {
	want := payload(typ, n)
	require.NoError(t, l.c.WriteMessage(ctxFor(t), typ, want))
	got := l.next(t)
	assert.Equal(t, typ, got.typ)
	assert.Equal(t, n, len(got.data))
	assert.True(t, bytes.Equal(want, got.data), "echoed payload differs")
	checkWire(t, l, 1, 1)
}

func subprotocol(t *testing.T, l *link, _ caps) {
	assert.Equal(t, wantProtocol, l.c.Subprotocol(), "duplex's view")
	assert.Equal(t, wantProtocol, l.open.Protocol, "peer's view")
}

// fragmentedToPeer streams a text message in 1024-byte frames (the link's
// FragmentSize) with a ping between them, which RFC 6455, Section 5.4
// allows: "Control frames MAY be injected in the middle of a fragmented
// message." The text compresses poorly, so that it still takes several
// frames when compressed (RSV1 on the first only, RFC 7692, Section 6.1).
func fragmentedToPeer(t *testing.T, l *link, _ caps) {
	ctx := ctxFor(t)
	want := noisyText(1, 5000)
	w, err := l.c.NextWriter(ctx, conn.MessageText)
	require.NoError(t, err)
	_, err = w.Write(want[:2500])
	require.NoError(t, err)
	require.NoError(t, l.c.Ping(ctx, []byte("between-fragments")))
	_, err = w.Write(want[2500:])
	require.NoError(t, err)
	require.NoError(t, w.Close())

	got := l.next(t)
	assert.Equal(t, conn.MessageText, got.typ)
	assert.True(t, bytes.Equal(want, got.data), "echoed fragmented message differs")
	waitString(t, l.pongs, "pong", "between-fragments")
	checkWire(t, l, 2, 1)
}

func fragmentedFromPeer(t *testing.T, l *link, _ caps) {
	parts := []string{"frag-0 ", "frag-1 ", "frag-2"}
	command(t, l, map[string]any{"cmd": "fragment", "parts": parts})
	got := l.next(t)
	assert.Equal(t, conn.MessageText, got.typ)
	assert.Equal(t, strings.Join(parts, ""), string(got.data))
	checkWire(t, l, 1, 2)
}

// RFC 6455, Section 5.5.3: "A Pong frame sent in response to a Ping frame
// must have identical 'Application data' as found in the message body of the
// Ping frame being replied to."
func pingFromDuplex(t *testing.T, l *link, _ caps) {
	require.NoError(t, l.c.Ping(ctxFor(t), []byte("duplex-ping")))
	waitString(t, l.pongs, "pong", "duplex-ping")
}

// pingFromPeer: duplex must see the peer's ping and answer it, whatever the
// application does (RFC 6455, Section 5.5.2: "Upon receipt of a Ping frame,
// an endpoint MUST send a Pong frame in response").
func pingFromPeer(t *testing.T, l *link, c caps) {
	command(t, l, map[string]any{"cmd": "ping", "data": "peer-ping"})
	waitString(t, l.pings, "ping", "peer-ping")
	if !c.reportsPongs {
		return
	}
	ev := nextEvent(t, l.peer, "pong")
	assert.Equal(t, "peer-ping", ev.Data, "payload of the pong duplex sent")
	got := l.next(t)
	assert.Equal(t, "pong peer-ping", string(got.data))
}

// closeFromDuplex: duplex starts the closing handshake (RFC 6455, Section
// 7.1.2); the peer must see duplex's code and reason, duplex the peer's reply.
func closeFromDuplex(t *testing.T, l *link, c caps) {
	require.NoError(t, l.c.Close(4001, "duplex bye"))
	var ce conn.CloseError
	require.ErrorAs(t, l.ended(t), &ce)
	assert.Equal(t, replyCode(c, 4001), ce.Code, "code of the peer's reply, as duplex reports it")
	if c.closeReport {
		ev := nextEvent(t, l.peer, "close")
		assert.Equal(t, 4001, ev.Code, "code the peer reports")
		assert.Equal(t, "duplex bye", ev.Reason, "reason the peer reports")
	}
}

// closeFromPeer: the peer starts the closing handshake; duplex must report
// its code and reason and answer with the same code (Section 5.5.1).
func closeFromPeer(t *testing.T, l *link, c caps) {
	command(t, l, map[string]any{"cmd": "close", "code": 4002, "reason": "peer bye"})
	var ce conn.CloseError
	require.ErrorAs(t, l.ended(t), &ce)
	assert.Equal(t, frame.CloseCode(4002), ce.Code, "code duplex reports")
	assert.Equal(t, "peer bye", ce.Reason, "reason duplex reports")
	if c.closeReport {
		ev := nextEvent(t, l.peer, "close")
		assert.Equal(t, 4002, ev.Code, "code of duplex's reply, as the peer reports it")
	}
}

func wssEchoAndClose(t *testing.T, l *link, c caps) {
	echo(t, l, conn.MessageText, 200)
	echo(t, l, conn.MessageBinary, 70000)
	subprotocol(t, l, c)
	closeFromDuplex(t, l, c)
}

func replyCode(c caps, sent frame.CloseCode) frame.CloseCode {
	if c.closeReply != 0 {
		return c.closeReply
	}
	return sent
}
