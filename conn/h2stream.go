package conn

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// h2Chunk is the most a stream reads from its body at once: a DATA frame
// of the HTTP/2 default SETTINGS_MAX_FRAME_SIZE, twice.
const h2Chunk = 32 << 10

// h2Stream is a net.Conn over one HTTP/2 stream (RFC 8441): what the peer
// sends comes from body, what is written goes out through write, which sends
// (and flushes) it as DATA frames. A Conn runs on it as on a TCP connection.
//
// Its deadlines are its own. Those of net/http's HTTP/2 streams cannot stand
// in for them: an expired read deadline there breaks the body for good and
// an expired write deadline resets the stream, while a Conn sets deadlines
// that expire and then moves on (keepalive, a context ending a wait). So
// body is read by a goroutine of the stream's own, one chunk at a time,
// which Read waits for under its deadline. A write, which flow control may
// hold for as long as the peer does not read, cannot be interrupted but by
// ending the stream: when its deadline expires while it is blocked, abort
// resets the stream, and the write fails, as the Conn expects a write that
// timed out to leave the stream unusable.
type h2Stream struct {
	body    io.ReadCloser
	write   func(p []byte) (int, error)
	abort   func() // resets the stream, unblocking a write
	release func() // ends the stream once the stream is closed
	endSend func() // ends the sending side (CloseWrite)
	local   net.Addr
	remote  net.Addr

	// The reading side. The pump sends each chunk it read and waits for
	// more until Read used it up.
	readMu    sync.Mutex
	startPump sync.Once
	chunks    chan h2ChunkRead
	more      chan struct{}
	pumpDone  chan struct{}
	rest      []byte // guarded by readMu: what Read has not returned of the chunk
	rerr      error  // guarded by readMu: the body's error, once reached
	rtimer    *time.Timer

	writeMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	rdl, wdl time.Time
	rwake    chan struct{} // signalled when the read deadline moves; room for one
	writing  bool
	wtimer   *time.Timer
	wexpired bool // a write was aborted at its deadline: the stream is gone

	closeOnce sync.Once
	closed    chan struct{}
}

type h2ChunkRead struct {
	b   []byte
	err error
}

// newH2Stream returns a stream over body and write; see [h2Stream] for abort,
// release and endSend, which must not block for long.
func newH2Stream(body io.ReadCloser, write func([]byte) (int, error), abort, release, endSend func(), local, remote net.Addr) *h2Stream {
	return &h2Stream{
		body: body, write: write, abort: abort, release: release, endSend: endSend,
		local: local, remote: remote,
		chunks:   make(chan h2ChunkRead),
		more:     make(chan struct{}, 1),
		pumpDone: make(chan struct{}),
		rwake:    make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
}

// pump reads body until it ends or the stream closes, handing each chunk to
// Read and waiting for Read to use it up before it reads the next one into
// the same buffer.
func (s *h2Stream) pump() {
	defer close(s.pumpDone)
	buf := make([]byte, h2Chunk)
	for {
		n, err := s.body.Read(buf)
		if n == 0 && err == nil {
			continue
		}
		select {
		case s.chunks <- h2ChunkRead{buf[:n], err}:
		case <-s.closed:
			return
		}
		if err != nil {
			return
		}
		select {
		case <-s.more:
		case <-s.closed:
			return
		}
	}
}

// Read reads what the peer sent on the stream, waiting no later than the
// read deadline. A read that times out loses nothing: the next one returns
// the data.
func (s *h2Stream) Read(p []byte) (int, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for len(s.rest) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		if err := s.await(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	if len(s.rest) == 0 && s.rerr == nil {
		s.more <- struct{}{} // the pump waits for it; the channel has room for one
	}
	return n, nil
}

// await waits for the next chunk from the pump, under the read deadline.
// Called with readMu held.
func (s *h2Stream) await() error {
	s.startPump.Do(func() { go s.pump() })
	for {
		s.mu.Lock()
		d := s.rdl
		s.mu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			wait := time.Until(d)
			if wait <= 0 {
				return os.ErrDeadlineExceeded
			}
			if s.rtimer == nil {
				s.rtimer = time.NewTimer(wait)
			} else {
				s.rtimer.Reset(wait)
			}
			expired = s.rtimer.C
		}
		select {
		case c := <-s.chunks:
			s.stopReadTimer()
			s.rest, s.rerr = c.b, c.err
			return nil
		case <-expired:
			return os.ErrDeadlineExceeded
		case <-s.rwake:
			s.stopReadTimer()
		case <-s.closed:
			s.stopReadTimer()
			return net.ErrClosed
		}
	}
}

func (s *h2Stream) stopReadTimer() {
	if s.rtimer != nil {
		s.rtimer.Stop()
	}
}

// Write sends p on the stream. One write at a time reaches the stream, in
// order; its deadline is the write deadline, at which a write still blocked
// ends the stream.
func (s *h2Stream) Write(p []byte) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	select {
	case <-s.closed:
		return 0, net.ErrClosed
	default:
	}
	s.mu.Lock()
	if s.wexpired {
		s.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	if !s.wdl.IsZero() && !time.Now().Before(s.wdl) {
		s.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	s.writing = true
	s.armWriteTimer()
	s.mu.Unlock()

	n, err := s.write(p)

	s.mu.Lock()
	s.writing = false
	if s.wtimer != nil {
		s.wtimer.Stop()
	}
	expired := s.wexpired
	s.mu.Unlock()
	if expired {
		return n, os.ErrDeadlineExceeded
	}
	select {
	case <-s.closed:
		if err != nil {
			return n, net.ErrClosed
		}
	default:
	}
	return n, err
}

// armWriteTimer starts the timer of the write in progress for the write
// deadline. Called with mu held.
func (s *h2Stream) armWriteTimer() {
	if s.wdl.IsZero() {
		if s.wtimer != nil {
			s.wtimer.Stop()
		}
		return
	}
	wait := time.Until(s.wdl)
	if s.wtimer == nil {
		s.wtimer = time.AfterFunc(wait, s.writeDue)
	} else {
		s.wtimer.Reset(wait)
	}
}

// writeDue runs when the write timer fires: if a write is still blocked
// past the deadline (the timer may fire late, after the deadline moved or
// the write ended), the stream is reset so that the write returns.
func (s *h2Stream) writeDue() {
	s.mu.Lock()
	due := s.writing && !s.wdl.IsZero() && !time.Now().Before(s.wdl)
	if due {
		s.wexpired = true
	}
	s.mu.Unlock()
	if due {
		s.abort()
	}
}

// Close ends the stream: Read and Write return net.ErrClosed, the body is
// closed and the pump has ended when it returns.
func (s *h2Stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.body.Close()
		s.release()
		s.startPump.Do(func() { close(s.pumpDone) }) // never started
		<-s.pumpDone
	})
	return nil
}

// CloseWrite ends the sending side, as the Conn asks of a server that has
// sent its close frame and can no longer follow the peer's frames
// (drain.go): the peer reads to the end of the stream and ends its side.
func (s *h2Stream) CloseWrite() error {
	s.endSend()
	return nil
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

func (s *h2Stream) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; a Read waiting sees it at once.
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdl = t
	s.mu.Unlock()
	select {
	case s.rwake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// SetWriteDeadline sets the write deadline; a write in progress is held to
// it at once.
func (s *h2Stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.wdl = t
	if s.writing {
		s.armWriteTimer()
	}
	s.mu.Unlock()
	return nil
}

// h2Addr is the address of an HTTP/2 peer, as net/http reports it.
type h2Addr string

func (a h2Addr) Network() string { return "tcp" }
func (a h2Addr) String() string  { return string(a) }
