package autobahn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync"
	"time"
)

// Timeouts of the protocol engine, the original's defaults: they decide
// verdicts (a peer that does not answer a close in time is unclean).
const (
	closeHandshakeTimeout = time.Second
	serverDropTimeout     = time.Second
)

// maxMessage bounds what the suite accepts from a peer: the largest case
// echoes 16 MiB.
const maxMessage = 64 << 20

// NoCode, given to Session.Close, sends a close frame without a body.
const NoCode = -1

type state int

const (
	stateOpen state = iota
	stateClosing
	stateClosed
)

// Session is one connection running one case: the suite's side of the
// WebSocket protocol, written on raw TCP. It does what the original's
// protocol engine does: it answers pings, assembles messages, validates
// UTF-8 fail-fast, answers a close, fails the connection on a protocol
// violation by the peer (with a closing handshake), and records what it sees.
//
// All methods are called from the session loop (the case's Run, its hooks and
// its timers run there), one at a time; they are not safe for other goroutines.
type Session struct {
	c        *Case
	nc       net.Conn
	br       *bufio.Reader
	isServer bool
	q        *queue
	w        *writer
	rng      *mrand.Rand
	readDone chan struct{}

	state         state
	lost          bool
	closeReceived bool
	timers        []*time.Timer
	closeTimer    *time.Timer

	alts          []Alternative
	expectClose   CloseExpect
	received      []Event
	suppressClose bool
	behavior      Verdict
	result        string
	reportTime    bool
	onMessage     func(op Opcode, payload []byte)
	onPong        func(payload []byte)

	closedByMe, failedByMe, droppedByMe, wasClean  bool
	wasCloseHandshakeTimeout, wasServerDropTimeout bool
	wasNotCleanReason                              string
	localCloseCode                                 *int
	remoteCloseCode                                int // 0: none
	localCloseReason, remoteCloseReason            *string

	// message being assembled
	inMessage bool
	msgOp     Opcode
	msg       []byte
	utf8      utf8Validator

	// streamed frame (BeginFrame/FrameData)
	streamKey [4]byte
	streamPos int

	extensions string
	allowRSV   uint8
	// pmce is the permessage-deflate a compression case set up; msgCompressed
	// says the message being received had RSV1 on its first frame.
	pmce          *pmce
	msgCompressed bool

	logMu        sync.Mutex
	wirelog      []any
	wirelogOn    bool
	rxFrameStats map[int]int
	txFrameStats map[int]int
	rxOctets     map[int]int
	txOctets     map[int]int

	started, ended time.Time
}

func newSession(c *Case, nc net.Conn, br *bufio.Reader, isServer bool) *Session {
	s := &Session{
		c: c, nc: nc, br: br, isServer: isServer,
		q:            newQueue(),
		rng:          mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 0x6175746f6261686e)),
		readDone:     make(chan struct{}),
		behavior:     Failed,
		result:       resultNoMatch,
		wirelogOn:    true,
		rxFrameStats: map[int]int{}, txFrameStats: map[int]int{},
		rxOctets: map[int]int{}, txOctets: map[int]int{},
	}
	s.w = newWriter(nc, s.logTx)
	return s
}

// run drives the case until the TCP connection is gone.
func (s *Session) run(ctx context.Context) {
	go s.readLoop()
	go s.w.run()
	s.started = time.Now()
	if s.c.Run != nil {
		s.c.Run(s)
	}
	for !s.lost {
		ev, ok := s.q.pop(ctx)
		if !ok {
			// The caller gave up: end the connection, then wait for the read side.
			s.drop(true)
			_ = s.nc.Close()
			ctx = context.Background()
			continue
		}
		switch {
		case ev.fn != nil:
			ev.fn()
		case ev.frame != nil:
			s.onFrame(ev.frame)
		default:
			s.onLost(ev.err)
		}
	}
	s.ended = time.Now()
	for _, t := range s.timers {
		t.Stop()
	}
	s.q.close()
	_ = s.nc.Close()
	s.w.close()
	<-s.readDone
}

type rxLogger struct {
	s *Session
	r io.Reader
}

// Read logs what it reads in the wire log.
func (l rxLogger) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.s.logRx(p[:n])
	}
	return n, err
}

func (s *Session) readLoop() {
	defer close(s.readDone)
	// Bytes already buffered after the handshake come first, then the socket,
	// logged as they arrive.
	br := bufio.NewReaderSize(io.MultiReader(bufferedPart(s.br), rxLogger{s, s.nc}), 64<<10)
	for {
		f, err := readFrame(br, maxMessage)
		if err != nil {
			if code := unreadableCode(err); code != 0 {
				// The stream cannot be followed past this frame: fail the
				// connection, then discard until it ends.
				s.q.push(loopEvent{fn: func() {
					s.failConnection(code, err.Error())
					s.drop(false)
				}})
				if _, err = io.Copy(io.Discard, br); err == nil {
					err = io.EOF
				}
			}
			s.q.push(loopEvent{err: err})
			return
		}
		s.q.push(loopEvent{frame: &f})
	}
}

// unreadableCode is the close code for a frame the reader refused, or 0
// for a plain end of the connection.
func unreadableCode(err error) int {
	switch {
	case errors.Is(err, errLengthMSB):
		return 1002
	case errors.Is(err, errTooLarge):
		return 1009
	}
	return 0
}

// bufferedPart returns a reader over the bytes r has already buffered.
func bufferedPart(r *bufio.Reader) io.Reader {
	b, _ := r.Peek(r.Buffered())
	return bytes.NewReader(append([]byte(nil), b...))
}

func (s *Session) onLost(error) {
	s.lost = true
	s.state = stateClosed
}

// after schedules fn on the loop after d.
func (s *Session) after(d time.Duration, fn func()) *time.Timer {
	t := time.AfterFunc(d, func() { s.q.push(loopEvent{fn: fn}) })
	s.timers = append(s.timers, t)
	return t
}

// drop closes the TCP connection; abort discards what is not yet written.
func (s *Session) drop(abort bool) {
	if s.state == stateClosed {
		return
	}
	s.state = stateClosed
	s.droppedByMe = true
	if abort {
		_ = s.nc.Close()
		return
	}
	s.w.push(writeItem{closeConn: true})
	// A peer that stops reading must not keep the flush, and the case, alive.
	s.after(closeHandshakeTimeout, func() { _ = s.nc.Close() })
}

// failConnection is the reaction to a peer's protocol violation: start the
// closing handshake with code, or drop the connection if it is already closing.
func (s *Session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state == stateOpen {
		if len(reason) > 123 {
			reason = reason[:123]
		}
		s.sendClose(ClosePayload(code, []byte(reason)), false)
		return
	}
	s.drop(false)
}

// sendClose sends a close frame with payload p; unless it answers the
// peer's close, the suite is the endpoint that closed first.
func (s *Session) sendClose(p []byte, reply bool) {
	s.writeFrame(Frame{Opcode: OpClose, Fin: true, Payload: p})
	if s.state != stateOpen {
		return
	}
	s.state = stateClosing
	s.localCloseCode, s.localCloseReason = parseCloseBody(p)
	if !reply {
		s.closedByMe = true
		s.closeTimer = s.after(closeHandshakeTimeout, func() {
			if s.state != stateClosed {
				s.wasClean = false
				s.wasNotCleanReason = "peer did not respond (in time) in closing handshake"
				s.wasCloseHandshakeTimeout = true
				s.drop(true)
			}
		})
	}
}

func parseCloseBody(p []byte) (*int, *string) {
	if len(p) < 2 {
		return nil, nil
	}
	code := int(p[0])<<8 | int(p[1])
	if len(p) == 2 {
		return &code, nil
	}
	r := string(p[2:])
	return &code, &r
}

func (s *Session) onFrame(f *inFrame) {
	s.logRxFrame(f)
	if s.state == stateClosed || s.closeReceived {
		return
	}
	// RFC 6455, Section 5.2: "If a nonzero value is received and none of the
	// negotiated extensions defines the meaning of such a nonzero value, the
	// receiving endpoint MUST _Fail the WebSocket Connection_."
	if f.RSV&^s.allowRSV != 0 {
		s.failConnection(1002, "RSV bits set")
		return
	}
	if f.Opcode.isReserved() {
		s.failConnection(1002, "reserved opcode")
		return
	}
	// RFC 6455, Section 5.1: a server MUST close on an unmasked frame; a
	// client MUST close on a masked one.
	if f.Masked != s.isServer {
		s.failConnection(1002, "wrong masking")
		return
	}
	if f.Opcode.isControl() && f.RSV != 0 {
		// RFC 7692, Section 6: control frames are never compressed.
		s.failConnection(1002, "RSV bits on a control frame")
		return
	}
	if f.Opcode.isControl() {
		// RFC 6455, Section 5.5: "All control frames MUST have a payload
		// length of 125 bytes or less and MUST NOT be fragmented."
		if !f.Fin || len(f.Payload) > 125 {
			s.failConnection(1002, "bad control frame")
			return
		}
		switch f.Opcode {
		case OpClose:
			s.onCloseFrame(f.Payload)
		case OpPing:
			if s.state == stateOpen {
				s.writeFrame(Frame{Opcode: OpPong, Fin: true, Payload: f.Payload})
			}
		case OpPong:
			if s.onPong != nil {
				s.onPong(f.Payload)
			} else {
				s.DefaultOnPong(f.Payload)
			}
		}
		return
	}
	s.onDataFrame(f)
}

func (s *Session) onDataFrame(f *inFrame) {
	switch {
	case f.Opcode == OpContinuation && !s.inMessage:
		s.failConnection(1002, "continuation without a message")
		return
	case f.Opcode != OpContinuation && s.inMessage:
		s.failConnection(1002, "new message inside a fragmented one")
		return
	case f.Opcode != OpContinuation:
		s.inMessage, s.msgOp, s.msg = true, f.Opcode, nil
		s.msgCompressed = s.pmce != nil && f.RSV&4 != 0
		s.utf8.reset()
	case f.RSV&4 != 0:
		// RFC 7692, Section 6.1: RSV1 is set on the first frame only.
		s.failConnection(1002, "RSV1 on a continuation frame")
		return
	}
	if len(s.msg)+len(f.Payload) > maxMessage {
		s.failConnection(1009, "message too big")
		return
	}
	s.msg = append(s.msg, f.Payload...)
	if s.msgOp == OpText && !s.msgCompressed && !s.utf8.feed(f.Payload) {
		s.failConnection(1007, "invalid UTF-8 in text message")
		return
	}
	if !f.Fin {
		return
	}
	s.inMessage = false
	if s.msgCompressed {
		// RFC 7692, Section 7.2.2: the message is the inflated payload; its
		// UTF-8 is checked once inflated.
		msg, err := s.pmce.inflate(s.msg)
		if err != nil {
			s.failConnection(1007, "invalid compressed data")
			return
		}
		s.msg = msg
		if s.msgOp == OpText && !s.utf8.feed(msg) {
			s.failConnection(1007, "invalid UTF-8 in text message")
			return
		}
	}
	if s.msgOp == OpText && !s.utf8.complete() {
		s.failConnection(1007, "text message ends inside a character")
		return
	}
	msg := s.msg
	s.msg = nil
	if msg == nil {
		msg = []byte{}
	}
	if s.onMessage != nil {
		s.onMessage(s.msgOp, msg)
	} else {
		s.DefaultOnMessage(s.msgOp, msg)
	}
}

func (s *Session) onCloseFrame(p []byte) {
	// RFC 6455, Section 5.5.1: a body, if present, starts with a 2-byte code.
	if len(p) == 1 {
		s.failConnection(1002, "close payload of 1 byte")
		return
	}
	if len(p) >= 2 {
		code := int(p[0])<<8 | int(p[1])
		if !validCloseCode(code) {
			s.failConnection(1002, "invalid close code")
			return
		}
		s.remoteCloseCode = code
		if len(p) > 2 {
			var v utf8Validator
			if !v.feed(p[2:]) || !v.complete() {
				s.failConnection(1007, "close reason is not UTF-8")
				return
			}
			r := string(p[2:])
			s.remoteCloseReason = &r
		}
	}
	s.closeReceived = true
	switch s.state {
	case stateClosing:
		if s.closeTimer != nil {
			s.closeTimer.Stop()
		}
	case stateOpen:
		s.sendClose(ClosePayload(1000, nil), true)
	}
	s.wasClean = true
	// RFC 6455, Section 7.1.1: "the server SHOULD close the underlying TCP
	// connection first"; a client waits for it, then gives up.
	if s.isServer {
		s.drop(false)
		return
	}
	s.after(serverDropTimeout, func() {
		if s.state != stateClosed {
			s.wasClean = false
			s.wasNotCleanReason = "server did not drop TCP connection (in time)"
			s.wasServerDropTimeout = true
			s.drop(true)
		}
	})
}

// writeFrame encodes f (masked when the suite is the client) and queues it.
func (s *Session) writeFrame(f Frame) {
	p := f.payload()
	var key *[4]byte
	if !s.isServer {
		k := s.newKey()
		key = &k
	}
	b := appendHeader(make([]byte, 0, 14+len(p)), f.Opcode, f.Fin, f.RSV, len(p), key)
	start := len(b)
	b = append(b, p...)
	if key != nil {
		maskBytes(*key, 0, b[start:])
	}
	s.logTxFrame(&f, key)
	s.w.push(writeItem{data: b, chop: f.Chop, sync: f.Sync})
}

func (s *Session) newKey() [4]byte {
	var k [4]byte
	v := s.rng.Uint32()
	k[0], k[1], k[2], k[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return k
}

func maskHex(key *[4]byte) any {
	if key == nil {
		return nil
	}
	return hex.EncodeToString(key[:])
}
