package conn

import (
	"context"
	"net"
	"time"

	"duplex/frame"
)

// corkDelay bounds how long a corked frame may wait: the reader normally
// flushes it within microseconds, when it has read the input that made it
// cork, but a reader that stops between two messages must not hold other
// goroutines' frames for longer than this.
const corkDelay = time.Millisecond

// emit sends one frame, header h and payload p, under the frame lock, or
// leaves it in the output buffer when the connection is corked (see
// corking). p is not modified: a client masks its copy. Frames leave in the
// order emitted; a frame that does not fit the output buffer leaves at once
// with what is corked before it, in one vectored write when the payload can
// go as is.
//
// clean says whether the stream is at a frame boundary no message is
// waiting to continue: a failed write that sent nothing from there, with
// nothing corked before it, leaves the connection usable.
func (c *Conn) emit(ctx context.Context, h frame.Header, p []byte, clean bool) error {
	masked := c.newMask(&h)
	clean = clean && len(c.w.out) == 0
	if err := c.openOut(); err != nil {
		return err
	}
	if c.ev != nil {
		if !masked && len(c.w.out)+h.Size()+len(p) > cap(c.w.out) {
			// A server's payload larger than the buffer goes as it is,
			// after what waits and its header, in one writev: only what
			// the socket does not take now is copied, to wait for it.
			c.w.out = frame.AppendHeader(c.w.out, h)
			return c.ev.flushWith(p)
		}
		c.appendFrame(h, p, masked)
		if h.Opcode != frame.OpClose && c.cork() {
			return nil
		}
		return c.ev.flush()
	}
	if len(c.w.out)+h.Size()+len(p) <= cap(c.w.out) {
		c.w.out = frame.AppendHeader(c.w.out, h)
		start := len(c.w.out)
		c.w.out = append(c.w.out, p...)
		if masked {
			frame.Mask(h.MaskKey, 0, c.w.out[start:])
		}
		if h.Opcode != frame.OpClose && c.cork() {
			return nil
		}
		return c.flush(ctx, clean)
	}
	if !masked {
		// A server's payload goes as it is, after what was corked and its
		// header, in one writev.
		c.w.out = frame.AppendHeader(c.w.out, h)
		return c.writeAfterOut(ctx, p, clean)
	}
	// A client masks into its own buffer, chunk by chunk.
	c.w.out = frame.AppendHeader(c.w.out, h)
	pos := 0
	for len(p) > 0 {
		start := len(c.w.out)
		k := min(len(p), cap(c.w.out)-start)
		c.w.out = append(c.w.out, p[:k]...)
		pos = frame.Mask(h.MaskKey, pos, c.w.out[start:])
		p = p[k:]
		if err := c.flush(ctx, clean); err != nil {
			return err
		}
		clean = false
		if len(p) > 0 {
			c.w.outp = getBuf(int(c.w.outSize))
			c.w.out = (*c.w.outp)[:0:c.w.outSize]
		}
	}
	return nil
}

// openOut readies the output buffer for a frame. In a Loop, nothing waits
// for the socket: the frame joins what waits, unless that is more than
// LoopOptions.MaxPending already, which fails the connection.
func (c *Conn) openOut() error {
	if c.w.outp == nil {
		c.w.outp = getBuf(int(c.w.outSize))
		c.w.out = (*c.w.outp)[:0:c.w.outSize]
	}
	if c.ev != nil {
		if err := c.ev.admit(len(c.w.out)); err != nil {
			return c.fail(abnormal(err))
		}
	}
	return nil
}

// headroom is what a buffer of the connection's own keeps free before a
// payload it builds there (a compressed message), for the frame's header:
// see emitFramed.
const headroom = frame.MaxHeaderSize

// emitFramed sends one frame, as emit does, whose payload is buf[headroom:],
// a buffer of the connection's own: the header goes into the headroom and a
// client masks the payload in place, so that the frame is one piece of
// memory. One that does not fit the output buffer then leaves in a single
// Write when nothing is corked before it (one TLS record, one write on a
// connection without writev), in one vectored write after what is.
func (c *Conn) emitFramed(ctx context.Context, h frame.Header, buf []byte, clean bool) error {
	masked := c.newMask(&h)
	start := headroom - h.Size()
	frame.AppendHeader(buf[start:start], h) // in place: the headroom is its capacity
	f := buf[start:]
	if masked {
		frame.Mask(h.MaskKey, 0, f[h.Size():])
	}
	clean = clean && len(c.w.out) == 0
	if err := c.openOut(); err != nil {
		return err
	}
	if c.ev != nil {
		if len(c.w.out)+len(f) > cap(c.w.out) {
			return c.ev.flushWith(f)
		}
		c.w.out = append(c.w.out, f...)
		if c.cork() {
			return nil
		}
		return c.ev.flush()
	}
	if len(c.w.out)+len(f) <= cap(c.w.out) {
		c.w.out = append(c.w.out, f...)
		if c.cork() {
			return nil
		}
		return c.flush(ctx, clean)
	}
	return c.writeAfterOut(ctx, f, clean)
}

// writeAfterOut writes what the output buffer holds, then p, in one
// vectored write (p alone when the buffer is empty), and gives the buffer
// back. p is not kept.
func (c *Conn) writeAfterOut(ctx context.Context, p []byte, clean bool) error {
	if c.w.vec == nil {
		c.w.vec = new(vectored)
	}
	v := c.w.vec
	v.arr = [2][]byte{c.w.out, p}
	v.bufs = v.arr[:]
	if len(c.w.out) == 0 {
		v.bufs = v.arr[1:]
	}
	c.armWrite(ctx)
	n, err := v.bufs.WriteTo(c.nc)
	c.disarmWrite()
	v.arr = [2][]byte{} // do not keep the caller's slice
	c.releaseOut()
	if err != nil {
		return c.writeFailure(ctx, err, clean && n == 0)
	}
	return nil
}

// appendFrame adds a frame to the output buffer, growing it as needed.
func (c *Conn) appendFrame(h frame.Header, p []byte, masked bool) {
	c.outRoom(h.Size() + len(p))
	c.w.out = frame.AppendHeader(c.w.out, h)
	start := len(c.w.out)
	c.w.out = append(c.w.out, p...)
	if masked {
		frame.Mask(h.MaskKey, 0, c.w.out[start:])
	}
}

// keepOutput keeps in the output buffer, in order, what a write of it and
// then p left unwritten, n bytes having gone. Under the frame lock.
func (c *Conn) keepOutput(n int, p []byte) {
	if n < len(c.w.out) {
		c.w.out = c.w.out[n:]
		n = 0
	} else {
		n -= len(c.w.out)
		c.w.out = c.w.out[:0]
	}
	p = p[n:]
	c.outRoom(len(p))
	c.w.out = append(c.w.out, p...)
}

// outRoom makes room for extra bytes after the output that waits,
// moving it to the front of its buffer, or into one at least twice as
// large: output that waits for a slow peer is copied a bounded number of
// times, however little each write takes. Under the frame lock.
func (c *Conn) outRoom(extra int) {
	need := len(c.w.out) + extra
	if need <= cap(c.w.out) {
		return
	}
	nb := c.w.outp
	if need > len(*nb) {
		nb = getBuf(max(need, 2*len(*nb)))
	}
	n := copy(*nb, c.w.out)
	if nb != c.w.outp {
		putBuf(c.w.outp)
		c.w.outp = nb
	}
	c.w.out = (*nb)[:n]
}

// vectored holds the buffers of a writev: the output buffer, then a
// payload sent as it is. Kept on the connection so that a large write
// allocates nothing, but only once there was one.
type vectored struct {
	bufs net.Buffers
	arr  [2][]byte
}

// flush writes the output buffer, under the frame lock.
func (c *Conn) flush(ctx context.Context, clean bool) error {
	if len(c.w.out) == 0 {
		return nil
	}
	if c.ev != nil {
		return c.ev.flush()
	}
	c.armWrite(ctx)
	n, err := c.nc.Write(c.w.out)
	c.disarmWrite()
	c.releaseOut()
	if err != nil {
		return c.writeFailure(ctx, err, clean && n == 0)
	}
	return nil
}

// releaseOut empties the output buffer and gives it back to the pool: an
// idle connection holds none.
func (c *Conn) releaseOut() {
	c.uncorked()
	putBuf(c.w.outp)
	c.w.outp, c.w.out = nil, nil
}

// cork reports whether the frame just added to the output buffer may wait
// there, and if so marks the buffer as corked. Under the frame lock.
//
// It waits while the connection holds input it has not read yet (the
// reader will be back for it at once, and replies to it leave together)
// or inside [Conn.Cork]. A reply to the last message of a batch finds no
// input pending and leaves with the others; the reader also flushes before
// it waits for the network, and the cork timer after corkDelay.
func (c *Conn) cork() bool {
	explicit := c.w.corks.Load() > 0
	if !explicit && !c.r.pending.Load() {
		return false
	}
	if !c.w.corked.Swap(true) && !explicit {
		c.armCorkTimer()
	}
	// The reader may have found nothing pending and nothing corked just
	// before the store above: then nobody else flushes soon.
	return explicit || c.r.pending.Load()
}

// uncorked records that the output buffer was flushed.
func (c *Conn) uncorked() {
	if c.w.corked.Swap(false) && c.w.timer != nil {
		c.w.timer.Stop()
	}
}

// armCorkTimer starts the timer that flushes a cork the reader did not.
func (c *Conn) armCorkTimer() {
	if c.w.timer == nil {
		c.w.timer = time.AfterFunc(corkDelay, c.flushCorked)
		return
	}
	c.w.timer.Reset(corkDelay)
}

// flushCorked sends what is corked, if anything: on the reader's way to
// the network, from the cork timer, and at the end of Cork.
func (c *Conn) flushCorked() {
	if !c.w.corked.Load() {
		return
	}
	if err := c.acquire(context.Background(), &c.w.frameLock); err != nil {
		return
	}
	defer c.w.frameLock.release()
	_ = c.flush(context.Background(), false) // a failure fails the connection
}

// flushCorkedNow flushes what is corked unless a writer holds the frame
// lock: that writer, finding no input pending, flushes it itself.
func (c *Conn) flushCorkedNow() {
	if !c.w.frameLock.tryAcquire() {
		return
	}
	defer c.w.frameLock.release()
	_ = c.flush(context.Background(), false)
}

// Cork runs fn with the connection corked: the frames written meanwhile,
// by fn or by any other goroutine, wait in the write buffer as long as it
// has room, and leave together, in as few writes as it takes, when fn
// returns. Use it to send several messages from a goroutine other than the
// reader in one system call, as a broadcast or a queue does. Corks nest;
// the outermost flushes. It returns fn's error, or the error of the flush.
//
// The reading goroutine needs no Cork: a frame written while the
// connection holds input it has not read yet waits for that input to be
// read (at most 1 ms), so that the replies to messages that arrived
// together leave together. A frame written with no input pending leaves at
// once.
func (c *Conn) Cork(ctx context.Context, fn func() error) error {
	c.w.corks.Add(1)
	err := fn()
	if c.w.corks.Add(-1) > 0 || !c.w.corked.Load() {
		return err
	}
	if aerr := c.acquire(ctx, &c.w.frameLock); aerr != nil {
		if err == nil {
			err = aerr
		}
		return err
	}
	defer c.w.frameLock.release()
	if ferr := c.flush(ctx, false); err == nil {
		err = ferr
	}
	return err
}
