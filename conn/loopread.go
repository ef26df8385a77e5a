package conn

import (
	"context"
	"errors"
	"io"

	"duplex/frame"
)

// errWouldBlock is what the read path gets, in a Loop, when it needs bytes
// that have not arrived: the readiness-driven reader waits for the socket
// and calls again. The read path returns it unchanged, at a frame boundary
// only (see unitReady), so nothing is lost.
var errWouldBlock = errors.New("conn: no input yet")

// unitReady reports whether the buffered input holds a unit of work for
// the read path, which can then run without waiting where it could not
// resume: a control frame between messages, the header of an
// uncompressed message (whose payload is read as it arrives), a whole
// compressed message with the control frames between its fragments (the
// inflater cannot stop in the middle), or a header that fails the
// connection (which must fail at once, not when its payload has come). Otherwise it
// returns how many buffered bytes the unit needs at least, so that the
// buffer can grow to hold it. It reads the headers in place and consumes
// nothing; the read path parses them again.
func (c *Conn) unitReady() (bool, int) {
	b := c.in.bytes()
	pos := 0
	var msgLen, lim int64
	inMessage := false
	for {
		if len(b)-pos < 2 {
			return false, pos + 2
		}
		size := frame.HeaderSize(b[pos:])
		if len(b)-pos < size {
			return false, pos + size
		}
		h, _, err := frame.ParseHeader(b[pos:])
		if err != nil || h.Check(c.role, c.rsv) != nil {
			return true, 0
		}
		if h.Opcode.IsControl() {
			end := pos + size + int(h.Length) // h.Check bounds it to 125
			if len(b) < end {
				return false, end
			}
			pos = end
			if !inMessage {
				return true, 0
			}
			continue
		}
		if inMessage != (h.Opcode == frame.OpContinuation) {
			return true, 0 // out of order: fails at once
		}
		if !inMessage {
			if !h.RSV1 {
				// Read as it arrives, so that invalid UTF-8 fails the
				// connection at once (RFC 6455, Section 8.1); only an
				// inflater needs the whole message.
				return true, 0
			}
			lim = c.wireLimit(true)
		}
		if lim >= 0 && h.Length > lim-msgLen {
			return true, 0 // over the limit: fails at once
		}
		end := int64(pos) + int64(size) + h.Length
		if int64(len(b)) < end {
			return false, int(end)
		}
		pos, msgLen, inMessage = int(end), msgLen+h.Length, true
		if h.Fin {
			return true, 0
		}
	}
}

// readPayload reads the payload of the message in progress that is
// buffered, appending it to b, and reports the message's end with io.EOF
// or the need for more input with errWouldBlock; any other error ends the
// connection. It runs under the read lock.
func (c *Conn) readPayload(b []byte) ([]byte, error) {
	if b == nil {
		b = make([]byte, 0, min(c.r.remain, maxPrealloc))
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := c.messages().read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch err {
		case nil:
		case io.EOF, errWouldBlock:
			return b, err
		default:
			return b, c.readFailure(context.Background(), err)
		}
	}
}

// readMore reads what the socket has into the buffer, grown first to hold
// need bytes, once, without waiting: errWouldBlock when nothing came.
func (c *Conn) readMore(need int) error {
	in := &c.in
	if in.bp == nil {
		in.bp = getBuf(max(need, in.size))
	}
	if need > len(*in.bp) {
		in.grow(need)
	}
	if in.w == len(*in.bp) {
		in.w = copy(*in.bp, (*in.bp)[in.r:in.w])
		in.r = 0
	}
	n, _, err := c.recv((*in.bp)[in.w:], false)
	in.w += n
	if n > 0 {
		return nil
	}
	in.release()
	return err
}

// grow moves the unread bytes into a buffer of at least need bytes, at
// least twice as large as the one it replaces, so that a message that
// arrives in many frames is copied a bounded number of times.
func (in *input) grow(need int) {
	nb := getBuf(max(need, 2*len(*in.bp)))
	in.w = copy(*nb, (*in.bp)[in.r:in.w])
	in.r = 0
	putBuf(in.bp)
	in.bp = nb
}
