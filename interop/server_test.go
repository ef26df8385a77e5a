package interop_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"duplex/conn"
)

var linkIDs atomic.Int64

func newID() string { return fmt.Sprintf("c%d", linkIDs.Add(1)) }

// duplexServer is the duplex end of the duplex-server pairs, over ws:// and
// wss://. It also serves the browser's test page and takes its reports.
type duplexServer struct {
	r       *router
	mu      sync.Mutex
	pending map[string]pendingConn
	plain   *httptest.Server
	secure  *httptest.Server
	taps    *tapListener // the plain server's
}

type pendingConn struct {
	opts conn.Options
	ch   chan accepted
}

// accepted is a connection the server accepted, with the tap of its wire
// (nil over TLS).
type accepted struct {
	c   *conn.Conn
	tap *wireTap
}

func startDuplexServer(t testing.TB, r *router, pki *testPKI) *duplexServer {
	t.Helper()
	s := &duplexServer{r: r, pending: make(map[string]pendingConn)}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.upgrade)
	mux.HandleFunc("/event", s.event)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(browserPage))
	})
	s.plain = httptest.NewUnstartedServer(mux)
	s.taps = newTapListener(s.plain.Listener)
	s.plain.Listener = s.taps
	s.plain.Start()
	s.secure = httptest.NewUnstartedServer(mux)
	s.secure.TLS = pki.serverTLS()
	s.secure.StartTLS()
	t.Cleanup(s.plain.Close)
	t.Cleanup(s.secure.Close)
	return s
}

// url is where a client connects for the connection id.
func (s *duplexServer) url(tls bool, id string) string {
	srv, scheme := s.plain, "ws"
	if tls {
		srv, scheme = s.secure, "wss"
	}
	return fmt.Sprintf("%s://%s/ws?id=%s", scheme, srv.Listener.Addr(), id)
}

func (s *duplexServer) upgrade(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	s.mu.Lock()
	p, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unexpected connection", http.StatusNotFound)
		return
	}
	c, err := conn.Upgrade(w, r, &conn.AcceptOptions{
		ServerOptions: conn.ServerOptions{
			Subprotocols: serverProtocols,
			// The browser's page comes from the plain server, also when it
			// opens wss:// on the other port.
			OriginPatterns: []string{"127.0.0.1:*"},
		},
		Options: p.opts,
	})
	if err != nil {
		s.r.dispatch(event{ID: id, Event: "error", Message: "duplex refused the handshake: " + err.Error()})
		return
	}
	a := accepted{c: c}
	if r.TLS == nil {
		a.tap = s.taps.tap(r.RemoteAddr)
	}
	p.ch <- a
}

// event takes a report the browser posts.
func (s *duplexServer) event(w http.ResponseWriter, r *http.Request) {
	var ev event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.r.dispatch(ev)
	w.WriteHeader(http.StatusNoContent)
}

// expect registers the connection id: its connection gets opts and is
// delivered on the returned channel.
func (s *duplexServer) expect(id string, opts conn.Options) <-chan accepted {
	ch := make(chan accepted, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[id] = pendingConn{opts: opts, ch: ch}
	return ch
}

// accept runs startClient for a new connection id and returns the link once
// duplex accepted the connection and the peer reported it open.
func (s *duplexServer) accept(t testing.TB, tls bool, m deflateMode, startClient peerClient) *link {
	t.Helper()
	id := newID()
	l := newLink(s.r.watch(id), m)
	ch := s.expect(id, l.options(m.server))
	startClient(s.url(tls, id), id, m)

	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var early []event
	for {
		select {
		case a := <-ch:
			for _, ev := range early {
				l.peer <- ev
			}
			l.tap = a.tap
			l.start(t, a.c)
			return l
		case ev := <-l.peer:
			if ev.Event == "error" {
				t.Fatalf("connection failed: %s", ev.Message)
			}
			early = append(early, ev)
		case <-timer.C:
			t.Fatalf("no connection from the peer within %v", waitTimeout)
		}
	}
}
