package conn_test

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// waitTimeout bounds correctness waits; generous for a loaded machine.
const waitTimeout = 10 * time.Second

// testCtx returns a context bounded by waitTimeout.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// serverMode selects how wsServer serves.
type serverMode int

const (
	servePlain     serverMode = iota // ws
	serveTLS                         // wss
	serveTLSWithH2                   // wss, with h2 offered in ALPN
)

func (m serverMode) String() string { return [...]string{"ws", "wss", "wss-h2"}[m] }

// wsServer runs an httptest server whose handler upgrades with opts and
// hands the connection to fn. Cleanup waits for every fn to return, since
// net/http does not wait for hijacked connections.
func wsServer(t testing.TB, mode serverMode, opts *conn.AcceptOptions, fn func(*conn.Conn)) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted before the hijack, while httptest's Close still waits for
		// the request, so that Add cannot race with Wait.
		wg.Add(1)
		defer wg.Done()
		c, err := conn.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		fn(c)
	})
	srv := httptest.NewUnstartedServer(h)
	// Refused TLS handshakes are expected in some tests; keep them quiet.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	switch mode {
	case servePlain:
		srv.Start()
	case serveTLS:
		srv.StartTLS()
	case serveTLSWithH2:
		srv.EnableHTTP2 = true
		srv.StartTLS()
	}
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

// wsURL turns an httptest server's URL into a ws or wss URL.
func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// echoOnce reads one message and sends it back, then reads on until the peer
// closes, so the closing handshake completes.
func echoOnce(c *conn.Conn) {
	ctx := context.Background()
	t, b, err := c.ReadMessage(ctx)
	if err != nil {
		return
	}
	if c.WriteMessage(ctx, t, b) != nil {
		return
	}
	for {
		if _, _, err := c.ReadMessage(ctx); err != nil {
			return
		}
	}
}

// roundTrip sends msg on c and returns the reply.
func roundTrip(t testing.TB, c *conn.Conn, typ conn.MessageType, msg []byte) (conn.MessageType, []byte) {
	t.Helper()
	ctx := testCtx(t)
	require.NoError(t, c.WriteMessage(ctx, typ, msg))
	gotType, got, err := c.ReadMessage(ctx)
	require.NoError(t, err)
	return gotType, got
}

// frameBytes encodes one final frame. Masked frames use a fixed key.
func frameBytes(op frame.Opcode, payload []byte, masked bool) []byte {
	h := frame.Header{Fin: true, Opcode: op, Masked: masked, Length: int64(len(payload))}
	if masked {
		h.MaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	}
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	if masked {
		frame.Mask(h.MaskKey, 0, b[start:])
	}
	return b
}

// upgradeRequest is a valid opening handshake request (RFC 6455, Section 4.1)
// with the key of the RFC's example, Section 4.2.2.
func upgradeRequest(host string) string {
	return "GET /chat HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// readResponseHead reads the server's response head from br.
func readResponseHead(t testing.TB, br *bufio.Reader) *handshake.Response {
	t.Helper()
	resp, err := handshake.ReadResponse(br, handshake.Limits{})
	require.NoError(t, err)
	return resp
}

// listen returns a loopback listener closed at cleanup.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptResult is what a goroutine running conn.Accept hands back.
type acceptResult struct {
	c   *conn.Conn
	err error
}

// acceptOne accepts one TCP connection on ln and runs conn.Accept on it in a
// goroutine; the result arrives on the returned channel.
func acceptOne(t testing.TB, ctx context.Context, ln net.Listener, opts *conn.AcceptOptions) <-chan acceptResult {
	t.Helper()
	ch := make(chan acceptResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			ch <- acceptResult{err: err}
			return
		}
		c, err := conn.Accept(ctx, nc, opts)
		ch <- acceptResult{c, err}
	}()
	return ch
}

func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		require.FailNow(t, "timed out")
		panic("unreachable")
	}
}

func TestAcceptSubprotocol(t *testing.T) {
	ln := listen(t)
	res := acceptOne(t, testCtx(t), ln, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Subprotocols: []string{"chat.v2", "chat.v1"}}})

	c, _, err := conn.Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", &conn.DialOptions{
		ClientOptions: conn.ClientOptions{
			Subprotocols: []string{"chat.v1", "chat.v2"},
		},
	})
	require.NoError(t, err)
	defer c.CloseNow()
	r := receive(t, res)
	require.NoError(t, r.err)
	defer r.c.CloseNow()

	// RFC 6455, Section 4.2.2: the server selects one of the client's values;
	// duplex takes its own preference order.
	assert.Equal(t, "chat.v2", c.Subprotocol())
	assert.Equal(t, "chat.v2", r.c.Subprotocol())

	go echoOnce(r.c)
	typ, got := roundTrip(t, c, conn.MessageBinary, []byte{1, 2, 3})
	assert.Equal(t, conn.MessageBinary, typ)
	assert.Equal(t, []byte{1, 2, 3}, got)
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// A client should wait for the 101 before sending data (RFC 6455, Section
// 4.1), but bytes a hasty client sent along with its request are already in
// the handshake's buffer: they are read as the first frame, not dropped.
func TestAcceptKeepsBytesAfterRequest(t *testing.T) {
	ln := listen(t)
	res := acceptOne(t, testCtx(t), ln, nil)

	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(append([]byte(upgradeRequest(ln.Addr().String())), frameBytes(frame.OpText, []byte("early"), true)...))
	require.NoError(t, err)

	r := receive(t, res)
	require.NoError(t, r.err)
	defer r.c.CloseNow()
	typ, got, err := r.c.ReadMessage(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, conn.MessageText, typ)
	assert.Equal(t, "early", string(got))
	assert.Equal(t, 101, readResponseHead(t, bufio.NewReader(nc)).StatusCode)
}

func TestAcceptContextCancelled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // cancel before Accept starts, else while it waits
	}{
		{"4.2.1/cancelled-before", true},
		{"4.2.1/cancelled-while-reading", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.before {
				cancel()
			}
			// No handshake timeout: only ctx can end the handshake of a
			// client that never sends its request.
			res := acceptOne(t, ctx, ln, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Timeout: -1}})
			nc, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			cancel()

			r := receive(t, res)
			require.ErrorIs(t, r.err, context.Canceled)
			assert.Nil(t, r.c)
			// Accept closed the connection: the client reads EOF.
			require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitTimeout)))
			_, err = nc.Read(make([]byte, 1))
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestAcceptRefusedClosesConn(t *testing.T) {
	ln := listen(t)
	res := acceptOne(t, testCtx(t), ln, nil)

	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	req := strings.Replace(upgradeRequest(ln.Addr().String()), "Version: 13", "Version: 8", 1)
	_, err = nc.Write([]byte(req))
	require.NoError(t, err)

	r := receive(t, res)
	var he *handshake.Error
	require.ErrorAs(t, r.err, &he)
	assert.Equal(t, http.StatusUpgradeRequired, he.Status)

	br := bufio.NewReader(nc)
	assert.Equal(t, http.StatusUpgradeRequired, readResponseHead(t, br).StatusCode)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	_, err = io.Copy(io.Discard, br) // the body, then EOF: Accept closed the connection
	require.NoError(t, err)
}

// The hijacked connection's buffered bytes are the start of the first frame.
func TestUpgradeKeepsBytesAfterRequest(t *testing.T) {
	got := make(chan string, 1)
	srv := wsServer(t, servePlain, nil, func(c *conn.Conn) {
		_, b, err := c.ReadMessage(context.Background())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	nc, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(append([]byte(upgradeRequest(host)), frameBytes(frame.OpText, []byte("early"), true)...))
	require.NoError(t, err)
	assert.Equal(t, "early", receive(t, got))
}

func TestUpgradeOrigin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *conn.AcceptOptions
		origin string
		status int // 0: accepted
	}{
		{"10.2/same-host", nil, "http://{host}", 0},
		{"10.2/no-origin", nil, "", 0},
		{"10.2/cross-origin-refused", nil, "https://evil.example", http.StatusForbidden},
		{"10.2/pattern", &conn.AcceptOptions{ServerOptions: conn.ServerOptions{OriginPatterns: []string{"*.example"}}}, "https://app.example", 0},
		{"10.2/skip-check", &conn.AcceptOptions{ServerOptions: conn.ServerOptions{InsecureSkipOriginCheck: true}}, "https://evil.example", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := wsServer(t, servePlain, tc.opts, echoOnce)
			origin := strings.ReplaceAll(tc.origin, "{host}", strings.TrimPrefix(srv.URL, "http://"))
			c, _, err := conn.Dial(testCtx(t), wsURL(srv), &conn.DialOptions{ClientOptions: conn.ClientOptions{Origin: origin}})
			if tc.status != 0 {
				var he *handshake.Error
				require.ErrorAs(t, err, &he)
				assert.Equal(t, tc.status, he.Status)
				assert.ErrorIs(t, err, handshake.ErrBadStatus)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			defer c.CloseNow()
			_, got := roundTrip(t, c, conn.MessageText, []byte("hi"))
			assert.Equal(t, "hi", string(got))
			require.NoError(t, c.Close(frame.CloseNormal, ""))
		})
	}
}

func TestUpgradeResponseHeader(t *testing.T) {
	srv := wsServer(t, servePlain, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Header: http.Header{"X-Duplex": {"yes"}}}}, echoOnce)
	c, resp, err := conn.Dial(testCtx(t), wsURL(srv), nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "yes", resp.Header.Get("X-Duplex"))
	require.NoError(t, c.Close(frame.CloseNormal, ""))
}

// AcceptOptions.Timeout reaches the handshake: a client that never sends
// its request is cut off.
func TestAcceptTimeout(t *testing.T) {
	ln := listen(t)
	res := acceptOne(t, context.Background(), ln, &conn.AcceptOptions{ServerOptions: conn.ServerOptions{Timeout: 50 * time.Millisecond}})
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	r := receive(t, res)
	require.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	assert.Nil(t, r.c)
}
