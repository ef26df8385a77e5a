package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"duplex/conn"
	"duplex/handshake"
)

// serverWriteTimeout bounds a message to one client, so that a client that
// stopped reading cannot hold the broadcast of the others, and every write
// of a connection (conn.Options.WriteTimeout), pongs and close frames too.
const serverWriteTimeout = 10 * time.Second

// Bounds on what an HTTP client holds before its handshake: net/http's
// read-header and idle timeouts, and the request head net/http reads.
// net/http reads netHTTPHeadSlack bytes beyond http.Server.MaxHeaderBytes
// (its "bufio slop", Go 1.26) before it answers 431, so maxHeaderBytes makes
// its limit the handshake's (handshake.DefaultLimits: 8 KiB); the handshake
// also refuses a head of over 64 lines.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = time.Minute
	netHTTPHeadSlack  = 4096
)

var maxHeaderBytes = handshake.DefaultLimits.MaxHeadBytes - netHTTPHeadSlack

// hub is the server mode: it tracks the connected clients.
type hub struct {
	cfg  *config
	p    *printer
	opts *conn.AcceptOptions

	mu      sync.Mutex
	clients map[int]*conn.Conn
	next    int
	// ids holds the number a tapped connection got when it was accepted,
	// by remote address, until its request is served or it closes.
	ids     map[string]int
	closing bool
	readers sync.WaitGroup // one per connection being served; Add only under mu
}

// runServer serves cfg.listen until standard input ends or ctx is done,
// then closes every connection. It returns the exit status.
func runServer(ctx context.Context, cfg *config, in io.Reader, p *printer) int {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		p.errorf("ws: cannot listen: %v", err)
		return exitFailed
	}
	p.errorf("ws: listening on ws://%s", ln.Addr())
	h := &hub{
		cfg: cfg,
		p:   p,
		opts: &conn.AcceptOptions{
			ServerOptions: conn.ServerOptions{
				Subprotocols: cfg.subprotocols,
				Header:       cfg.header,
				// A test server: no cookies or other ambient credentials to
				// protect from other origins (RFC 6455, Section 10.2).
				InsecureSkipOriginCheck: true,
			},
		},
		clients: make(map[int]*conn.Conn),
		ids:     make(map[string]int),
	}
	if p.verbose {
		// A server speaks ws:// only: its wire can always be shown.
		ln = &tapListener{Listener: ln, h: h}
		p.wire = true
	}
	srv := &http.Server{
		Handler: h,
		// net/http's deadlines end with the WebSocket handshake, which clears
		// them after the 101 response.
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      serverWriteTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	code := h.loop(ctx, in, serveDone)
	h.closeAll()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if code == exitOK {
		<-serveDone
	}
	return code
}

// loop broadcasts lines of in until it ends, ctx is done or the listener
// fails.
func (h *hub) loop(ctx context.Context, in io.Reader, serveDone <-chan error) int {
	done := make(chan struct{})
	defer close(done)
	lines := readLines(in, done)
	var tick <-chan time.Time
	if h.cfg.ping > 0 {
		t := time.NewTicker(h.cfg.ping)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				if l.err != io.EOF {
					h.p.errorf("ws: reading standard input: %v", l.err)
				}
				return exitOK
			}
			h.each(func(prefix string, c *conn.Conn) {
				wctx, cancel := context.WithTimeout(ctx, serverWriteTimeout)
				defer cancel()
				if err := send(wctx, h.cfg, c, h.p, prefix, l.b); err != nil {
					h.p.errorf("ws: %s%v", prefix, err)
				}
			})
		case <-tick:
			h.each(func(prefix string, c *conn.Conn) {
				h.p.event("%s> ping", prefix)
				pctx, cancel := context.WithTimeout(ctx, serverWriteTimeout)
				defer cancel()
				_ = c.Ping(pctx, nil)
			})
		case <-ctx.Done():
			return exitOK
		case err := <-serveDone:
			h.p.errorf("ws: serving: %v", err)
			return exitFailed
		}
	}
}

// ServeHTTP upgrades a request and prints the client's messages until its
// connection ends.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	h.readers.Add(1)
	id, ok := h.ids[r.RemoteAddr]
	delete(h.ids, r.RemoteAddr)
	if !ok {
		id = h.newID()
	}
	h.mu.Unlock()
	defer h.readers.Done()

	prefix := fmt.Sprintf("[%d] ", id)
	opts := *h.opts
	opts.Options = h.p.hooks(prefix)
	opts.ReadLimit = readLimit
	opts.WriteTimeout = serverWriteTimeout
	opts.Compression = h.cfg.compression()
	c, err := conn.Upgrade(w, r, &opts)
	if err != nil {
		h.p.errorf("ws: %srefused %s: %v", prefix, r.RemoteAddr, err)
		return
	}
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.clients[id] = c
	}
	h.mu.Unlock()
	if closing {
		// closeAll has already run: this late client is closed here.
		_ = c.Close(h.cfg.closeCode, h.cfg.closeReason)
		return
	}
	h.p.event("%sconnected from %s, subprotocol %q, compression: %s",
		prefix, r.RemoteAddr, c.Subprotocol(), compressionOf(c))

	err = readMessages(c, h.p, prefix, nil)
	h.mu.Lock()
	delete(h.clients, id)
	h.mu.Unlock()
	msg, _ := describe(r.RemoteAddr, err)
	h.p.event("%s%s", prefix, msg)
}

// newID numbers a new connection; h.mu is held.
func (h *hub) newID() int {
	h.next++
	return h.next
}

// forget drops the number of the connection from addr, unless another
// connection has it by now.
func (h *hub) forget(addr string, id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids[addr] == id {
		delete(h.ids, addr)
	}
}

// tapListener numbers each connection as it is accepted and shows its wire.
type tapListener struct {
	net.Listener
	h *hub
}

func (l *tapListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	addr := nc.RemoteAddr().String()
	l.h.mu.Lock()
	id := l.h.newID()
	l.h.ids[addr] = id
	l.h.mu.Unlock()
	prefix := fmt.Sprintf("[%d] ", id)
	p := l.h.p
	return &tapConn{
		Conn: nc,
		in:   newWireDecoder(p, prefix+"<"),
		out:  newWireDecoder(p, prefix+">"),
		// A connection that ends before its request was served leaves
		// no number behind.
		onClose: func() { l.h.forget(addr, id) },
	}, nil
}

// each runs f for every connected client, in turn.
func (h *hub) each(f func(prefix string, c *conn.Conn)) {
	h.mu.Lock()
	ids := make(map[int]*conn.Conn, len(h.clients))
	for id, c := range h.clients {
		ids[id] = c
	}
	h.mu.Unlock()
	for id, c := range ids {
		f(fmt.Sprintf("[%d] ", id), c)
	}
}

// closeAll refuses new clients, runs the closing handshake with every
// connected one at once, and waits until each connection has ended.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	var closers sync.WaitGroup
	h.each(func(prefix string, c *conn.Conn) {
		closers.Go(func() {
			h.p.event("%s> close %d %q", prefix, h.cfg.closeCode, h.cfg.closeReason)
			_ = c.Close(h.cfg.closeCode, h.cfg.closeReason)
		})
	})
	closers.Wait()
	h.readers.Wait()
}
