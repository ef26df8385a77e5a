package interop_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// longLine is over conn.DefaultCompressionThreshold, so ws compresses it.
var longLine = strings.Repeat("deflate me, ", 30)

// TestCmdWSCompressionWithNode drives the ws binary's permessage-deflate
// against Node's ws, whose verbose output shows RSV1 on the frames of
// compressed messages (RFC 7692, Section 6).
func TestCmdWSCompressionWithNode(t *testing.T) {
	node := nodePeer(t)
	bin := buildWS(t)
	r := newRouter()
	servers := map[string]int{}
	for _, mode := range []string{"on", "small"} {
		servers[mode] = startProc(t, r, []string{"DUPLEX_PEER_DEFLATE=" + mode}, node, "node/peer.js", "server", "0").port(t)
	}
	target := func(mode, id string) string { return fmt.Sprintf("ws://127.0.0.1:%d/?id=%s", servers[mode], id) }
	input := strings.Repeat(longLine+"\n", 3) + "short\n"

	for _, tc := range []struct {
		name, mode string
		want       handshake.DeflateParams // the agreement in Node's response
	}{
		{"7692-7/node-defaults", "on", handshake.DeflateParams{}},
		// Node answers with every parameter it is configured with, also
		// those ws did not offer, as RFC 7692, Section 7.1 lets a server.
		{"7692-7.1/node-no-takeover-w10-9", "small", smallAgreement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			peer := r.watch(id)
			res := runBinary(t, bin, strings.NewReader(input), "-v", target(tc.mode, id))
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, input, res.out, "every line echoed, inflated")
			ext := nextEvent(t, peer, "open").Extensions
			exts, err := handshake.ParseExtensions([]string{ext})
			require.NoError(t, err, "Node's response %q", ext)
			require.Len(t, exts, 1, "Node's response %q", ext)
			got, err := handshake.ParseDeflateResponse(exts[0])
			require.NoError(t, err)
			assert.Equal(t, tc.want, got, "Node's response %q", ext)
			assert.Contains(t, res.stderr, "< Sec-WebSocket-Extensions: "+ext+"\n")
			assert.Contains(t, res.stderr, "> frame text fin rsv1 len=", "ws's long lines")
			assert.Contains(t, res.stderr, "> frame text fin len=5 masked\n", "ws's short line, uncompressed")
			// Node compresses every message, the short echo too.
			assert.Equal(t, 4, strings.Count(res.stderr, "< frame text fin rsv1 len="), "Node's echoes")
		})
	}

	t.Run("7692-7/compress-false", func(t *testing.T) {
		id := newID()
		peer := r.watch(id)
		res := runBinary(t, bin, strings.NewReader(longLine+"\n"), "-v", "-compress=false", target("on", id))
		require.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, longLine+"\n", res.out)
		assert.Empty(t, nextEvent(t, peer, "open").Extensions, "nothing agreed")
		assert.NotContains(t, res.stderr, "Sec-WebSocket-Extensions")
		assert.NotContains(t, res.stderr, "rsv1")
	})
}

// TestCmdWSListenCompressesWithNodeClient: ws -listen agrees to Node's
// offer and shows each client's compressed frames.
func TestCmdWSListenCompressesWithNodeClient(t *testing.T) {
	node := nodePeer(t)
	bin := buildWS(t)
	r := newRouter()

	cmd, feed, out, errb, addr := startListen(t, bin, "-v")

	id := newID()
	peer := r.watch(id)
	startProc(t, r, []string{"DUPLEX_PEER_DEFLATE=on"}, node, "node/peer.js", "client", "ws://"+addr+"/?id="+id, id)
	assert.Equal(t, "permessage-deflate", nextEvent(t, peer, "open").Extensions)

	_, err := feed.Write([]byte(longLine + "\n"))
	require.NoError(t, err)
	waitFor(t, out, longLine+"\n") // broadcast, echoed by the client, printed
	require.NoError(t, feed.Close())
	nextEvent(t, peer, "close")
	res := waitBinary(t, cmd, out, errb)
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "[1] < Sec-WebSocket-Extensions: permessage-deflate")
	assert.Contains(t, res.stderr, "compression: permessage-deflate\n")
	assert.Contains(t, res.stderr, "[1] > frame text fin rsv1 len=", "the broadcast, compressed")
	assert.Contains(t, res.stderr, "[1] < frame text fin rsv1 len=", "Node's compressed echo")
}
