package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fault is how the fake server departs from a faithful echo.
type fault int

const (
	faultNone     fault = iota
	faultFragment       // echo each message in three frames
	faultCorrupt        // flip the last byte of message 3
	faultDrop           // skip the echo of message 3
	faultMask           // mask the frames it sends
	faultText           // echo as a text message
	faultPing           // send a ping before every echo and require the pong
	faultClose          // answer message 3 with a close frame
	faultSplitSeq       // echo each message in three frames, the first of 3 bytes
	faultSeq            // echo message 3 with the sequence number of message 4
	faultShort          // echo message 3 one byte short
	faultLong           // echo message 3 one byte long
	faultRSV            // echo message 3 with RSV1 set
	faultLenMSB         // echo message 3 with a 64-bit length whose MSB is set
)

// corruptSeq is the message a faulty server spoils.
const corruptSeq = 3

// fakeServer is a minimal WebSocket echo server, written here from RFC
// 6455 so that the load generator is tested against bytes it did not
// produce through its own code paths.
type fakeServer struct {
	ln    net.Listener
	fault fault
	wg    sync.WaitGroup

	mu      sync.Mutex
	remotes []string
	pongs   int
}

func startFake(t *testing.T, f fault) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeServer{ln: ln, fault: f}
	s.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.remotes = append(s.remotes, nc.RemoteAddr().(*net.TCPAddr).IP.String())
			s.mu.Unlock()
			s.wg.Go(func() {
				defer nc.Close()
				_ = s.serve(nc)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) serve(nc net.Conn) error {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	_, err = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+acceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
	if err != nil {
		return err
	}
	return s.loop(nc, br)
}

// loop echoes the frames that follow the handshake.
func (s *fakeServer) loop(nc net.Conn, br *bufio.Reader) error {
	for {
		op, p, err := readClientFrame(br)
		if err != nil {
			return err
		}
		switch op {
		case opClose:
			_, err := nc.Write(s.frame(0x88, p))
			return err
		case opPong:
			s.mu.Lock()
			s.pongs++
			s.mu.Unlock()
			continue
		}
		if err := s.echo(nc, br, p); err != nil {
			return err
		}
	}
}

// echo sends p back as the fault says.
func (s *fakeServer) echo(nc net.Conn, br *bufio.Reader, p []byte) error {
	seq := binary.LittleEndian.Uint64(p)
	var out []byte
	switch {
	case s.fault == faultFragment:
		a, b := len(p)/3, 2*len(p)/3
		out = append(append(s.frame(0x02, p[:a]), s.frame(0x00, p[a:b])...), s.frame(0x80, p[b:])...)
	case s.fault == faultSplitSeq:
		b := 3 + (len(p)-3)/2
		out = append(append(s.frame(0x02, p[:3]), s.frame(0x00, p[3:b])...), s.frame(0x80, p[b:])...)
	case s.fault == faultCorrupt && seq == corruptSeq:
		p[len(p)-1] ^= 1
		out = s.frame(0x82, p)
	case s.fault == faultSeq && seq == corruptSeq:
		binary.LittleEndian.PutUint64(p, seq+1)
		out = s.frame(0x82, p)
	case s.fault == faultShort && seq == corruptSeq:
		out = s.frame(0x82, p[:len(p)-1])
	case s.fault == faultLong && seq == corruptSeq:
		out = s.frame(0x82, append(p, 0))
	case s.fault == faultRSV && seq == corruptSeq:
		out = s.frame(0xc2, p)
	case s.fault == faultLenMSB && seq == corruptSeq:
		// The length field says 2^63 + len(p); a reader that ignored the
		// MSB would take the payload that follows for the whole message.
		out = binary.BigEndian.AppendUint64([]byte{0x82, 127}, 1<<63|uint64(len(p)))
		out = append(out, p...)
	case s.fault == faultDrop && seq == corruptSeq:
		return nil
	case s.fault == faultText:
		out = s.frame(0x81, p)
	case s.fault == faultClose && seq == corruptSeq:
		out = s.frame(0x88, closeNormal)
	case s.fault == faultPing:
		if _, err := nc.Write(s.frame(0x89, []byte("are you there"))); err != nil {
			return err
		}
		out = s.frame(0x82, p)
	default:
		out = s.frame(0x82, p)
	}
	_, err := nc.Write(out)
	return err
}

// frame encodes a server frame, masked only under faultMask.
func (s *fakeServer) frame(b0 byte, p []byte) []byte {
	if s.fault != faultMask {
		return serverFrame(b0, p)
	}
	key := [4]byte{9, 9, 9, 9}
	f := appendClientHeader(nil, opcode(b0&0xf), len(p), key)
	f[0] = b0
	f = append(f, p...)
	mask(key, 0, f[len(f)-len(p):])
	return f
}

// readClientFrame reads one whole client frame and unmasks it, requiring
// the mask a client must set (RFC 6455, Section 5.1).
func readClientFrame(br *bufio.Reader) (opcode, []byte, error) {
	var b [14]byte
	if _, err := io.ReadFull(br, b[:2]); err != nil {
		return 0, nil, err
	}
	if b[0]&0x80 == 0 || b[1]&0x80 == 0 {
		return 0, nil, errProtocol // fragmented or unmasked
	}
	// The opcode is taken before b holds the extended length.
	op := opcode(b[0] & 0xf)
	n := uint64(b[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(br, b[:8]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:8])
	}
	var key [4]byte
	if _, err := io.ReadFull(br, key[:]); err != nil {
		return 0, nil, err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return 0, nil, err
	}
	mask(key, 0, p)
	return op, p, nil
}
