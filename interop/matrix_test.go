package interop_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"duplex/conn"
)

// matrixEnv is what every pair shares: the report router, the test
// certificate and the duplex server.
type matrixEnv struct {
	r   *router
	pki *testPKI
	srv *duplexServer
}

// connector opens a new connection of a pair, over wss:// when tls is set.
type connector func(t testing.TB, tls bool) *link

// peerClient starts a peer client connecting to url with the connection id,
// compressing as the mode says.
type peerClient func(url, id string, m deflateMode)

// pair is a server/client pair with duplex on one side. setup starts what
// the pair needs for the length of its subtest (the browser) and returns
// what starts, for one compression mode, what the mode needs (peer servers)
// and how to connect.
type pair struct {
	name  string
	caps  caps
	setup func(t *testing.T, env *matrixEnv) func(t *testing.T, m deflateMode) connector
}

// serverWith is a duplex-server pair whose client is started by client.
func serverWith(name string, c caps, client func(t *testing.T, env *matrixEnv) peerClient) pair {
	return pair{
		name: "duplex-server/" + name + "-client",
		caps: c,
		setup: func(t *testing.T, env *matrixEnv) func(*testing.T, deflateMode) connector {
			start := client(t, env)
			return func(_ *testing.T, m deflateMode) connector {
				return func(t testing.TB, tls bool) *link { return env.srv.accept(t, tls, m, start) }
			}
		},
	}
}

// clientOf is a duplex-client pair whose server, started for each mode,
// runs at the URLs server returns.
func clientOf(name string, c caps, server func(t *testing.T, env *matrixEnv, m deflateMode) (plain, secure string)) pair {
	return pair{
		name: name + "-server/duplex-client",
		caps: c,
		setup: func(_ *testing.T, env *matrixEnv) func(*testing.T, deflateMode) connector {
			return func(t *testing.T, m deflateMode) connector {
				plain, secure := server(t, env, m)
				return func(t testing.TB, tls bool) *link {
					base := plain
					if tls {
						base = secure
					}
					return dialLink(t, env, base, tls, m)
				}
			}
		},
	}
}

// Node's ws and Python's websockets echo the close code and reason they
// receive and report everything; both speak permessage-deflate.
var (
	nodeCaps   = caps{sendsPings: true, reportsPongs: true, sendsFragments: true, readsFragments: true, closeReport: true, deflate: true, window8: true}
	pythonCaps = caps{sendsPings: true, reportsPongs: true, sendsFragments: true, readsFragments: true, closeReport: true, deflate: true}
	duplexCaps = nodeCaps
	// A page can neither ping nor pick its fragments.
	browserCaps = caps{readsFragments: true, closeReport: true, deflate: true, fixedOffer: true, window8: true}
)

func pairs() []pair {
	return []pair{
		serverWith("duplex", duplexCaps, func(t *testing.T, env *matrixEnv) peerClient {
			return duplexClient(t, env.r, env.pki)
		}),
		serverWith("node", nodeCaps, func(t *testing.T, env *matrixEnv) peerClient {
			node := nodePeer(t)
			return func(url, id string, m deflateMode) {
				startProc(t, env.r, []string{"NODE_EXTRA_CA_CERTS=" + env.pki.caFile, m.peerEnv()},
					node, "node/peer.js", "client", url, id, joinProtocols())
			}
		}),
		serverWith("python", pythonCaps, func(t *testing.T, env *matrixEnv) peerClient {
			requirePeer(t, "python3-websockets", checkPython())
			return func(url, id string, m deflateMode) {
				startProc(t, env.r, []string{m.peerEnv()},
					pythonPath, "python/peer.py", "client", url, id, joinProtocols(), env.pki.caFile)
			}
		}),
		serverWith("xnet", xnetCaps, func(t *testing.T, env *matrixEnv) peerClient {
			return xnetClient(t, env.r, env.pki)
		}),
		// Chromium always offers permessage-deflate; the mode sets what the
		// duplex server answers.
		serverWith("chromium", browserCaps, func(t *testing.T, env *matrixEnv) peerClient {
			return browserClient(t, startBrowser(t, env.srv, env.pki))
		}),
		clientOf("node", nodeCaps, func(t *testing.T, env *matrixEnv, m deflateMode) (string, string) {
			node := nodePeer(t)
			return startPeerServers(t, env, []string{m.peerEnv()}, node, "node/peer.js")
		}),
		clientOf("python", pythonCaps, func(t *testing.T, env *matrixEnv, m deflateMode) (string, string) {
			requirePeer(t, "python3-websockets", checkPython())
			return startPeerServers(t, env, []string{m.peerEnv()}, pythonPath, "python/peer.py")
		}),
		clientOf("xnet", xnetCaps, func(t *testing.T, env *matrixEnv, _ deflateMode) (string, string) {
			return startXnetServer(t, env.r, env.pki)
		}),
	}
}

// startPeerServers starts a peer script's servers over ws:// and wss:// and
// returns their base URLs.
func startPeerServers(t testing.TB, env *matrixEnv, penv []string, name, script string) (plain, secure string) {
	t.Helper()
	p := startProc(t, env.r, penv, name, script, "server", "0")
	s := startProc(t, env.r, penv, name, script, "server", "0", env.pki.certFile, env.pki.keyFile)
	return fmt.Sprintf("ws://127.0.0.1:%d", p.port(t)), fmt.Sprintf("wss://127.0.0.1:%d", s.port(t))
}

func joinProtocols() string {
	s := clientProtocols[0]
	for _, p := range clientProtocols[1:] {
		s += "," + p
	}
	return s
}

// dialLink connects duplex to a peer server at base; a plaintext
// connection is tapped.
func dialLink(t testing.TB, env *matrixEnv, base string, tls bool, m deflateMode) *link {
	t.Helper()
	id := newID()
	l := newLink(env.r.watch(id), m)
	opts := &conn.DialOptions{ClientOptions: conn.ClientOptions{Subprotocols: clientProtocols}, Options: l.options(m.client)}
	if tls {
		opts.TLSConfig = env.pki.clientTLS()
	} else {
		l.tap = newWireTap()
		opts.NetDial = tapDial(l.tap)
	}
	c, _, err := conn.Dial(ctxFor(t), base+"/?id="+id, opts)
	require.NoError(t, err)
	l.start(t, c)
	return l
}

// TestMatrix runs every scenario a pair can take part in, for every pair
// with duplex on one side, in every compression mode the peer speaks. Each
// pair shares one connection per mode for the scenarios that leave it open.
func TestMatrix(t *testing.T) {
	env := &matrixEnv{r: newRouter(), pki: newTestPKI(t)}
	env.srv = startDuplexServer(t, env.r, env.pki)
	for _, p := range pairs() {
		t.Run(p.name, func(t *testing.T) {
			// The pairs wait mostly on peer processes starting and on
			// closing handshakes: running them side by side keeps the
			// run short.
			t.Parallel()
			setupMode := p.setup(t, env)
			for _, m := range deflateModes {
				if !m.runs(p.caps) {
					continue
				}
				run := func(t *testing.T) { runScenarios(t, p.caps, m, setupMode(t, m)) }
				if m.name == "" {
					run(t)
				} else {
					t.Run(m.name, run)
				}
			}
		})
	}
}

func runScenarios(t *testing.T, c caps, m deflateMode, connect connector) {
	shared := connect(t, false)
	for _, s := range scenarios() {
		if s.needs != nil && !s.needs(c) || s.inMode != nil && !s.inMode(m) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			l := shared
			if s.fresh {
				l = connect(t, s.tls)
			}
			s.run(t, l, c)
		})
	}
}
