package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"duplex/frame"
	"duplex/internal/deadline"
	"duplex/internal/deflate"
)

// readState is the read side of a connection. Everything in it is guarded
// by the read lock, which one goroutine holds at a time.
type readState struct {
	lock sema // the read lock: held while someone reads
	ctx  context.Context

	h       frame.Header // the data frame being read
	remain  int64        // its payload bytes not yet read
	maskPos int          // key position for the next payload byte
	msgType MessageType  // the message being read; 0 between messages
	msgLen  int64        // wire bytes of the message so far, for ReadLimit
	utf8    frame.UTF8Validator

	// With permessage-deflate: the decompressor, whether the current
	// message is compressed, and its inflated size so far for ReadLimit.
	dec        *deflate.Decoder
	compressed bool
	inflated   int64

	// atBoundary is true while waiting for a header with no frame
	// partly read and no message in progress: a context that ends there
	// leaves the stream intact.
	atBoundary  bool
	closeSeen   bool
	drainBudget int64 // bytes still to discard while waiting for the peer's close

	// hook says the reader is calling OnPing or OnPong, and lent that a
	// Close took over the stream meanwhile (see callHook).
	hookMu sync.Mutex
	hook   bool
	lent   bool

	// pending says the read buffer held unread input when the last read
	// call returned: the reader will be back for it at once, so writes
	// meanwhile may wait for it (see Conn.cork).
	pending atomic.Bool

	watch *deadline.Watch // made by the first read with a context that can end
}

func (c *Conn) initRead() {
	c.r.ctx = context.Background()
}

func (c *Conn) lockRead() bool { return c.r.lock.tryAcquire() }

func (c *Conn) unlockRead() {
	c.r.pending.Store(c.in.buffered() > 0)
	c.r.lock.release()
}

// busyReadErr explains why the read lock was not free: another reader, or
// Close reading for the peer's close frame. In the second case it waits
// for the handshake to end (bounded by CloseTimeout) so the caller learns
// how it ended. done is the caller's context, or nil.
func (c *Conn) busyReadErr(done <-chan struct{}) error {
	if !c.closeReading.Load() {
		if c.State() == StateOpen {
			return ErrConcurrentRead
		}
		if err := c.loadErr(); err != nil {
			return err
		}
		return ErrClosed
	}
	select {
	case <-c.done():
	case <-done:
	}
	if err := c.loadErr(); err != nil {
		return err
	}
	return ErrClosed
}

// NextReader waits for the next data message and returns its type and a
// reader for its payload. Control frames that arrive meanwhile are handled:
// pings are answered, a close frame is answered and ends the connection.
// The rest of a previous message not read to the end is discarded (and
// still validated).
//
// The reader is valid until the next call to NextReader or ReadMessage; it
// returns io.EOF at the end of the message. The same reader is reused for
// every message, so keeping it past that point reads from a later message.
// ctx bounds NextReader and every Read on the returned reader.
//
// Only one goroutine may read at a time: a call while another read is in
// progress returns [ErrConcurrentRead]. If ctx ends while waiting for a
// message the error wraps ctx.Err() and the connection stays usable; if it
// ends in the middle of a frame, the position in the stream is lost and
// the connection is failed. After the peer's close frame every read returns
// a [CloseError]; after a protocol violation, the connection is failed
// with the violation's close code and every read returns the same error.
func (c *Conn) NextReader(ctx context.Context) (MessageType, io.Reader, error) {
	if !c.lockRead() {
		return 0, nil, c.busyReadErr(ctx.Done())
	}
	defer c.unlockRead()
	typ, err := c.nextMessage(ctx)
	if err != nil {
		return 0, nil, err
	}
	return typ, c.messages(), nil
}

// ReadMessage waits for the next data message and returns its type and
// whole payload, a new slice owned by the caller. It behaves as
// [Conn.NextReader] followed by reading to the end, with the same rules
// for contexts, errors and concurrency. A message longer than
// [Options.ReadLimit] fails the connection with code 1009.
func (c *Conn) ReadMessage(ctx context.Context) (MessageType, []byte, error) {
	if !c.lockRead() {
		return 0, nil, c.busyReadErr(ctx.Done())
	}
	defer c.unlockRead()
	typ, err := c.nextMessage(ctx)
	if err != nil {
		return 0, nil, err
	}
	c.armRead(ctx)
	b, err := c.readAll()
	c.disarmRead()
	if err != nil {
		return 0, nil, c.readFailure(ctx, err)
	}
	return typ, b, nil
}

// readMessageBorrowed is ReadMessage into a pooled buffer, which the
// caller gives back with giveBack once done with the message.
func (c *Conn) readMessageBorrowed(ctx context.Context) (MessageType, []byte, *[]byte, error) {
	if !c.lockRead() {
		return 0, nil, nil, c.busyReadErr(ctx.Done())
	}
	defer c.unlockRead()
	typ, err := c.nextMessage(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	bp := c.borrowMessageBuf()
	c.armRead(ctx)
	b, err := c.readInto((*bp)[:0])
	c.disarmRead()
	if err != nil {
		putBuf(bp)
		return 0, nil, nil, c.readFailure(ctx, err)
	}
	return typ, b, bp, nil
}

// borrowMessageBuf takes a buffer for the message that starts, sized from
// its first frame's header as readAll sizes its allocation.
func (c *Conn) borrowMessageBuf() *[]byte {
	size := c.r.remain
	if !c.r.h.Fin || c.r.compressed {
		size += 512
	}
	return getBuf(int(min(max(size, 1), maxPrealloc)))
}

// giveBack returns the buffer bp that b was read into. A message that
// outgrew it was read into a larger slice, pooled instead when its size is
// a pool's; bp's own buffer is then left to the collector.
func giveBack(bp *[]byte, b []byte) {
	if bp == nil {
		return
	}
	*bp = b[:cap(b)]
	putBuf(bp)
}

// maxPrealloc bounds the buffer ReadMessage allocates from a frame header
// alone, in case ReadLimit is off and the header lies about a huge payload.
const maxPrealloc = 1 << 20

// readAll reads the rest of the current message into a new slice sized
// from the frame header, so that an unfragmented message costs one
// allocation.
func (c *Conn) readAll() ([]byte, error) {
	if c.r.compressed {
		return c.readAllInflated()
	}
	size := c.r.remain
	if !c.r.h.Fin {
		size += 512
	}
	return c.readInto(make([]byte, 0, min(size, maxPrealloc)))
}

// readAllInflated reads the rest of a compressed message, whose size the
// header does not tell, into a pooled buffer, and returns an exact copy:
// one allocation per message however far it inflates.
func (c *Conn) readAllInflated() ([]byte, error) {
	bp := bufPool.Get().(*[]byte)
	b, err := c.readInto((*bp)[:0])
	var out []byte
	if err == nil {
		out = append(make([]byte, 0, len(b)), b...)
	}
	if cap(b) <= maxPrealloc {
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return out, err
}

// readInto appends the rest of the current message to b. On error it
// returns what it read with the error, so that a pooled b can go back.
func (c *Conn) readInto(b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, c.growth(cap(b)))
		}
		n, err := c.messages().read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// growth is how many bytes to add to a full message buffer of n bytes
// whose size the header did not tell (a compressed or fragmented message):
// as many again, 512 at least, but once that passes half of the most that
// is read of a message (the read limit and one byte more, where a
// compressed one stops), up to all of it. A message that got that far is
// likely to reach it, as a decompression bomb does, and then costs about
// the limit, not the steps of append's growth up to it (four times the
// limit, for 64 KiB).
func (c *Conn) growth(n int) int {
	size := max(2*n, 512)
	if lim := c.cfg.readLimit; lim >= 0 && lim < maxPrealloc && int64(size) > (lim+1)/2 {
		size = max(int(lim+1), n+1)
	}
	return size - n
}

// nextMessage moves to the start of the next data message, under the read
// lock.
func (c *Conn) nextMessage(ctx context.Context) (MessageType, error) {
	if err := c.loadErr(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("conn: read: %w", err)
	}
	c.r.ctx = ctx
	c.armRead(ctx)
	var typ MessageType
	err := c.awaitInput()
	if err == nil {
		typ, err = c.advance()
	}
	c.disarmRead()
	if err != nil {
		return 0, c.readFailure(ctx, err)
	}
	return typ, nil
}

// awaitInput waits for the peer's next bytes when nothing is buffered
// between messages. The wait is the common state of a connection, so it
// happens here, near the top of the read call: the goroutine's stack at
// rest stays small enough for the runtime to shrink it.
func (c *Conn) awaitInput() error {
	if c.in.buffered() > 0 || c.r.msgType != 0 {
		return nil
	}
	c.r.atBoundary = true
	return c.fill(1)
}

// advance discards the rest of the current message, if any, and reads up
// to the first frame of the next one. Messages that start once a close
// frame went either way are discarded: the application asked to close, or
// the peer did (the browser drops them in CLOSING too).
func (c *Conn) advance() (MessageType, error) {
	for {
		if c.r.msgType != 0 {
			if err := c.skipMessage(); err != nil {
				return 0, err
			}
		}
		h, err := c.nextDataFrame(true)
		if err != nil {
			return 0, err
		}
		// RFC 6455, Section 5.4: a fragmented message starts with a
		// text or binary frame; a continuation cannot come first.
		if h.Opcode == frame.OpContinuation {
			return 0, ErrUnexpectedContinuation
		}
		c.r.msgLen = 0
		// RFC 7692, Section 6: RSV1 on the first frame marks a compressed
		// message.
		c.r.compressed = h.RSV1
		if err := c.beginFrame(h); err != nil {
			return 0, err
		}
		if c.r.compressed {
			c.r.inflated = 0
			c.r.dec.Begin((*payloadReader)(c))
		}
		c.r.msgType = MessageType(h.Opcode)
		c.r.utf8.Reset()
		if c.State() == StateOpen {
			return c.r.msgType, nil
		}
	}
}

// skipMessage reads the rest of the current message, which nobody reads,
// through the same checks as if it were read (UTF-8, the read limit,
// inflating), into a borrowed buffer.
func (c *Conn) skipMessage() error {
	bp := getBuf(c.in.size)
	defer putBuf(bp)
	for c.r.msgType != 0 {
		if _, err := c.messages().read(*bp); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// nextDataFrame reads frames until a data frame, handling the control
// frames before it, and returns its header with the payload unread.
// boundary says whether no message is in progress.
func (c *Conn) nextDataFrame(boundary bool) (frame.Header, error) {
	for {
		c.r.atBoundary = boundary
		h, err := c.readHeader()
		if err != nil {
			if err != errWouldBlock {
				c.r.remain = -1 // where the next frame starts is unknown
			}
			return h, err
		}
		c.r.atBoundary = false
		// Until the payload is read, and whatever the header's faults, the
		// stream is known to go on after h.Length bytes: enough to read on
		// for the peer's close frame after failing the connection.
		c.r.remain = h.Length
		if err := h.Check(c.role, c.rsv); err != nil {
			// A close frame, even a malformed one, is the peer's last.
			if h.Opcode == frame.OpClose {
				c.r.closeSeen = true
			}
			return h, err
		}
		if h.RSV1 && (h.Opcode.IsControl() || h.Opcode == frame.OpContinuation) {
			return h, errRSV1
		}
		if !h.Opcode.IsControl() {
			return h, nil
		}
		if err := c.handleControl(h); err != nil {
			return h, err
		}
	}
}

// beginFrame makes h the current data frame of the message.
func (c *Conn) beginFrame(h frame.Header) error {
	// The limit is checked on the header, before any payload is read, so
	// a peer cannot make the connection read a byte more than it allows.
	// A compressed message is held to its inflated size as it inflates
	// (messageReader.read); on the wire it may exceed that size a little,
	// as incompressible data does once coded, but not without bound.
	if lim := c.wireLimit(c.r.compressed); lim >= 0 && h.Length > lim-c.r.msgLen {
		return ErrReadLimit
	}
	c.r.h = h
	c.r.remain = h.Length
	c.r.maskPos = 0
	c.r.msgLen += h.Length
	return nil
}

// wireLimit is the most a message may take on the wire, negative for no
// limit: the read limit, and for a compressed message, held to the limit
// as it inflates, an eighth and 1 KiB more, what incompressible data grows
// by once coded.
func (c *Conn) wireLimit(compressed bool) int64 {
	lim := c.cfg.readLimit
	if lim >= 0 && compressed {
		lim += lim/8 + 1024
	}
	return lim
}

// readFailure turns an error from the read path into what the caller gets,
// failing the connection when the stream can no longer be trusted.
func (c *Conn) readFailure(ctx context.Context, err error) error {
	if err == errWouldBlock {
		return err // in a Loop, at a frame boundary: nothing is lost
	}
	if errors.Is(err, ErrKeepalive) && !c.tcpClosed.Load() {
		return c.failWith(frame.CloseGoingAway, "keepalive timeout", err, false)
	}
	if isCloseError(err) {
		return err // the closing handshake already ran
	}
	if c.tcpClosed.Load() {
		if cause := c.loadErr(); cause != nil {
			return cause // closed under the read: report why
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		werr := fmt.Errorf("conn: read: %w", ctxErr)
		if c.r.atBoundary {
			return werr
		}
		// The caller gave up, not the peer: end at once rather than wait
		// for a peer that may never finish its frame.
		return c.failWith(frame.CloseGoingAway, "", werr, false)
	}
	if pe, ok := asProtocolError(err); ok {
		return c.failWith(pe.Code, pe.Reason, fmt.Errorf("conn: %w", err), true)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return c.fail(abnormal(err))
}

// messageReader is the reader NextReader returns. The path of a payload is
// frame payload (payloadReader) -> [decompressor, once an extension needs one] ->
// UTF-8 check -> caller.
type messageReader Conn

// messages returns the connection's message reader.
func (c *Conn) messages() *messageReader { return (*messageReader)(c) }

// Read reads payload bytes of the current message; see [Conn.NextReader].
func (r *messageReader) Read(p []byte) (int, error) {
	c := (*Conn)(r)
	if !c.lockRead() {
		return 0, c.busyReadErr(nil)
	}
	defer c.unlockRead()
	if err := c.loadErr(); err != nil {
		return 0, err
	}
	if c.r.msgType == 0 {
		return 0, io.EOF
	}
	ctx := c.r.ctx
	if err := ctx.Err(); err != nil {
		return 0, c.readFailure(ctx, err)
	}
	c.armRead(ctx)
	n, err := r.read(p)
	c.disarmRead()
	if err != nil && err != io.EOF {
		return 0, c.readFailure(ctx, err)
	}
	return n, err
}

// read is Read under the read lock.
func (r *messageReader) read(p []byte) (int, error) {
	c := (*Conn)(r)
	if c.r.msgType == 0 {
		return 0, io.EOF
	}
	var n int
	var err error
	if c.r.compressed {
		n, err = r.inflate(p)
		if err != nil && err != io.EOF {
			c.endInflating(err)
			return 0, err
		}
	} else {
		n, err = (*payloadReader)(c).Read(p)
	}
	if c.r.msgType == MessageText {
		// RFC 6455, Section 8.1: "When an endpoint is to interpret a
		// byte stream as UTF-8 but finds that the byte stream is not, in
		// fact, a valid UTF-8 stream, that endpoint MUST _Fail the
		// WebSocket Connection_." Checked chunk by chunk, so a message
		// fails at its first bad byte, not at its end.
		if _, ok := c.r.utf8.Feed(p[:n]); !ok {
			c.endInflating(frame.ErrInvalidUTF8)
			return 0, frame.ErrInvalidUTF8
		}
		if err == io.EOF && !c.r.utf8.Complete() {
			return 0, frame.ErrInvalidUTF8
		}
	}
	if err == io.EOF {
		c.r.msgType = 0
	}
	return n, err
}

// inflate reads decompressed bytes of the current message. The read limit
// applies to the inflated size, checked as it grows, so a small frame that
// inflates to a huge message stops at the limit with 1009 (RFC 6455,
// Section 7.4.1: "a message that is too big for it to process").
func (r *messageReader) inflate(p []byte) (int, error) {
	c := (*Conn)(r)
	lim := c.cfg.readLimit
	if lim >= 0 && int64(len(p)) > lim-c.r.inflated+1 {
		p = p[:lim-c.r.inflated+1]
	}
	n, err := c.r.dec.Read(p)
	c.r.inflated += int64(n)
	if lim >= 0 && c.r.inflated > lim {
		return 0, ErrReadLimit
	}
	if err == io.EOF {
		c.r.dec.End()
		c.r.compressed = false
	}
	return n, inflateErr(err)
}

// endInflating gives the decoder's buffers back when the message being
// inflated fails with err, a protocol error (1007 for corrupt data or
// invalid UTF-8, 1009 past the read limit): the connection fails with its
// code and the message is never read further, so they would otherwise go
// to the collector rather than to the pool. Other errors leave the message
// as it is.
func (c *Conn) endInflating(err error) {
	if !c.r.compressed {
		return
	}
	if _, ok := asProtocolError(err); ok {
		c.r.dec.End()
	}
}

// payloadReader reads the payload of the current message across its
// frames, unmasked, handling control frames between fragments. It returns
// io.EOF at the end of the final frame.
type payloadReader Conn

func (pr *payloadReader) Read(p []byte) (int, error) {
	c := (*Conn)(pr)
	for c.r.remain == 0 {
		if c.r.h.Fin {
			return 0, io.EOF
		}
		h, err := c.nextDataFrame(false)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // io.EOF here means the end of the message
			}
			return 0, err
		}
		// RFC 6455, Section 5.4: fragments of one message are not
		// interleaved with another message's.
		if h.Opcode != frame.OpContinuation {
			return 0, ErrExpectedContinuation
		}
		if err := c.beginFrame(h); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.r.remain {
		p = p[:c.r.remain]
	}
	n, err := c.readSome(p)
	if n > 0 {
		if c.r.h.Masked {
			c.r.maskPos = frame.Mask(c.r.h.MaskKey, c.r.maskPos, p[:n])
		}
		c.r.remain -= int64(n)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	if c.r.remain == 0 && c.r.h.Fin {
		return n, io.EOF
	}
	return n, nil
}
