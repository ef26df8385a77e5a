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

// pair is a server/client pair with duplex on one side. setup starts what
// the pair needs for the length of its subtest (peer servers, the browser)
// and returns how to open a new connection, over wss:// when tls is set.
type pair struct {
	name  string
	caps  caps
	setup func(t *testing.T, env *matrixEnv) func(t testing.TB, tls bool) *link
}

// serverWith is a duplex-server pair whose client is started by client.
func serverWith(name string, c caps, client func(t *testing.T, env *matrixEnv) func(url, id string)) pair {
	return pair{
		name: "duplex-server/" + name + "-client",
		caps: c,
		setup: func(t *testing.T, env *matrixEnv) func(testing.TB, bool) *link {
			start := client(t, env)
			return func(t testing.TB, tls bool) *link { return env.srv.accept(t, tls, start) }
		},
	}
}

// clientOf is a duplex-client pair whose server runs at the URLs server
// returns.
func clientOf(name string, c caps, server func(t *testing.T, env *matrixEnv) (plain, secure string)) pair {
	return pair{
		name: name + "-server/duplex-client",
		caps: c,
		setup: func(t *testing.T, env *matrixEnv) func(testing.TB, bool) *link {
			plain, secure := server(t, env)
			return func(t testing.TB, tls bool) *link {
				base := plain
				if tls {
					base = secure
				}
				return dialLink(t, env, base, tls)
			}
		},
	}
}

// Node's ws and Python's websockets echo the close code and reason they
// receive and report everything; both speak permessage-deflate.
var (
	nodeCaps   = caps{sendsPings: true, reportsPongs: true, sendsFragments: true, readsFragments: true, closeReport: true, deflate: true}
	pythonCaps = nodeCaps
	duplexCaps = caps{sendsPings: true, reportsPongs: true, sendsFragments: true, readsFragments: true, closeReport: true}
	// A page can neither ping nor pick its fragments.
	browserCaps = caps{readsFragments: true, closeReport: true, deflate: true}
)

func pairs() []pair {
	return []pair{
		serverWith("duplex", duplexCaps, func(t *testing.T, env *matrixEnv) func(string, string) {
			return duplexClient(t, env.r, env.pki)
		}),
		serverWith("node", nodeCaps, func(t *testing.T, env *matrixEnv) func(string, string) {
			node, err := nodePath()
			requirePeer(t, "node ws", err)
			return func(url, id string) {
				startProc(t, env.r, []string{"NODE_EXTRA_CA_CERTS=" + env.pki.caFile},
					node, "node/peer.js", "client", url, id, joinProtocols())
			}
		}),
		serverWith("python", pythonCaps, func(t *testing.T, env *matrixEnv) func(string, string) {
			requirePeer(t, "python3-websockets", checkPython())
			return func(url, id string) {
				startProc(t, env.r, nil, pythonPath, "python/peer.py", "client", url, id, joinProtocols(), env.pki.caFile)
			}
		}),
		serverWith("xnet", xnetCaps, func(t *testing.T, env *matrixEnv) func(string, string) {
			return xnetClient(t, env.r, env.pki)
		}),
		serverWith("chromium", browserCaps, func(t *testing.T, env *matrixEnv) func(string, string) {
			return browserClient(t, startBrowser(t, env.srv, env.pki))
		}),
		clientOf("node", nodeCaps, func(t *testing.T, env *matrixEnv) (string, string) {
			node, err := nodePath()
			requirePeer(t, "node ws", err)
			p := startProc(t, env.r, nil, node, "node/peer.js", "server", "0")
			s := startProc(t, env.r, nil, node, "node/peer.js", "server", "0", env.pki.certFile, env.pki.keyFile)
			return fmt.Sprintf("ws://127.0.0.1:%d", p.port(t)), fmt.Sprintf("wss://127.0.0.1:%d", s.port(t))
		}),
		clientOf("python", pythonCaps, func(t *testing.T, env *matrixEnv) (string, string) {
			requirePeer(t, "python3-websockets", checkPython())
			p := startProc(t, env.r, nil, pythonPath, "python/peer.py", "server", "0")
			s := startProc(t, env.r, nil, pythonPath, "python/peer.py", "server", "0", env.pki.certFile, env.pki.keyFile)
			return fmt.Sprintf("ws://127.0.0.1:%d", p.port(t)), fmt.Sprintf("wss://127.0.0.1:%d", s.port(t))
		}),
		clientOf("xnet", xnetCaps, func(t *testing.T, env *matrixEnv) (string, string) {
			return startXnetServer(t, env.r, env.pki)
		}),
	}
}

func joinProtocols() string {
	s := clientProtocols[0]
	for _, p := range clientProtocols[1:] {
		s += "," + p
	}
	return s
}

// dialLink connects duplex to a peer server at base.
func dialLink(t testing.TB, env *matrixEnv, base string, tls bool) *link {
	t.Helper()
	id := newID()
	l := newLink(env.r.watch(id))
	opts := &conn.DialOptions{Subprotocols: clientProtocols, Options: l.options()}
	if tls {
		opts.TLSConfig = env.pki.clientTLS()
	}
	c, _, err := conn.Dial(ctxFor(t), base+"/?id="+id, opts)
	require.NoError(t, err)
	l.start(t, c)
	return l
}

// TestMatrix runs every scenario a pair can take part in, for every pair
// with duplex on one side. Each pair shares one connection for the
// scenarios that leave it open.
func TestMatrix(t *testing.T) {
	env := &matrixEnv{r: newRouter(), pki: newTestPKI(t)}
	env.srv = startDuplexServer(t, env.r, env.pki)
	for _, p := range pairs() {
		t.Run(p.name, func(t *testing.T) {
			connect := p.setup(t, env)
			shared := connect(t, false)
			for _, s := range scenarios() {
				if s.needs != nil && !s.needs(p.caps) {
					continue
				}
				t.Run(s.name, func(t *testing.T) {
					l := shared
					if s.fresh {
						l = connect(t, s.tls)
					}
					s.run(t, l, p.caps)
				})
			}
		})
	}
}
