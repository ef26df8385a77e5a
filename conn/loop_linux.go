//go:build linux

package conn

import (
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"duplex/frame"
)

// readyLoop is a Loop's readiness-driven half on Linux: one goroutine
// waits on epoll for every connection's socket, a bounded pool of workers
// handles the connections that are ready, and one timer looks at the
// deadlines of all of them.
//
// Each descriptor is registered once, edge-triggered: epoll reports what
// changed, and a connection's busy flag, not epoll, makes sure one worker
// at a time has it, so the read path needs no lock of its own; what
// reports while a worker has it waits in its ready bits.
type readyLoop struct {
	l       *Loop
	epfd    int
	wakefd  int            // an eventfd that stops the poller
	tasks   chan *evConn   // ready connections, for the workers
	mu      sync.RWMutex   // guards conns
	conns   []*evConn      // by descriptor
	active  sync.WaitGroup // connections not yet finished
	stop    chan struct{}
	pollers sync.WaitGroup // the poller and the timer
	workers sync.WaitGroup
}

// loopTick is how often the loop's timer looks at deadlines: the
// precision of keepalive and of the drain's pause, for a few microseconds
// per thousand connections.
const loopTick = 100 * time.Millisecond

func newReadyLoop(l *Loop) (*readyLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return nil, err
	}
	r := &readyLoop{l: l, epfd: epfd, wakefd: wakefd, tasks: make(chan *evConn, 1024), stop: make(chan struct{})}
	r.pollers.Add(2)
	go r.poll()
	go r.tick()
	r.workers.Add(l.opts.Workers)
	for range l.opts.Workers {
		go r.work()
	}
	return r, nil
}

// adopt takes c over, if it is a server connection over a socket: the
// loop's own descriptor replaces the net.Conn, which is closed.
func (r *readyLoop) adopt(c *Conn, h Handler) bool {
	if c.role != frame.RoleServer || c.State() != StateOpen {
		return false
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if cerr := rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); cerr != nil || err != nil {
		return false
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return false
	}
	ev := &evConn{c: c, l: r, fd: int32(fd), h: h, busy: true, ready: evRead}
	old := c.nc
	c.nc, c.ev = ev, ev
	c.in.raw, c.in.rawOK, c.in.pooled = nil, false, true
	c.r.watch, c.w.watch = nil, nil
	_ = old.Close()
	if c.ka != nil {
		ev.deadline.Store(c.ka.next().UnixNano())
	}
	if h.OnOpen != nil {
		h.OnOpen()
	}
	r.active.Add(1)
	r.mu.Lock()
	for len(r.conns) <= fd {
		r.conns = append(r.conns, nil)
	}
	r.conns[fd] = ev
	r.mu.Unlock()
	// Registered edge-triggered, once for the connection's life: epoll
	// reports each change (input arrived, the peer hung up, room to write
	// after a write found none), never a state that did not change, so a
	// connection costs no epoll_ctl per event. It starts busy, so that a
	// worker first reads what the handshake left buffered; what epoll
	// reports meanwhile waits in ready.
	_ = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)})
	r.tasks <- ev
	return true
}

// remove forgets a finished connection, before its descriptor is closed.
func (r *readyLoop) remove(ev *evConn) {
	r.mu.Lock()
	if int(ev.fd) < len(r.conns) && r.conns[int(ev.fd)] == ev {
		r.conns[int(ev.fd)] = nil
	}
	r.mu.Unlock()
}

// poll waits on epoll and hands what reports to the workers.
func (r *readyLoop) poll() {
	defer r.pollers.Done()
	events := make([]unix.EpollEvent, 256)
	// After a batch of events the poller looks again without blocking, and
	// once more after letting the workers run, before it blocks: under
	// load, events keep coming, and a wait that does not block keeps this
	// goroutine's thread and processor, where a blocking one gives them up
	// and must win them back, waking threads both ways, for every batch.
	timeout, tries := -1, 0
	for {
		n, err := unix.EpollWait(r.epfd, events, timeout)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		if n == 0 {
			if tries++; tries < 2 {
				runtime.Gosched()
			} else {
				timeout = -1
			}
			continue
		}
		timeout, tries = 0, 0
		for _, e := range events[:n] {
			fd := int(e.Fd)
			if fd == r.wakefd {
				return
			}
			r.mu.RLock()
			var ev *evConn
			if fd < len(r.conns) {
				ev = r.conns[fd]
			}
			r.mu.RUnlock()
			if ev == nil {
				continue
			}
			var what uint8
			if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				what |= evRead
			}
			if e.Events&unix.EPOLLOUT != 0 {
				what |= evWrite
			}
			ev.schedule(what)
		}
	}
}

// tick looks at every connection's deadlines every loopTick.
func (r *readyLoop) tick() {
	defer r.pollers.Done()
	t := time.NewTicker(loopTick)
	defer t.Stop()
	var due []*evConn
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			due = r.dueAt(now.UnixNano(), due[:0])
			for _, ev := range due {
				ev.schedule(evTimer)
			}
		}
	}
}

// dueAt appends the connections with a deadline passed at now to due.
func (r *readyLoop) dueAt(now int64, due []*evConn) []*evConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, ev := range r.conns {
		if ev == nil {
			continue
		}
		d, out := ev.deadline.Load(), ev.outSince.Load()
		wt := ev.c.cfg.writeTimeout
		if (d != 0 && now >= d) || (out != 0 && wt > 0 && now-out > int64(wt)) {
			due = append(due, ev)
		}
	}
	return due
}

func (r *readyLoop) work() {
	defer r.workers.Done()
	for ev := range r.tasks {
		ev.run()
	}
}

// shutdown closes every connection with 1001, waits until all finished,
// and stops the loop's goroutines.
func (r *readyLoop) shutdown() {
	r.mu.RLock()
	open := make([]*evConn, 0, len(r.conns))
	for _, ev := range r.conns {
		if ev != nil {
			open = append(open, ev)
		}
	}
	r.mu.RUnlock()
	for _, ev := range open {
		_ = ev.c.Close(frame.CloseGoingAway, "")
	}
	r.active.Wait() // each connection's close timer bounds its wait
	close(r.stop)
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(r.wakefd, one[:])
	r.pollers.Wait() // nothing sends on tasks any more
	close(r.tasks)
	r.workers.Wait()
	_ = unix.Close(r.epfd)
	_ = unix.Close(r.wakefd)
}
