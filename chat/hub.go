package chat

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"duplex/frame"
)

// Hub holds the rooms and their members. It is safe for use by many goroutines.
type Hub struct {
	cfg Config
	log *slog.Logger

	// gate is held for reading while a message is handled and for writing when shutdown begins, so that
	// every message handled before shutdown reaches the queues before the connections are told to close.
	gate    sync.RWMutex
	closing bool // under gate and mu

	mu      sync.Mutex
	rooms   map[string]*room
	clients map[*client]struct{}
	perIP   map[string]int
	wg      sync.WaitGroup

	stats counters
}

// NewHub returns a hub with cfg's settings (nil: all defaults). cfg is copied.
func NewHub(cfg *Config) *Hub {
	c := cfg.withDefaults()
	return &Hub{
		cfg:     c,
		log:     c.Logger,
		rooms:   make(map[string]*room),
		clients: make(map[*client]struct{}),
		perIP:   make(map[string]int),
	}
}

func (h *Hub) now() time.Time { return h.cfg.Now() }

// Serve runs one client connection until it ends: the calling goroutine reads, and one more goroutine
// writes. remote identifies the peer's address for the per-address limit (an IP, without port).
// Serve closes s before it returns, and returns at once, closing s with 1001 (going away), once Shutdown
// has begun.
func (h *Hub) Serve(s Socket, remote string) {
	c := &client{hub: h, sock: s, remote: remote, wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	refusal := h.admit(c)
	if refusal != nil {
		closeWith(s, refusal.Code, refusal.Reason)
		return
	}
	defer h.wg.Done()
	defer h.release(c)
	h.stats.connsTotal.Add(1)
	h.log.Debug("chat: connected", "remote", remote)

	joinTimer := time.AfterFunc(h.cfg.JoinTimeout, func() {
		if !c.joined() {
			c.end(frame.ClosePolicyViolation, "no join within "+h.cfg.JoinTimeout.String(), true)
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.writeLoop()
	}()
	cause := c.readLoop()
	joinTimer.Stop()
	if c.room != nil {
		c.room.leave(c, h.now())
	}
	c.end(frame.CloseNormal, "", true) // the reader has ended, so the peer is gone: let the writer finish
	<-done
	h.log.Debug("chat: disconnected", "remote", remote, "nick", c.nick, "cause", cause)
}

// closeWith closes s with code and reason, reading (and dropping) what the peer still sends meanwhile so
// that the peer's close frame, which ends the handshake, is read.
func closeWith(s Socket, code frame.CloseCode, reason string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Close(code, reason)
	}()
	for {
		if _, err := s.ReadMessage(context.Background()); err != nil {
			break
		}
	}
	<-done
}

// refusal is the close status a connection is refused with.
type refusal struct {
	Code   frame.CloseCode
	Reason string
}

// admit registers c, or says why it may not connect.
func (h *Hub) admit(c *client) *refusal {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return &refusal{frame.CloseGoingAway, "server shutting down"}
	}
	if h.perIP[c.remote] >= h.cfg.MaxConnsPerIP {
		h.stats.refusedIP.Add(1)
		return &refusal{frame.ClosePolicyViolation, "too many connections from your address"}
	}
	h.perIP[c.remote]++
	h.clients[c] = struct{}{}
	h.wg.Add(1)
	return nil
}

func (h *Hub) release(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	if h.perIP[c.remote]--; h.perIP[c.remote] <= 0 {
		delete(h.perIP, c.remote)
	}
}

// handle acts on one client message.
func (h *Hub) handle(c *client, msg []byte) {
	h.gate.RLock()
	defer h.gate.RUnlock()
	if h.closing {
		return
	}
	ev, ok := decode(msg)
	if !ok {
		c.refuse(ErrCodeBadRequest, "not a JSON object")
		return
	}
	switch ev.Type {
	case KindJoin:
		h.join(c, ev)
	case KindSend:
		if c.room == nil {
			c.refuse(ErrCodeNotJoined, "join a room first")
			return
		}
		if !validText(ev.Text) {
			c.refuse(ErrCodeBadText, "empty message or control characters")
			return
		}
		c.room.post(c, ev.Text, h.now())
	default:
		c.refuse(ErrCodeBadRequest, "unknown message type")
	}
}

func (h *Hub) join(c *client, ev *Event) {
	if c.room != nil {
		c.refuse(ErrCodeAlreadyJoined, "already in room "+c.room.name)
		return
	}
	name := ev.Room
	if name == "" {
		name = h.cfg.DefaultRoom
	}
	if !ValidRoom(name) {
		c.refuse(ErrCodeBadRoom, "room names are 1 to 32 of a-z 0-9 . _ -")
		return
	}
	if !ValidNick(ev.Nick) {
		c.refuse(ErrCodeBadNick, "nicknames are 1 to 24 characters, without control characters or outer spaces")
		return
	}
	// The hub lock is held across the room's join so that an empty room cannot be forgotten under it.
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		if len(h.rooms) >= h.cfg.MaxRooms && !h.forgetEmptyRoomLocked() {
			c.refuse(ErrCodeBadRoom, "too many rooms")
			return
		}
		r = newRoom(name, h.cfg.History, h.now())
		h.rooms[name] = r
	}
	if code := r.join(c, ev.Nick, ev.Since, ev.Epoch, h.now()); code != "" {
		c.refuse(code, "nickname "+ev.Nick+" is taken in this room")
		return
	}
	c.markJoined()
	h.log.Info("chat: joined", "room", name, "nick", ev.Nick, "remote", c.remote)
}

func (h *Hub) forgetEmptyRoomLocked() bool {
	for name, r := range h.rooms {
		if r.empty() {
			delete(h.rooms, name)
			return true
		}
	}
	return false
}

// Shutdown closes every connection with 1001 (going away) after delivering what was already sent to it,
// refuses new ones, and waits for every client goroutine to end. If ctx ends first, the remaining
// connections are closed without a handshake, Shutdown waits for their goroutines, and returns ctx.Err().
func (h *Hub) Shutdown(ctx context.Context) error {
	h.gate.Lock()
	h.mu.Lock()
	h.closing = true
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	h.gate.Unlock()

	// RFC 6455, Section 7.4.1: 1001 "indicates that an endpoint is "going away", such as a server going down".
	for _, c := range clients {
		c.end(frame.CloseGoingAway, "server shutting down", true)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range clients {
			_ = c.sock.CloseNow()
		}
		<-done
		return ctx.Err()
	}
}

func (h *Hub) shuttingDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}

// Stats are the hub's counters since it started.
type Stats struct {
	ConnectionsTotal  int64 // connections admitted
	ConnectionsActive int64 // connections open now
	MessagesIn        int64 // messages read from clients
	MessagesOut       int64 // messages written to clients
	SlowDropped       int64 // clients dropped for not keeping up
	RateLimited       int64 // clients closed for sending too fast
	TooBig            int64 // clients closed for a message over MaxMessageSize
	RefusedPerIP      int64 // connections refused by the per-address limit
}

type counters struct {
	connsTotal, messagesIn, messagesOut, slowDropped, rateLimited, tooBig, refusedIP atomic.Int64
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	active := int64(len(h.clients))
	h.mu.Unlock()
	return Stats{
		ConnectionsTotal:  h.stats.connsTotal.Load(),
		ConnectionsActive: active,
		MessagesIn:        h.stats.messagesIn.Load(),
		MessagesOut:       h.stats.messagesOut.Load(),
		SlowDropped:       h.stats.slowDropped.Load(),
		RateLimited:       h.stats.rateLimited.Load(),
		TooBig:            h.stats.tooBig.Load(),
		RefusedPerIP:      h.stats.refusedIP.Load(),
	}
}
