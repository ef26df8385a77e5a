package conn

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"duplex/frame"
)

// input is the connection's read buffer: the bytes read from the network
// and not consumed yet, b[r:w]. Headers are parsed in place over it.
//
// An idle connection holds no buffer: when everything read is consumed the
// buffer goes back to a pool, and the reader waits until the socket is
// readable without one (through syscall.RawConn), taking a buffer only for
// the read that follows. A net.Conn that offers no RawConn (TLS, pipes,
// wrappers) keeps its buffer, since it can only be waited on by reading.
// Everything here runs under the read lock.
type input struct {
	bp    *[]byte // the buffer; nil while there is none
	r, w  int
	size  int        // size of the buffer to take
	raw   *rawReader // made at the first read, when rawOK
	rawOK bool       // false: read with net.Conn.Read, and keep the buffer
	// pooled says an empty buffer goes back to the pool: with a RawConn,
	// or in a Loop, which waits for the socket itself.
	pooled bool
}

// rawReader reads through a syscall.RawConn. RawConn.Read calls fn, bound
// once so that a read allocates nothing; dst and the results pass through
// the struct.
type rawReader struct {
	rc    syscall.RawConn
	size  int
	fn    func(fd uintptr) bool
	dst   []byte
	ahead bool // read into a pooled buffer too, after dst
	n     int
	buf   *[]byte
	err   error
}

func (c *Conn) initInput(size int, rest []byte) {
	in := &c.in
	in.size = size
	// The RawConn reader is made at the first read: a connection a Loop
	// serves never needs one.
	_, in.rawOK = c.nc.(syscall.Conn)
	in.pooled = in.rawOK
	if len(rest) == 0 {
		return
	}
	// Bytes the peer sent right after the handshake's head: the start of
	// the first frame.
	if len(rest) > size {
		b := append([]byte(nil), rest...) // larger than any pooled buffer
		in.bp = &b
	} else {
		in.bp = getBuf(size)
		copy(*in.bp, rest)
	}
	in.w = len(rest)
}

// release gives an empty buffer back to the pool, where the connection
// can wait without one.
func (in *input) release() {
	if in.pooled && in.bp != nil && in.r == in.w {
		putBuf(in.bp)
		in.bp, in.r, in.w = nil, 0, 0
	}
}

// buffered returns how many bytes are read and not consumed.
func (in *input) buffered() int { return in.w - in.r }

// bytes returns the bytes read and not consumed, valid until the next
// call that reads or consumes.
func (in *input) bytes() []byte {
	if in.bp == nil {
		return nil
	}
	return (*in.bp)[in.r:in.w]
}

// consume marks the first n buffered bytes as read. An emptied buffer goes
// back to the pool where the connection can wait without one.
func (in *input) consume(n int) {
	in.r += n
	if in.r < in.w {
		return
	}
	in.r, in.w = 0, 0
	in.release()
}

// fill reads from the network until at least n bytes (n <= in.size) are
// buffered.
func (c *Conn) fill(n int) error {
	in := &c.in
	for in.buffered() < n {
		if in.bp == nil {
			if in.rawOK {
				got, bp, err := c.recv(nil, false)
				if bp != nil {
					in.bp, in.r, in.w = bp, 0, got
				}
				if err != nil && in.buffered() < n {
					return err
				}
				continue
			}
			in.bp = getBuf(in.size)
		}
		if len(*in.bp)-in.r < n {
			// Too little room after the unread bytes: move them to the front.
			in.w = copy(*in.bp, (*in.bp)[in.r:in.w])
			in.r = 0
		}
		got, _, err := c.recv((*in.bp)[in.w:], false)
		in.w += got
		if err != nil && in.buffered() < n {
			in.release()
			return err
		}
	}
	return nil
}

// readHeader reads and parses the next frame header, in place.
func (c *Conn) readHeader() (frame.Header, error) {
	if err := c.fill(2); err != nil {
		return frame.Header{}, err
	}
	size := frame.HeaderSize(c.in.bytes())
	if err := c.fill(size); err != nil {
		return frame.Header{}, unexpectedEOF(err)
	}
	h, _, err := frame.ParseHeader(c.in.bytes())
	if err != nil {
		return frame.Header{}, err
	}
	if h.Opcode.IsControl() && h.Length <= frame.MaxControlPayload &&
		!h.RSV1 && h.Check(c.role, c.rsv) == nil {
		// A control frame is read whole: nothing of it is consumed until
		// all of it is here, so that a reader that cannot wait (a Loop)
		// comes back to it whole. One the header already fails is not
		// waited for: the connection fails on what it has (RFC 6455,
		// Section 7.1.7), whatever the peer sends next.
		if err := c.fill(size + int(h.Length)); err != nil {
			return frame.Header{}, unexpectedEOF(err)
		}
	}
	c.in.consume(size)
	return h, nil
}

// readSome reads up to len(p) bytes: what is buffered, or, with nothing
// buffered, straight from the network into p when p is at least a buffer
// long (so that a large payload is copied once, by the kernel), and
// through the buffer otherwise.
//
// p never goes past the frame, so a read straight into it stops where the
// payload does; what the peer sent after it, the next frame's header at
// least, comes in the same system call into the read buffer (readv),
// where a second read would otherwise fetch it.
func (c *Conn) readSome(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.in.buffered() == 0 {
		if len(p) >= c.in.size {
			return c.readAhead(p)
		}
		if err := c.fill(1); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.in.bytes())
	c.in.consume(n)
	return n, nil
}

// readFull fills p, which is at most a buffer long.
func (c *Conn) readFull(p []byte) error {
	if err := c.fill(len(p)); err != nil {
		return unexpectedEOF(err)
	}
	copy(p, c.in.bytes())
	c.in.consume(len(p))
	return nil
}

// readAhead reads into p, straight from the network, and what follows
// into an empty read buffer in the same system call, where the connection
// can: through a RawConn or in a Loop.
func (c *Conn) readAhead(p []byte) (int, error) {
	in := &c.in
	if _, ok := c.nc.(aheadReader); !canReadAhead || !ok && !in.rawOK {
		n, _, err := c.recv(p, false)
		return n, err
	}
	n, bp, err := c.recv(p, true)
	if n > len(p) {
		// The read buffer was empty: readSome reads ahead only then.
		putBuf(in.bp)
		in.bp, in.r, in.w = bp, 0, n-len(p)
		n = len(p)
	}
	return n, err
}

// aheadReader is a net.Conn of this package that reads into two buffers
// in one system call, without waiting: a Loop's socket.
type aheadReader interface {
	readAhead(p, q []byte) (int, error)
}

// discard reads and drops n bytes.
func (c *Conn) discard(n int64) (int64, error) {
	var done int64
	for done < n {
		if c.in.buffered() == 0 {
			if err := c.fill(1); err != nil {
				return done, err
			}
		}
		k := int(min(int64(c.in.buffered()), n-done))
		c.in.consume(k)
		done += int64(k)
	}
	return done, nil
}

// recv reads from the network once: into p, or, when p is nil (only with
// a RawConn), into a buffer taken from the pool once data is there, which
// it returns. With ahead (only with a RawConn or an aheadReader), it reads
// into p and then into a buffer taken from the pool, in one system call,
// and returns the count of both; the buffer, returned when the read went
// past p, holds the rest. Before it may wait, what is corked for the input read so far
// leaves. It turns the keepalive deadline into a ping or a failure and
// reads on, so that keepalive never surfaces as a timeout; only a
// context's end (see deadline.Watch), a real error or the end of the
// stream does.
func (c *Conn) recv(p []byte, ahead bool) (int, *[]byte, error) {
	c.r.pending.Store(false)
	if c.w.corked.Load() {
		c.flushCorkedNow()
	}
	for {
		var n int
		var bp *[]byte
		var err error
		switch {
		case c.in.rawOK:
			n, bp, err = c.recvRaw(p, ahead)
		case ahead:
			n, bp, err = c.recvAhead(p)
		default:
			n, err = c.nc.Read(p)
		}
		if c.ka == nil {
			return n, bp, err
		}
		if n > 0 {
			if c.ka.heard(time.Now()) {
				_ = c.setReadDeadline(c.ka.next())
			}
			return n, bp, err
		}
		// Closing: the close timer bounds the wait from now on, and a
		// deadline is the closing side's own.
		if !errors.Is(err, os.ErrDeadlineExceeded) || c.r.watch.Ended() || c.State() != StateOpen {
			return n, bp, err
		}
		if err := c.keepaliveDue(); err != nil {
			return 0, nil, err
		}
	}
}

// recvAhead is recv's read into p and a pooled buffer through an
// aheadReader.
func (c *Conn) recvAhead(p []byte) (int, *[]byte, error) {
	bp := getBuf(c.in.size)
	n, err := c.nc.(aheadReader).readAhead(p, *bp)
	if n <= len(p) {
		putBuf(bp)
		bp = nil
	}
	return n, bp, err
}

// recvRaw is recv's read through the RawConn: the runtime waits for the
// socket to be readable (with the connection's deadline) without a buffer
// being held, and the read itself goes into p or a pooled buffer, or both
// with ahead.
func (c *Conn) recvRaw(p []byte, ahead bool) (int, *[]byte, error) {
	r := c.in.raw
	if r == nil {
		rc, err := c.nc.(syscall.Conn).SyscallConn()
		if err != nil {
			return 0, nil, err
		}
		r = &rawReader{rc: rc, size: c.in.size}
		r.fn = r.read
		c.in.raw = r
	}
	r.dst, r.ahead, r.n, r.buf, r.err = p, ahead, 0, nil, nil
	err := r.rc.Read(r.fn)
	n, bp := r.n, r.buf
	r.dst, r.buf = nil, nil
	if ahead && n <= len(p) && bp != nil {
		putBuf(bp) // nothing came past p
		bp = nil
	}
	switch {
	case err != nil: // the poller's: a deadline, a closed connection
	case r.err != nil:
		err = os.NewSyscallError("read", r.err)
	case n == 0:
		err = io.EOF
	}
	if err != nil {
		n = max(n, 0)
		if n == 0 && bp != nil {
			putBuf(bp)
			bp = nil
		}
	}
	return n, bp, err
}

// read is the function RawConn.Read calls, until it reports done: it reads
// into dst, or a pooled buffer when dst is nil, or both with ahead, and
// asks to wait for the socket to be readable when there is nothing to
// read. The buffer is taken only then, so that a connection waiting for
// input holds none.
func (r *rawReader) read(fd uintptr) bool {
	dst := r.dst
	if dst == nil || r.ahead {
		r.buf = getBuf(r.size)
	}
	if dst == nil {
		dst = *r.buf
	}
	var err error
	for {
		if r.ahead {
			r.n, err = readv(int(fd), dst, *r.buf)
		} else {
			r.n, err = syscall.Read(int(fd), dst)
		}
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN {
		if r.buf != nil {
			putBuf(r.buf)
			r.buf = nil
		}
		return false // wait until readable, then call again
	}
	r.err = err
	return true
}

// unexpectedEOF reports the end of the stream inside a frame.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
