package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// roomFault is how the fake broadcast server departs from a faithful one.
type roomFault int

const (
	roomNone          roomFault = iota
	roomFragment                // send each message in three frames
	roomPing                    // send a ping before every message
	roomSlowJoin                // add each connection to the room 100 ms late
	roomNeverJoin               // leave the first connection out of the room
	roomDrop                    // skip member 1's copy of round 2
	roomCorrupt                 // flip the last byte of member 1's round 2
	roomDuplicate               // send member 1's round 2 twice
	roomExtra                   // send member 1 a last message after round 2
	roomBinary                  // send the messages as binary
	roomDecline                 // decline permessage-deflate
	roomTakeover                // accept without server_no_context_takeover
	roomClientBits              // answer with client_max_window_bits, not offered
	roomPlainUnderDef           // accept permessage-deflate, send uncompressed
	roomHistory                 // compress with each member's history (context takeover)
	roomCompressedRSV           // send RSV1 without permessage-deflate
)

// faultRound and faultMember are where the faults that spoil one copy act.
const (
	faultRound  = 2
	faultMember = 1
)

// fakeRoom is a broadcast server written here from RFC 6455 and RFC 7692,
// so that the load generator is tested against bytes it did not produce
// through its own code paths: every message it reads is sent to every
// member, the members query excepted.
type fakeRoom struct {
	ln    net.Listener
	fault roomFault
	wg    sync.WaitGroup

	mu      sync.Mutex
	members []*roomMember
	rounds  int // messages broadcast so far
	accepts int
}

type roomMember struct {
	id      int
	nc      net.Conn
	deflate bool
	mu      sync.Mutex
	hist    *flate.Writer // roomHistory: the compressor kept across messages
	histBuf bytes.Buffer
}

func startRoom(t *testing.T, f roomFault) *fakeRoom {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeRoom{ln: ln, fault: f}
	s.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			id := s.accepts
			s.accepts++
			s.mu.Unlock()
			s.wg.Go(func() {
				defer nc.Close()
				_ = s.serve(id, nc)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, m := range s.members {
			m.nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *fakeRoom) addr() string { return s.ln.Addr().String() }

func (s *fakeRoom) serve(id int, nc net.Conn) error {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	m := &roomMember{id: id, nc: nc}
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n"
	if strings.Contains(req.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		switch s.fault {
		case roomDecline:
		case roomTakeover:
			head += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
			m.deflate = true
		case roomClientBits:
			head += "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n"
			m.deflate = true
		default:
			head += "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15\r\n"
			m.deflate = true
		}
	}
	if _, err := io.WriteString(nc, head+"\r\n"); err != nil {
		return err
	}
	join := func() {
		s.mu.Lock()
		s.members = append(s.members, m)
		s.mu.Unlock()
	}
	switch {
	case s.fault == roomSlowJoin:
		time.AfterFunc(100*time.Millisecond, join)
	case s.fault == roomNeverJoin && id == 0:
	default:
		join()
	}
	for {
		op, p, err := readClientFrame(br)
		if err != nil {
			return err
		}
		switch {
		case op == opClose:
			m.mu.Lock()
			defer m.mu.Unlock()
			_, err := nc.Write(serverFrame(0x88, p))
			return err
		case op == opPong:
		case op == opText && string(p) == membersQuery:
			s.mu.Lock()
			n := len(s.members)
			s.mu.Unlock()
			if err := m.write(s, 0x81, []byte(membersQuery+" "+strconv.Itoa(n))); err != nil {
				return err
			}
		default:
			s.broadcast(p)
		}
	}
}

// broadcast sends p to every member, as the fault says.
func (s *fakeRoom) broadcast(p []byte) {
	s.mu.Lock()
	round := s.rounds
	s.rounds++
	members := append([]*roomMember(nil), s.members...)
	s.mu.Unlock()
	b0 := byte(0x81)
	if s.fault == roomBinary {
		b0 = 0x82
	}
	for _, m := range members {
		spoil := m.id == faultMember && round == faultRound
		q := p
		switch {
		case spoil && s.fault == roomDrop:
			continue
		case spoil && s.fault == roomCorrupt:
			q = bytes.Clone(p)
			q[len(q)-1] ^= 1
		}
		_ = m.write(s, b0, q)
		if spoil && (s.fault == roomDuplicate || s.fault == roomExtra) {
			_ = m.write(s, b0, q)
		}
	}
}

// write sends one message to m: compressed when negotiated (RFC 7692,
// Section 7.2.1: the compressed data without the sync flush's last four
// bytes, RSV1 set), in three frames under roomFragment.
func (m *roomMember) write(s *fakeRoom, b0 byte, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.fault == roomPing {
		if _, err := m.nc.Write(serverFrame(0x89, []byte("still there?"))); err != nil {
			return err
		}
	}
	if m.deflate && s.fault != roomPlainUnderDef || s.fault == roomCompressedRSV {
		p = m.compress(s.fault == roomHistory, p)
		b0 |= 0x40
	}
	if s.fault != roomFragment {
		_, err := m.nc.Write(serverFrame(b0, p))
		return err
	}
	// RSV1 goes on the first frame only (RFC 7692, Section 6.1).
	a, b := len(p)/3, 2*len(p)/3
	out := append(serverFrame(b0&^0x80, p[:a]), serverFrame(0x00, p[a:b])...)
	out = append(out, serverFrame(0x80, p[b:])...)
	_, err := m.nc.Write(out)
	return err
}

func (m *roomMember) compress(history bool, p []byte) []byte {
	var buf bytes.Buffer
	w := m.hist
	if history {
		if w == nil {
			m.hist, _ = flate.NewWriter(&m.histBuf, 1)
			w = m.hist
		}
		m.histBuf.Reset()
		_, _ = w.Write(p)
		_ = w.Flush()
		return bytes.TrimSuffix(bytes.Clone(m.histBuf.Bytes()), deflateTail)
	}
	w, _ = flate.NewWriter(&buf, 1)
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), deflateTail)
}
