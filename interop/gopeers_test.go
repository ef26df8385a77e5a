package interop_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/websocket"

	"duplex/conn"
	"duplex/frame"
)

// peerCommand is a command message of the peer script.
type peerCommand struct {
	Cmd    string   `json:"cmd"`
	Data   string   `json:"data"`
	Parts  []string `json:"parts"`
	Code   int      `json:"code"`
	Reason string   `json:"reason"`
	Size   int      `json:"size"`
}

func parseCommand(b []byte) (peerCommand, bool) {
	var c peerCommand
	if len(b) == 0 || b[0] != '!' {
		return c, false
	}
	return c, json.Unmarshal(b[1:], &c) == nil
}

// xnetFrame is one frame as golang.org/x/net/websocket reads and writes it:
// it has no message layer, so the script works frame by frame.
type xnetFrame struct {
	data []byte
	typ  byte
}

var xnetCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(xnetFrame)
		return f.data, f.typ, nil
	},
	Unmarshal: func(data []byte, typ byte, v any) error {
		f := v.(*xnetFrame)
		f.data, f.typ = append([]byte(nil), data...), typ
		return nil
	},
}

// driveXnet runs the peer script on an x/net connection. x/net answers pings
// but drops pongs and the payload of close frames, so it reports neither;
// it starts a close by writing the close frame itself, since its Close always
// sends 1000. closeTCP ends the connection without another close frame.
func driveXnet(ws *websocket.Conn, r *router, id string, closeTCP func()) {
	protocol := ""
	if p := ws.Config().Protocol; len(p) == 1 {
		protocol = p[0]
	}
	r.dispatch(event{ID: id, Event: "open", Protocol: protocol})
	closing := false
	for {
		var f xnetFrame
		if err := xnetCodec.Receive(ws, &f); err != nil {
			break
		}
		cmd, ok := parseCommand(f.data)
		if !ok || f.typ != websocket.TextFrame {
			_ = xnetCodec.Send(ws, f)
			continue
		}
		switch cmd.Cmd {
		case "ping":
			_ = xnetCodec.Send(ws, xnetFrame{[]byte(cmd.Data), websocket.PingFrame})
		case "close":
			body := binary.BigEndian.AppendUint16(nil, uint16(cmd.Code))
			_ = xnetCodec.Send(ws, xnetFrame{append(body, cmd.Reason...), websocket.CloseFrame})
			closing = true
		default:
			r.dispatch(event{ID: id, Event: "error", Message: "unsupported command " + cmd.Cmd})
		}
	}
	if closing {
		closeTCP()
	} else {
		_ = ws.Close() // answers the close with 1000
	}
	r.dispatch(event{ID: id, Event: "close"})
}

// x/net sends pings when asked but has no pong event; it reads frames, not
// messages, so fragments reach its script one by one; and it answers every
// close with 1000, reporting nothing.
var xnetCaps = caps{sendsPings: true, closeReply: frame.CloseNormal}

// startXnetServer runs an x/net server over ws:// and wss:// and returns
// their base URLs.
func startXnetServer(t testing.TB, r *router, pki *testPKI) (plain, secure string) {
	t.Helper()
	h := websocket.Server{
		// The server's preference decides; any Origin is fine.
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			i := slices.IndexFunc(serverProtocols, func(p string) bool { return slices.Contains(cfg.Protocol, p) })
			cfg.Protocol = nil
			if i >= 0 {
				cfg.Protocol = []string{serverProtocols[i]}
			}
			return nil
		},
		Handler: func(ws *websocket.Conn) {
			driveXnet(ws, r, ws.Request().URL.Query().Get("id"), func() {})
		},
	}
	p := httptest.NewServer(h)
	s := httptest.NewUnstartedServer(h)
	s.TLS = pki.serverTLS()
	s.StartTLS()
	t.Cleanup(p.Close)
	t.Cleanup(s.Close)
	return "ws://" + p.Listener.Addr().String(), "wss://" + s.Listener.Addr().String()
}

// xnetClient returns the function that connects an x/net client; the
// goroutine driving it is waited for when the test ends.
func xnetClient(t testing.TB, r *router, pki *testPKI) peerClient {
	return func(rawURL, id string, _ deflateMode) {
		t.Helper()
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatalf("x/net URL: %v", err)
		}
		// x/net requires an Origin; a same-host one passes duplex's check.
		cfg, err := websocket.NewConfig(rawURL, "http://"+u.Host)
		if err != nil {
			t.Fatalf("x/net config: %v", err)
		}
		cfg.Protocol = clientProtocols
		var nc net.Conn
		if strings.HasPrefix(rawURL, "wss:") {
			tc := pki.clientTLS()
			tc.ServerName = cfg.Location.Hostname()
			nc, err = tls.Dial("tcp", cfg.Location.Host, tc)
		} else {
			nc, err = net.Dial("tcp", cfg.Location.Host)
		}
		if err != nil {
			t.Fatalf("x/net dial: %v", err)
		}
		var wg sync.WaitGroup
		t.Cleanup(func() {
			_ = nc.Close()
			wg.Wait()
		})
		wg.Go(func() {
			ws, err := websocket.NewClient(cfg, nc)
			if err != nil {
				r.dispatch(event{ID: id, Event: "error", Message: "x/net handshake: " + err.Error()})
				_ = nc.Close()
				return
			}
			driveXnet(ws, r, id, func() { _ = nc.Close() })
		})
	}
}

// duplexClient returns the function that connects a duplex client running
// the peer script, for the duplex-duplex pair.
func duplexClient(t testing.TB, r *router, pki *testPKI) peerClient {
	return func(rawURL, id string, m deflateMode) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		t.Cleanup(func() {
			cancel()
			wg.Wait()
		})
		wg.Go(func() { driveDuplexPeer(ctx, r, pki, rawURL, id, m.client) })
	}
}

// duplexPeerFragment makes the peer's writer send "frag-0 " and "frag-1 " as
// frames of their own.
const duplexPeerFragment = 7

func driveDuplexPeer(ctx context.Context, r *router, pki *testPKI, rawURL, id string, comp *conn.CompressionOptions) {
	var c *conn.Conn
	var writers sync.WaitGroup
	defer writers.Wait()
	opts := &conn.DialOptions{
		ClientOptions: conn.ClientOptions{
			Subprotocols: clientProtocols,
		},
		TLSConfig: pki.clientTLS(),
		Options: conn.Options{
			ReadLimit:    4 << 20,
			FragmentSize: duplexPeerFragment,
			Compression:  comp,
			OnPong: func(p []byte) {
				data := string(p)
				r.dispatch(event{ID: id, Event: "pong", Data: data})
				// Hooks must not block: the reply goes out from elsewhere.
				writers.Go(func() { _ = c.WriteMessage(ctx, conn.MessageText, []byte("pong "+data)) })
			},
		},
	}
	c, _, err := conn.Dial(ctx, rawURL, opts)
	if err != nil {
		r.dispatch(event{ID: id, Event: "error", Message: "duplex dial: " + err.Error()})
		return
	}
	defer c.CloseNow()
	open := event{ID: id, Event: "open", Protocol: c.Subprotocol()}
	if p, ok := c.Compression(); ok {
		open.Extensions = p.Extension().String()
	}
	r.dispatch(open)
	for {
		typ, b, err := c.ReadMessage(ctx)
		if err != nil {
			var ce conn.CloseError
			if errors.As(err, &ce) {
				r.dispatch(event{ID: id, Event: "close", Code: int(ce.Code), Reason: ce.Reason})
			} else {
				r.dispatch(event{ID: id, Event: "error", Message: err.Error()})
			}
			return
		}
		cmd, ok := parseCommand(b)
		if !ok || typ != conn.MessageText {
			_ = c.WriteMessage(ctx, typ, b)
			continue
		}
		runDuplexCommand(ctx, c, &writers, cmd)
	}
}

func runDuplexCommand(ctx context.Context, c *conn.Conn, writers *sync.WaitGroup, cmd peerCommand) {
	switch cmd.Cmd {
	case "ping":
		_ = c.Ping(ctx, []byte(cmd.Data))
	case "fragment":
		w, err := c.NextWriter(ctx, conn.MessageText)
		if err != nil {
			return
		}
		for _, p := range cmd.Parts {
			_, _ = w.Write([]byte(p))
		}
		_ = w.Close()
	case "zeros":
		_ = c.WriteMessage(ctx, conn.MessageBinary, make([]byte, cmd.Size))
	case "close":
		// Close waits for the reply, which this goroutine reads.
		writers.Go(func() { _ = c.Close(frame.CloseCode(cmd.Code), cmd.Reason) })
	}
}
