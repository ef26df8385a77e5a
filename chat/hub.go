package chat

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"duplex/chat/broker"
	"duplex/conn"
	"duplex/frame"
)

// Hub holds the rooms and their members. It is safe for use by many goroutines.
type Hub struct {
	cfg       Config
	log       *slog.Logger
	limits    Limits // as the welcome tells them
	readLimit int64

	// gate is held for reading while a message is handled and for writing when shutdown begins, so that
	// every message handled before shutdown reaches the queues before the connections are told to close.
	gate    sync.RWMutex
	closing bool // under gate and mu

	mu      sync.Mutex
	rooms   map[string]*room
	opening map[string]*opening // rooms being opened on the broker, outside mu
	clients map[*client]struct{}
	perIP   map[string]int
	wg      sync.WaitGroup

	stats counters

	// openHook and appendHook, set by tests only, run first in openRoom and before each send's append
	// to the stream, as a slow or failing store would.
	openHook   func(room string) error
	appendHook func(room string)
}

// NewHub returns a hub with cfg's settings (nil: all defaults). cfg is copied.
func NewHub(cfg *Config) *Hub {
	c := cfg.withDefaults()
	return &Hub{
		cfg:       c,
		log:       c.Logger,
		limits:    Limits{MaxMessage: c.MaxMessageSize, Rate: c.Rate, Burst: c.Burst, MaxRoom: c.MaxRoom},
		readLimit: c.ReadLimit(),
		rooms:     make(map[string]*room),
		opening:   make(map[string]*opening),
		clients:   make(map[*client]struct{}),
		perIP:     make(map[string]int),
	}
}

func (h *Hub) now() time.Time { return h.cfg.Now() }

// Serve runs one client connection until it ends: the calling goroutine reads, and one more goroutine
// writes. remote identifies the peer's address for the per-address limit (an IP, without port).
// Serve closes s before it returns, and returns at once, closing s with 1001 (going away), once Shutdown
// has begun.
func (h *Hub) Serve(s Socket, remote string) {
	c := h.open(s, remote)
	if c == nil {
		return
	}
	c.finish(c.readLoop())
}

// ServeLoop runs the client connection cn in l, readiness-driven: l reads cn and hands each message to
// the hub on one of its goroutines, so an idle member holds no goroutine and no buffer (see conn.Loop),
// and ServeLoop returns at once. The client ends as with Serve, which a connection l cannot watch (one
// without a socket) gets from l instead. cn's options must be those Serve's connections get.
func (h *Hub) ServeLoop(l *conn.Loop, cn *conn.Conn, remote string) {
	c := h.open(NewSocket(cn), remote)
	if c == nil {
		return
	}
	err := l.Serve(cn, conn.Handler{
		OnMessage: func(t conn.MessageType, b []byte) {
			if t != conn.MessageText {
				// As NewSocket's reader does: RFC 6455, Section 7.4.1, 1003 "indicates that an endpoint is
				// terminating the connection because it has received a type of data it cannot accept".
				_ = cn.Close(frame.CloseUnsupportedData, "binary messages are not supported")
				return
			}
			c.message(b)
		},
		OnError: func(err error) { h.countTooBig(err) },
		OnClose: func(ev conn.CloseEvent) { c.finish(conn.CloseError{Code: ev.Code, Reason: ev.Reason}) },
	})
	if err != nil { // the loop is closed: the server is shutting down
		_ = cn.CloseNow()
		c.finish(err)
	}
}

// countTooBig counts a connection failed for a message over its read limit.
func (h *Hub) countTooBig(err error) {
	var pe frame.ProtocolError
	if errors.As(err, &pe) && pe.Code == frame.CloseTooBig {
		h.stats.tooBig.Add(1)
	}
}

// open admits a new client on s, or refuses it (closing s) and returns nil.
func (h *Hub) open(s Socket, remote string) *client {
	c := &client{hub: h, sock: s, remote: remote, wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	refusal := h.admit(c)
	if refusal != nil {
		c.cancel()
		closeWith(s, refusal.Code, refusal.Reason)
		return nil
	}
	h.stats.connsTotal.Add(1)
	h.log.Debug("chat: connected", "remote", remote)
	c.joinTimer = time.AfterFunc(h.cfg.JoinTimeout, func() {
		if !c.joined() {
			c.end(frame.ClosePolicyViolation, "no join within "+h.cfg.JoinTimeout.String(), true)
		}
	})
	return c
}

// finish ends an admitted client once its connection's reading ended with cause: it leaves its room
// (at once or after the grace period), its writer finishes, and the hub forgets it.
func (c *client) finish(cause error) {
	h := c.hub
	c.joinTimer.Stop()
	if c.room != nil {
		// A peer that closed with 1000 meant to leave (RFC 6455, Section 7.4.1: "normal closure, meaning
		// that the purpose for which the connection was established has been fulfilled"); any other end
		// (1001 from a closed tab, a dropped network, keepalive) keeps the member for the grace period.
		deliberate := conn.CloseStatus(cause) == frame.CloseNormal
		if c.room.disconnect(c, deliberate, h.now()) {
			h.log.Info("chat: left", "room", c.room.name, "nick", c.nick, "remote", c.remote)
		}
	}
	c.end(frame.CloseNormal, "", true) // the reader has ended, so the peer is gone: let the writer finish
	c.writers.Wait()
	c.appends.Wait() // its sends on their way to the stream are stored (or fail) before it is forgotten
	h.log.Debug("chat: disconnected", "remote", c.remote, "nick", c.nick, "cause", cause)
	h.release(c)
	h.wg.Done()
	c.cancel()
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
		h.refuse(c, ErrCodeBadRequest, "not a JSON object", "", 0)
		return
	}
	if ev.Type == KindSend {
		h.send(c, ev)
		return
	}
	// Every message but a send takes a token here; a send takes one once it is known not to be a resend.
	if wait, ok := c.bucket.take(h.now(), h.cfg.Rate, float64(h.cfg.Burst)); !ok {
		h.rateLimited(c, "", wait)
		return
	}
	c.refused = 0
	switch ev.Type {
	case KindJoin:
		h.join(c, ev)
	default:
		h.refuse(c, ErrCodeBadRequest, "unknown message type", "", 0)
	}
}

// send checks a send and hands it to the room.
func (h *Hub) send(c *client, ev *Event) {
	if ev.ID != "" && !validID(ev.ID) {
		id := ev.ID
		if len(id) > 4*MaxIDLen {
			id = "" // echoed so the page can match it to its send, but not at any length
		}
		h.refuse(c, ErrCodeBadID, "ids are 1 to 64 of A-Z a-z 0-9 _ -", id, 0)
		return
	}
	if c.room == nil {
		h.refuse(c, ErrCodeNotJoined, "join a room first", ev.ID, 0)
		return
	}
	if int64(len(ev.Text)) > h.cfg.MaxMessageSize {
		h.stats.tooLong.Add(1)
		h.refuse(c, ErrCodeTooLong, "messages are at most "+strconv.FormatInt(h.cfg.MaxMessageSize, 10)+" bytes", ev.ID, 0)
		return
	}
	if !validText(ev.Text) {
		h.refuse(c, ErrCodeBadText, "empty message or control characters", ev.ID, 0)
		return
	}
	switch code, retry := c.room.post(c, ev.ID, ev.Text, h.now()); code {
	case "":
		c.refused = 0
	case ErrCodeRateLimited:
		h.rateLimited(c, ev.ID, retry)
	case codeOverloaded:
		h.refuse(c, ErrCodeRateLimited, "the room is busy: try again shortly", ev.ID, retry)
	case ErrCodeUnavailable:
		h.refuse(c, code, textUnavailable, ev.ID, retry)
	default:
		h.refuse(c, code, "not a member of the room (any more)", ev.ID, 0)
	}
}

// rateLimited refuses a message over the client's rate. A client that goes on sending regardless, past
// AbuseRefusals refusals in a row, is closed with 1008.
func (h *Hub) rateLimited(c *client, id string, retry time.Duration) {
	h.stats.rateLimited.Add(1)
	c.refused++
	if c.refused > AbuseRefusals {
		h.stats.abuse.Add(1)
		h.log.Info("chat: kicked", "reason", "rate limit ignored", "nick", c.nick, "remote", c.remote)
		// RFC 6455, Section 7.4.1: 1008 "indicates that an endpoint is terminating the connection
		// because it has received a message that violates its policy".
		c.end(frame.ClosePolicyViolation, "rate limit exceeded", true)
		return
	}
	h.refuse(c, ErrCodeRateLimited, "too fast: wait retry_ms", id, retry)
}

// refuse answers a request with an error and logs it: refusals are how an operator sees a client or a
// limit in trouble.
func (h *Hub) refuse(c *client, code, text, id string, retry time.Duration) {
	h.log.Info("chat: refused", "code", code, "nick", c.nick, "remote", c.remote)
	c.refuse(code, text, id, retry)
}

func (h *Hub) join(c *client, ev *Event) {
	if c.room != nil {
		h.refuse(c, ErrCodeAlreadyJoined, "already in room "+c.room.name, "", 0)
		return
	}
	name := ev.Room
	if name == "" {
		name = h.cfg.DefaultRoom
	}
	if !ValidRoom(name) {
		h.refuse(c, ErrCodeBadRoom, "room names are 1 to 32 of a-z 0-9 . _ -", "", 0)
		return
	}
	if !ValidNick(ev.Nick) {
		h.refuse(c, ErrCodeBadNick, "nicknames are 1 to 24 characters, without control characters or outer spaces", "", 0)
		return
	}
	r, refused := h.room(c, name)
	if refused {
		return
	}
	var older []broker.Record
	if r.store != nil && r.lacks(ev.Since, ev.Epoch) {
		// The resume asks for events this node no longer keeps at hand: they are read from the stream
		// without the locks, and the room found again.
		h.mu.Unlock()
		older = r.store.older(ev.Since)
		if r, refused = h.room(c, name); refused {
			return
		}
	}
	// The hub lock is held across the room's join so that an empty room cannot be forgotten under it.
	defer h.mu.Unlock()
	code, resumed := r.join(c, ev.Nick, ev.Session, ev.Since, ev.Epoch, older, h.now())
	switch code {
	case "":
	case ErrCodeRoomFull:
		h.stats.roomFull.Add(1)
		h.refuse(c, code, "room "+name+" is full", "", 0)
		return
	default:
		h.refuse(c, code, "nickname "+ev.Nick+" is taken in this room", "", 0)
		return
	}
	c.markJoined()
	if resumed {
		h.stats.resumed.Add(1)
		h.log.Info("chat: resumed", "room", name, "nick", c.nick, "remote", c.remote)
		return
	}
	h.log.Info("chat: joined", "room", name, "nick", ev.Nick, "remote", c.remote)
}

// opening is a room being opened: reading its stream takes NATS round trips, which must not hold the
// hub's lock, so the first joiner opens it and later joiners of the same room wait for done, then find
// the room in rooms or share err.
type opening struct {
	done    chan struct{}
	err     error
	waiters int // joiners waiting for done, under the hub's lock
}

// room returns the room name, opened if need be, with the hub's lock held; or it refuses c, without the
// lock, and reports so. Only joiners of a room being opened wait for it: other rooms are not held up.
func (h *Hub) room(c *client, name string) (_ *room, refused bool) {
	for {
		h.mu.Lock()
		if r := h.rooms[name]; r != nil {
			return r, false
		}
		if op := h.opening[name]; op != nil {
			op.waiters++
			h.mu.Unlock()
			<-op.done
			if op.err != nil {
				h.refuseUnavailable(c)
				return nil, true
			}
			continue // opened; forgotten again meanwhile is as good as never opened
		}
		var forgotten *room
		if len(h.rooms)+len(h.opening) >= h.cfg.MaxRooms {
			if forgotten = h.forgetEmptyRoomLocked(); forgotten == nil {
				h.mu.Unlock()
				h.refuse(c, ErrCodeBadRoom, "too many rooms", "", 0)
				return nil, true
			}
		}
		op := &opening{done: make(chan struct{})}
		h.opening[name] = op
		h.mu.Unlock()
		if forgotten != nil {
			// Its stream keeps the history; stopping it finishes its last writes, which must not hold
			// the hub's lock.
			forgotten.store.stop()
		}

		r, err := h.openRoom(name)
		h.mu.Lock()
		delete(h.opening, name)
		if err == nil && h.closing {
			err = errors.New("chat: shutting down")
		}
		op.err = err
		if err == nil {
			h.rooms[name] = r
		}
		close(op.done)
		if err != nil {
			h.mu.Unlock()
			if r != nil {
				r.close() // opened while Shutdown ran: it has its rooms already
			}
			h.log.Warn("chat: room not opened", "room", name, "err", err)
			h.refuseUnavailable(c)
			return nil, true
		}
		return r, false
	}
}

// refuseUnavailable refuses a join to a room that could not be opened.
func (h *Hub) refuseUnavailable(c *client) {
	h.refuse(c, ErrCodeUnavailable, "the room's store is unavailable: try again", "", unavailableRetry)
}

// forgetEmptyRoomLocked forgets a room without members and returns it, for the caller to stop its store
// once the hub's lock is released; nil if every room has members.
func (h *Hub) forgetEmptyRoomLocked() *room {
	for name, r := range h.rooms {
		if r.empty() {
			delete(h.rooms, name)
			return r
		}
	}
	return nil
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
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	h.gate.Unlock()
	for _, r := range rooms {
		r.close() // no grace timer outlives the hub
	}

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
	SlowDropped       int64 // clients dropped for not keeping up (1013)
	RateLimited       int64 // messages refused for the sender's rate (rate_limited)
	Overloaded        int64 // sends refused because the room was behind (rate_limited)
	AbuseClosed       int64 // clients closed for ignoring rate_limited (1008)
	TooLong           int64 // sends refused for text over MaxMessageSize (too_long)
	TooBig            int64 // clients closed for a message over the read limit (1009)
	RoomFull          int64 // joins refused for a full room (room_full)
	Resumed           int64 // sessions resumed by a reconnect within the grace period
	RefusedPerIP      int64 // connections refused by the per-address limit
}

type counters struct {
	connsTotal, messagesIn, messagesOut, slowDropped, rateLimited, overloaded, abuse, tooLong, tooBig,
	roomFull, resumed, refusedIP atomic.Int64
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
		Overloaded:        h.stats.overloaded.Load(),
		AbuseClosed:       h.stats.abuse.Load(),
		TooLong:           h.stats.tooLong.Load(),
		TooBig:            h.stats.tooBig.Load(),
		RoomFull:          h.stats.roomFull.Load(),
		Resumed:           h.stats.resumed.Load(),
		RefusedPerIP:      h.stats.refusedIP.Load(),
	}
}
