package main

import (
	"fmt"
	"io"
	"time"
)

// What a broadcast peer needs beyond an echo client: whole messages of any
// type, compressed or not, read as they come, and a close that counts any
// message still arriving as one too many.

// writeText sends p as one masked text frame (RFC 6455, Section 5.2), with
// a fresh masking key (Section 5.3), in one Write.
func (c *client) writeText(p []byte) error {
	key := c.newKey()
	c.out = appendClientHeader(c.out[:0], opText, len(p), key)
	n := len(c.out)
	c.out = append(c.out, p...)
	mask(key, 0, c.out[n:])
	_, err := c.nc.Write(c.out)
	return err
}

// readMessage reads the next data message whole, through fragments and
// control frames (pings are answered), into c.msg, and returns its opcode,
// whether it is compressed and its payload as it came (valid until the next
// call). deflate says whether permessage-deflate was negotiated; limit
// bounds the message's size on the wire.
func (c *client) readMessage(deflate bool, limit int) (opcode, bool, []byte, error) {
	c.msg = c.msg[:0]
	var (
		op         opcode
		compressed bool
		first      = true
	)
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return 0, false, nil, err
		}
		// "A server MUST NOT mask any frames that it sends to the
		// client." (RFC 6455, Section 5.1)
		if h.masked {
			return 0, false, nil, fmt.Errorf("%w: masked server frame", errProtocol)
		}
		// RFC 7692, Section 6: the RSV1 bit marks a compressed message, on
		// its first frame only, and never on a control frame; RSV2 and
		// RSV3 stay 0 (RFC 6455, Section 5.2).
		rsv1 := h.rsv&0x4 != 0
		if h.rsv&0x3 != 0 || rsv1 && (!deflate || !first || h.op.isControl()) {
			return 0, false, nil, fmt.Errorf("%w: RSV bits %03b on a %s frame", errProtocol, h.rsv, h.op)
		}
		if h.op.isControl() {
			if err := c.control(h); err != nil {
				return 0, false, nil, err
			}
			continue
		}
		switch {
		case first && (h.op == opText || h.op == opBinary):
			op, compressed, first = h.op, rsv1, false
		case !first && h.op == opContinuation:
		default:
			// RFC 6455, Section 5.4: a message is a first frame of its
			// type and continuations; nothing else may start or go on.
			return 0, false, nil, fmt.Errorf("%w: %s frame, first %t", errProtocol, h.op, first)
		}
		if h.length > int64(limit-len(c.msg)) {
			return 0, false, nil, fmt.Errorf("%w: a message over %d bytes", errBroadcast, limit)
		}
		n := len(c.msg)
		c.msg = append(c.msg, make([]byte, h.length)...)
		if _, err := io.ReadFull(c.br, c.msg[n:]); err != nil {
			return 0, false, nil, err
		}
		if h.fin {
			return op, compressed, c.msg, nil
		}
	}
}

// closeExact runs the closing handshake like close, but a data frame that
// comes before the server's close frame is an error: after the last round,
// the server had nothing more to send. It reports whether the server
// answered within timeout.
func (c *client) closeExact(timeout time.Duration) (bool, error) {
	defer c.nc.Close()
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	if err := c.writeControl(opClose, closeNormal); err != nil {
		return false, nil
	}
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return false, nil
		}
		if !h.op.isControl() {
			return false, fmt.Errorf("%w: a %s frame after the last round", errBroadcast, h.op)
		}
		if h.op == opClose {
			return true, nil
		}
		if _, err := c.br.Discard(int(h.length)); err != nil {
			return false, nil
		}
	}
}
