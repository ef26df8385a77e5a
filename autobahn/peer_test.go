package autobahn_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// testPeer is a small echo server written for these tests on raw TCP, with
// switches that make it misbehave the way real implementations do, so the
// tests can show the suite tells good from bad.
type testPeer struct {
	checkUTF8 bool // reject invalid UTF-8 in text messages (at message end)
	keepTCP   bool // leave the TCP connection open after the closing handshake
}

// start serves on loopback until the test ends and returns the ws URL.
func (p testPeer) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "ws://" + ln.Addr().String() + "/"
}

func writeFrame(w io.Writer, op byte, payload []byte) error {
	h := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		h = append(h, byte(n))
	case n <= 0xFFFF:
		h = binary.BigEndian.AppendUint16(append(h, 126), uint16(n))
	default:
		h = binary.BigEndian.AppendUint64(append(h, 127), uint64(n))
	}
	_, err := w.Write(append(h, payload...))
	return err
}

func (p testPeer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, err = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
		base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	if err != nil {
		return
	}
	// After failing, the peer waits for the close reply and then closes.
	closing := false
	fail := func(code uint16) {
		_ = writeFrame(c, 0x8, binary.BigEndian.AppendUint16(nil, code))
		closing = true
	}
	var msg []byte
	var msgOp byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		fin, rsv, op := h[0]&0x80 != 0, h[0]&0x70, h[0]&0x0F
		n := uint64(h[1] & 0x7F)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(br, e[:]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(br, e[:]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		var key [4]byte
		if _, err := io.ReadFull(br, key[:]); err != nil || n > 64<<20 {
			return
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		for i := range payload {
			payload[i] ^= key[i&3]
		}
		control := op&0x8 != 0
		if closing {
			if op == 0x8 {
				return
			}
			continue
		}
		switch {
		case rsv != 0, op > 0x2 && op < 0x8, op > 0xA, control && (!fin || n > 125),
			op == 0 && msg == nil, op != 0 && !control && msg != nil:
			fail(1002)
			continue
		}
		switch op {
		case 0x8:
			_ = writeFrame(c, 0x8, []byte{0x03, 0xe8})
			if p.keepTCP {
				time.Sleep(3 * time.Second)
			}
			return
		case 0x9:
			if err := writeFrame(c, 0xA, payload); err != nil {
				return
			}
			continue
		case 0xA:
			continue
		case 0x1, 0x2:
			msgOp, msg = op, []byte{}
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		if msgOp == 0x1 && p.checkUTF8 && !utf8.Valid(msg) {
			fail(1007)
			continue
		}
		if err := writeFrame(c, msgOp, msg); err != nil {
			return
		}
		msg = nil
	}
}
