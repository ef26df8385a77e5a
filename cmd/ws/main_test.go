package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"duplex/conn"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds a run of ws in a test: generous for a shared machine.
const testTimeout = 30 * time.Second

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what a run of ws left behind.
type result struct {
	code        int
	out, stderr string
}

// runWS runs the command with args and stdin in, to its end.
func runWS(t testing.TB, in io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var out, errb lockedBuffer
	code := run(ctx, args, in, &out, &errb)
	return result{code: code, out: out.String(), stderr: errb.String()}
}

// peerEnd is what the test server saw of one connection.
type peerEnd struct {
	req  *http.Request
	c    *conn.Conn
	msgs []message
	err  error // the error that ended the read loop
}

type message struct {
	typ  conn.MessageType
	data []byte
}

// testServer is a duplex server; handle runs on each connection (nil: echo
// every message) and the server records what each connection saw, one
// peerEnd per connection on ends.
type testServer struct {
	*httptest.Server
	ends chan peerEnd
	wg   sync.WaitGroup
}

func newTestServer(t testing.TB, opts *conn.AcceptOptions, handle func(e *peerEnd)) *testServer {
	t.Helper()
	s := &testServer{ends: make(chan peerEnd, 16)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		c, err := conn.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		e := &peerEnd{req: r, c: c}
		if handle != nil {
			handle(e)
		} else {
			echoAll(e)
		}
		s.ends <- *e
	}))
	// Refused TLS handshakes are part of the tests, not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(func() {
		s.Close()
		s.wg.Wait()
	})
	return s
}

// echoAll echoes every message until the connection ends.
func echoAll(e *peerEnd) {
	ctx := context.Background()
	for {
		typ, b, err := e.c.ReadMessage(ctx)
		if err != nil {
			e.err = err
			return
		}
		e.msgs = append(e.msgs, message{typ, b})
		if err := e.c.WriteMessage(ctx, typ, b); err != nil {
			e.err = err
			return
		}
	}
}

func (s *testServer) wsURL() string { return "ws" + s.URL[len("http"):] }

// end waits for the record of the next connection that ended.
func (s *testServer) end(t testing.TB) peerEnd {
	t.Helper()
	select {
	case e := <-s.ends:
		return e
	case <-time.After(testTimeout):
		t.Fatalf("no connection ended within %v", testTimeout)
		return peerEnd{}
	}
}
