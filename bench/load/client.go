package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// seqLen is the size of the sequence number that starts every payload.
const seqLen = 8

// sharedMin is the message size from which an unverified echo shares its
// payload between messages: each message then costs the generator a
// header and a sequence number to write, and a header and a sequence
// number to read, the rest being written from one buffer built at the
// start and dropped on arrival (in the kernel, where it can), so that the
// generator's cost per message does not grow with its size.
const sharedMin = 8 << 10

// client is one connection's side of an echo: it sends binary messages
// whose payload starts with a sequence number and checks each echo. Only
// its own goroutine uses it.
type client struct {
	id     int
	nc     net.Conn
	br     *bufio.Reader
	size   int
	verify bool
	rng    *rand.ChaCha8

	out    []byte // the frame being sent: header, then masked payload
	hdrLen int
	key    [4]byte // the masking key of out, when it is reused
	in     []byte  // the payload received (in a broadcast, inflated); only its sequence number when shared
	msg    []byte  // a broadcast message as it came, compressed or not
	want   []byte  // the payload expected, in verify mode
	ctrl   [125]byte

	sent     []time.Duration // send time of each message in flight, by seq % window
	batch    []byte          // a burst's frames, written together
	nextSend uint64
	nextRecv uint64

	// With shared set, every message is heads' header and masked
	// sequence number followed by tail, the masked rest of the payload,
	// the same for every message, written with one writev from vec.
	shared  bool
	heads   []byte // one header and sequence number per message of a burst
	tail    []byte
	vec     [][]byte
	bufs    net.Buffers // what writeShared writes, laid over vec
	drop    dropper
	scratch []byte // where dropped bytes are read when the kernel cannot drop them
}

// newClient wraps an upgraded connection. Without verify, the frame is
// built and masked once with one key and only its sequence number changes
// (from sharedMin bytes on, the rest of the payload is not even read back:
// see shared); with verify, every message gets a fresh key and a payload
// of its own (a pattern seeded by id and sequence number), checked byte
// for byte.
func newClient(id int, nc net.Conn, br *bufio.Reader, size, window int, verify bool) *client {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(id)+1)
	c := &client{
		id: id, nc: nc, br: br, size: size, verify: verify,
		rng:  rand.NewChaCha8(seed),
		sent: make([]time.Duration, window),
	}
	if verify {
		c.in = make([]byte, size)
		c.want = make([]byte, size)
		c.out = make([]byte, 0, maxHeader+size)
		return c
	}
	c.key = c.newKey()
	if size >= sharedMin {
		c.initShared(window)
		return c
	}
	c.in = make([]byte, size)
	c.out = appendClientHeader(make([]byte, 0, maxHeader+size), opBinary, size, c.key)
	c.hdrLen = len(c.out)
	c.out = c.out[:c.hdrLen+size]
	fill(c.out[c.hdrLen:], id, 0)
	mask(c.key, 0, c.out[c.hdrLen:])
	return c
}

func (c *client) newKey() [4]byte {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], uint32(c.rng.Uint64()))
	return k
}

// fill writes a payload: the sequence number, then bytes of a pattern
// seeded by id and seq, so that two messages never share their bytes.
func fill(b []byte, id int, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	x := uint64(id)<<40 ^ seq
	i := seqLen
	for ; i+8 <= len(b); i += 8 {
		x = splitmix(x)
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	for ; i < len(b); i++ {
		x = splitmix(x)
		b[i] = byte(x >> 56)
	}
}

// splitmix is one step of the SplitMix64 generator.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// send writes the next message, stamped with now, in one Write (one
// writev when shared).
func (c *client) send(now time.Duration, window int) error {
	if c.shared {
		return c.writeShared(now, window, 1)
	}
	_, err := c.nc.Write(c.next(now, window))
	return err
}

// sendBurst writes the next n messages, stamped with now, in one Write
// (one writev when shared): they reach the server together, as a
// client's burst does.
func (c *client) sendBurst(now time.Duration, window, n int) error {
	if c.shared {
		return c.writeShared(now, window, n)
	}
	c.batch = c.batch[:0]
	for range n {
		c.batch = append(c.batch, c.next(now, window)...)
	}
	_, err := c.nc.Write(c.batch)
	return err
}

// next builds the next message's frame in c.out, stamped with now.
func (c *client) next(now time.Duration, window int) []byte {
	seq := c.nextSend
	if c.verify {
		key := c.newKey()
		c.out = appendClientHeader(c.out[:0], opBinary, c.size, key)
		c.hdrLen = len(c.out)
		c.out = c.out[:c.hdrLen+c.size]
		fill(c.out[c.hdrLen:], c.id, seq)
		mask(key, 0, c.out[c.hdrLen:])
	} else {
		p := c.out[c.hdrLen : c.hdrLen+seqLen]
		binary.LittleEndian.PutUint64(p, seq)
		mask(c.key, 0, p)
	}
	c.sent[seq%uint64(window)] = now
	c.nextSend++
	return c.out
}

// receive reads the next echo and checks it: a binary message, possibly
// fragmented, of the size sent, carrying the next sequence number (and
// the whole payload, in verify mode). Pings on the way are answered. It
// returns the sequence number.
func (c *client) receive() (uint64, error) {
	n := 0
	first := true
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return 0, err
		}
		// "MUST be 0 unless an extension is negotiated that defines
		// meanings for non-zero values." (RFC 6455, Section 5.2)
		if h.rsv != 0 {
			return 0, fmt.Errorf("%w: RSV bits %03b with no extension", errProtocol, h.rsv)
		}
		// "A server MUST NOT mask any frames that it sends to the
		// client." (Section 5.1)
		if h.masked {
			return 0, fmt.Errorf("%w: masked server frame", errProtocol)
		}
		if h.op.isControl() {
			if err := c.control(h); err != nil {
				return 0, err
			}
			continue
		}
		want := opContinuation
		if first {
			want = opBinary
		}
		if h.op != want {
			return 0, fmt.Errorf("%w: %s frame, want %s", errEcho, h.op, want)
		}
		first = false
		if h.length > int64(c.size-n) {
			return 0, fmt.Errorf("%w: message longer than the %d bytes sent", errEcho, c.size)
		}
		if err := c.payload(n, int(h.length)); err != nil {
			return 0, err
		}
		n += int(h.length)
		if h.fin {
			break
		}
	}
	if n != c.size {
		return 0, fmt.Errorf("%w: %d bytes, want %d", errEcho, n, c.size)
	}
	seq := binary.LittleEndian.Uint64(c.in[:seqLen])
	if seq != c.nextRecv {
		return 0, fmt.Errorf("%w: sequence number %d, want %d", errEcho, seq, c.nextRecv)
	}
	if c.verify {
		fill(c.want, c.id, seq)
		if !bytes.Equal(c.in, c.want) {
			return 0, fmt.Errorf("%w: message %d differs at byte %d", errEcho, seq, firstDiff(c.in, c.want))
		}
	}
	c.nextRecv++
	return seq, nil
}

// payload reads the m bytes of a data frame that start at byte n of the
// message into c.in; when shared, it keeps only those of the sequence
// number, which a fragment may split, and drops the rest.
func (c *client) payload(n, m int) error {
	if !c.shared {
		_, err := io.ReadFull(c.br, c.in[n:n+m])
		return err
	}
	k := 0
	if n < seqLen {
		k = min(seqLen-n, m)
		if _, err := io.ReadFull(c.br, c.in[n:n+k]); err != nil {
			return err
		}
	}
	return c.discard(m - k)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// errServerClosed reports a close frame from the server in the middle of
// the run.
var errServerClosed = errors.New("load: server sent a close frame")

// control handles a control frame the server sent: "Upon receipt of a Ping
// frame, an endpoint MUST send a Pong frame in response" with the same
// payload (RFC 6455, Section 5.5.2); a pong is ignored; a close ends the
// run.
func (c *client) control(h header) error {
	p := c.ctrl[:h.length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return err
	}
	switch h.op {
	case opPing:
		return c.writeControl(opPong, p)
	case opPong:
		return nil
	case opClose:
		return fmt.Errorf("%w: payload % x", errServerClosed, p)
	}
	return fmt.Errorf("%w: reserved %s", errProtocol, h.op)
}

func (c *client) writeControl(op opcode, payload []byte) error {
	key := c.newKey()
	f := appendClientHeader(make([]byte, 0, maxHeader+len(payload)), op, len(payload), key)
	f = append(f, payload...)
	mask(key, 0, f[len(f)-len(payload):])
	_, err := c.nc.Write(f)
	return err
}

// closeNormal is the payload of a close frame with code 1000.
var closeNormal = []byte{0x03, 0xe8}

// close runs the client's side of the closing handshake within timeout:
// it sends a close frame with code 1000 and reads until the server's close
// frame (RFC 6455, Section 7.1.2), then closes the TCP connection. It
// reports whether the server answered.
func (c *client) close(timeout time.Duration) bool {
	defer c.nc.Close()
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	if err := c.writeControl(opClose, closeNormal); err != nil {
		return false
	}
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return false
		}
		if h.op == opClose {
			return true
		}
		if _, err := c.br.Discard(int(h.length)); err != nil {
			return false
		}
	}
}
