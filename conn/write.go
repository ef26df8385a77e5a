package conn

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"duplex/frame"
	"duplex/internal/deadline"
	"duplex/internal/deflate"
)

// writeState is the write side of a connection. Two locks, held as
// one-slot semaphores so that waiting honours contexts: the message lock
// keeps the frames of two messages from interleaving, the frame lock keeps
// two frames from interleaving. Control frames take only the frame lock.
type writeState struct {
	msgLock   sema
	frameLock sema

	// Guarded by the message lock.
	bufp *[]byte          // the fragment a streamed message is building, pooled
	enc  *deflate.Encoder // with permessage-deflate
	st   stream           // of the message a writer from NextWriter streams

	// Guarded by the frame lock.
	outp  *[]byte         // the output buffer, pooled; nil while empty
	out   []byte          // frames corked, waiting to leave (see emit)
	rng   *mrand.ChaCha8  // mask keys, client only
	watch *deadline.Watch // made by the first write with a context that can end
	vec   *vectored       // made at the first large write of a server
	timer *time.Timer     // flushes a cork the reader did not

	corked atomic.Bool  // out holds frames that wait
	corks  atomic.Int32 // Cork calls in progress

	// Small fields together, to keep an idle connection small.
	n       int32 // payload bytes in bufp (message lock)
	frag    int32 // payload bytes per fragment of a streamed message
	outSize int32 // the output buffer's size
	// midMessage says a non-final fragment went out (message lock);
	// deadlineSet that a context's end left a past write deadline, which
	// the next write clears (frame lock).
	midMessage  bool
	deadlineSet bool
}

func (c *Conn) initWrite(o *Options) {
	c.w.frag = int32(o.FragmentSize)
	c.w.outSize = int32(frame.MaxHeaderSize + o.WriteBufferSize)
	if c.role == frame.RoleClient {
		c.w.rng = newMaskSource()
	}
}

// acquire takes a write lock, giving up when ctx ends or the connection
// closes.
func (c *Conn) acquire(ctx context.Context, l *sema) error {
	// The fast path first: done makes a channel, which only a wait needs.
	if l.tryAcquire() || l.acquire(ctx.Done(), c.done()) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("conn: write: %w", err)
	}
	return c.writeErr()
}

// writeErr explains why a write cannot proceed on a connection that is not
// open: the failure that ended it, or ErrClosed after a closing handshake.
func (c *Conn) writeErr() error {
	err := c.loadErr()
	if _, peerClosed := err.(CloseError); err != nil && !peerClosed {
		return err // a failure: every call reports it
	}
	if c.State() == StateConnecting {
		return errNotOpen
	}
	return ErrClosed
}

// WriteMessage sends data as one message of type typ, in a single frame.
// data is not modified nor kept after WriteMessage returns. A frame whose
// payload fits the write buffer leaves in one Write call on the net.Conn.
//
// It is safe to call from many goroutines at once: messages go out whole,
// one after the other. ctx bounds the wait for other writers and the
// write itself; if it ends before a byte went out the error wraps
// ctx.Err() and the connection stays usable, if it ends in the middle of
// a frame the connection is failed. Text messages must be valid UTF-8.
// After Close, or once the peer closed, it returns an error.
func (c *Conn) WriteMessage(ctx context.Context, typ MessageType, data []byte) error {
	if !typ.valid() {
		return errMessageType
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("conn: write: %w", err)
	}
	if err := c.acquire(ctx, &c.w.msgLock); err != nil {
		return err
	}
	defer c.w.msgLock.release()
	op := frame.Opcode(typ)
	if !c.compressing(ctx, len(data)) {
		return c.writeWhole(ctx, op, false, data, 0)
	}
	return c.writeCompressed(ctx, op, data)
}

// writeCompressed compresses data with the connection's compressor, its
// history included, and sends it as one frame with RSV1. Under the
// message lock.
func (c *Conn) writeCompressed(ctx context.Context, op frame.Opcode, data []byte) error {
	bp := bufPool.Get().(*[]byte)
	// The payload is compressed after room for its header (emitFramed).
	out := c.w.enc.Message(append((*bp)[:0], make([]byte, headroom)...), data)
	err := c.writeWhole(ctx, op, true, out, headroom)
	if err != nil {
		c.w.enc.Reset()
	}
	*bp = out[:0]
	bufPool.Put(bp)
	return err
}

// writeWhole sends buf[room:] as one final frame, RSV1 marking it
// compressed. room is 0, or headroom for a buffer of the connection's own
// whose first headroom bytes take the header (see emitFramed).
func (c *Conn) writeWhole(ctx context.Context, op frame.Opcode, rsv1 bool, buf []byte, room int) error {
	if err := c.acquire(ctx, &c.w.frameLock); err != nil {
		return err
	}
	defer c.w.frameLock.release()
	// Under the frame lock, so no data frame can follow a close frame.
	if c.State() != StateOpen {
		return c.writeErr()
	}
	h := frame.Header{Fin: true, RSV1: rsv1, Opcode: op, Length: int64(len(buf) - room)}
	if room == headroom {
		return c.emitFramed(ctx, h, buf, true)
	}
	return c.emit(ctx, h, buf, true)
}

// writeBuffered sends the payload in the write buffer as one frame.
func (c *Conn) writeBuffered(ctx context.Context, op frame.Opcode, rsv1, fin bool) error {
	if err := c.acquire(ctx, &c.w.frameLock); err != nil {
		return err
	}
	defer c.w.frameLock.release()
	if c.State() != StateOpen {
		return c.writeErr()
	}
	payload := (*c.w.bufp)[:c.w.n]
	c.w.n = 0
	h := frame.Header{Fin: fin, RSV1: rsv1, Opcode: op, Length: int64(len(payload))}
	return c.emit(ctx, h, payload, !c.w.midMessage)
}

// newMask gives h a fresh mask key when this side is a client and reports
// whether it did. RFC 6455, Section 5.3: "The masking key is a 32-bit
// value chosen at random by the client" and the client "MUST pick a fresh
// masking key for each frame". Called under the frame lock, which guards
// the generator.
func (c *Conn) newMask(h *frame.Header) bool {
	if c.role != frame.RoleClient {
		return false
	}
	h.Masked = true
	binary.LittleEndian.PutUint32(h.MaskKey[:], uint32(c.w.rng.Uint64()))
	return true
}

// writeFailure turns a failed write into the error for the caller. A frame
// cut in the middle cannot be finished nor followed by a close frame, so
// the connection is closed without one.
func (c *Conn) writeFailure(ctx context.Context, err error, clean bool) error {
	if c.tcpClosed.Load() {
		if cause := c.loadErr(); cause != nil {
			return cause
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		werr := fmt.Errorf("conn: write: %w", ctxErr)
		if clean {
			return werr
		}
		return c.fail(werr)
	}
	return c.fail(abnormal(err))
}

// NextWriter starts a message of type typ and returns a writer for its
// payload. Data accumulates in the connection's write buffer and leaves as
// a non-final frame each time [Options.FragmentSize] bytes are buffered;
// Close sends the rest as the final frame and must be called for the
// message to end. Pings, pongs and a close may go out between fragments
// (RFC 6455, Section 5.4).
//
// Until Close, other writers wait: NextWriter and WriteMessage are safe
// from many goroutines and each message goes out whole. ctx bounds the
// wait for the writer and every Write and Close on it. The writer is
// reused by the next message, so it must not be used after Close. If a
// write fails in the middle of a message, the connection is failed: the
// message cannot be finished.
func (c *Conn) NextWriter(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if !typ.valid() {
		return nil, errMessageType
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("conn: write: %w", err)
	}
	if err := c.acquire(ctx, &c.w.msgLock); err != nil {
		return nil, err
	}
	if c.State() != StateOpen {
		c.w.msgLock.release()
		return nil, c.writeErr()
	}
	c.w.n = 0
	c.w.midMessage = false
	c.w.bufp = getBuf(int(c.w.frag))
	c.w.st = stream{ctx: ctx, op: frame.Opcode(typ), open: true}
	if c.compressing(ctx, -1) {
		c.w.st.zbuf = bufPool.Get().(*[]byte)
		c.w.st.rsv1 = true
	}
	return c.writer(), nil
}

// messageWriter is the writer NextWriter returns: the connection, seen as
// the writer of its streamed message (writeState.st). The path of a
// payload is caller -> [compressor, once an extension needs one] -> write
// buffer -> frames.
type messageWriter Conn

// writer returns the connection's message writer.
func (c *Conn) writer() *messageWriter { return (*messageWriter)(c) }

// stream is the state of the message a writer from NextWriter streams,
// guarded by the message lock.
type stream struct {
	ctx  context.Context
	zbuf *[]byte      // compressed output, while the message is compressed
	op   frame.Opcode // of the next frame: the message type, then continuation
	open bool
	rsv1 bool // the message is compressed: RSV1 on its first frame
}

// Write buffers p, sending a fragment each time the buffer is full. A
// compressed message is compressed as it is written; the compressor holds
// back up to 64 KiB of input until it has a block's worth.
func (w *messageWriter) Write(p []byte) (int, error) {
	c := (*Conn)(w)
	st := &c.w.st
	if !st.open {
		return 0, errWriterClosed
	}
	if st.zbuf == nil {
		return w.buffer(p)
	}
	out := c.w.enc.Append((*st.zbuf)[:0], p)
	*st.zbuf = out[:0]
	if _, err := w.buffer(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// buffer copies p into the write buffer, sending a fragment each time it is
// full.
func (w *messageWriter) buffer(p []byte) (int, error) {
	c := (*Conn)(w)
	written := 0
	for len(p) > 0 {
		// The full buffer goes out only when more data comes, so that
		// Close can mark the last fragment final instead of sending an
		// empty one.
		if c.w.n == c.w.frag {
			if err := w.flush(false); err != nil {
				return written, err
			}
		}
		k := copy((*c.w.bufp)[c.w.n:c.w.frag], p)
		c.w.n += int32(k)
		written += k
		p = p[k:]
	}
	return written, nil
}

func (w *messageWriter) flush(fin bool) error {
	c := (*Conn)(w)
	st := &c.w.st
	// RFC 7692, Section 6.1: RSV1 on the first frame of a compressed
	// message only.
	rsv1 := st.rsv1 && st.op != frame.OpContinuation
	if err := c.writeBuffered(st.ctx, st.op, rsv1, fin); err != nil {
		return err
	}
	st.op = frame.OpContinuation
	c.w.midMessage = !fin
	return nil
}

// Close sends the buffered data as the final frame of the message and lets
// the next writer go.
func (w *messageWriter) Close() error {
	c := (*Conn)(w)
	st := &c.w.st
	if !st.open {
		return errWriterClosed
	}
	st.open = false
	var err error
	if st.zbuf != nil {
		out := c.w.enc.Finish((*st.zbuf)[:0])
		_, err = w.buffer(out)
		*st.zbuf = out[:0]
		bufPool.Put(st.zbuf)
		st.zbuf = nil
	}
	if err == nil {
		err = w.flush(true)
	}
	if err != nil && c.w.enc != nil {
		// The peer may not have the data the compressor's history now
		// holds: start afresh, which the peer can always read.
		c.w.enc.Reset()
	}
	if err != nil && c.w.midMessage && c.State() == StateOpen {
		// Fragments went out and the final one cannot follow: the peer
		// would read the next message as part of this one.
		err = c.fail(err)
	}
	c.w.midMessage = false
	st.ctx = nil
	putBuf(c.w.bufp)
	c.w.bufp = nil
	c.w.msgLock.release()
	return err
}
