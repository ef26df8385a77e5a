package servertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// UpgradeFields are the header fields of a WebSocket opening handshake
// (RFC 6455, Section 4.1) besides Host, with the sample key of Section 1.3.
var UpgradeFields = []string{
	"Upgrade: websocket",
	"Connection: Upgrade",
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
	"Sec-WebSocket-Version: 13",
}

// setupConcurrency bounds the connections being set up at once, so that a
// thousand of them do not overflow the listener's accept queue.
const setupConcurrency = 64

// Head returns a GET request head for path on host with fields ("Name:
// value" each) and an X-Pad field sized so that the head, final empty line
// included, is exactly size bytes.
func Head(t testing.TB, host, path string, size int, fields ...string) string {
	t.Helper()
	head := requestLine(host, path, fields)
	pad := size - len(head) - len("X-Pad: \r\n\r\n")
	if pad < 0 {
		t.Fatalf("servertest: a head of %d bytes cannot hold %d bytes of fields", size, len(head))
	}
	return head + "X-Pad: " + strings.Repeat("x", pad) + "\r\n\r\n"
}

// HeadLines returns a GET request head for path on host with fields and
// then n more short header lines.
func HeadLines(host, path string, n int, fields ...string) string {
	var b strings.Builder
	b.WriteString(requestLine(host, path, fields))
	for i := range n {
		fmt.Fprintf(&b, "X-Pad-%d: x\r\n", i)
	}
	b.WriteString("\r\n")
	return b.String()
}

func requestLine(host, path string, fields []string) string {
	head := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
	for _, f := range fields {
		head += f + "\r\n"
	}
	return head
}

// Reply is the server's answer to one request sent by [Send].
type Reply struct {
	// Status is the response's status code.
	Status int

	nc    net.Conn
	br    *bufio.Reader
	body  io.ReadCloser
	wrote chan struct{}
}

// Send connects to addr and writes head while it reads the response, as a
// client must when the server may answer before it read the whole request.
// A write that fails once the server answered is not an error: a server
// that refuses a head need not read the rest of it. Everything is bounded
// by timeout. Close the reply when done.
func Send(addr, head string, timeout time.Duration) (*Reply, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		nc.Close()
		return nil, err
	}
	r := &Reply{nc: nc, br: bufio.NewReader(nc), wrote: make(chan struct{})}
	go func() {
		defer close(r.wrote)
		_, _ = io.WriteString(nc, head)
	}()
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("servertest: read response: %w", err)
	}
	r.Status, r.body = resp.StatusCode, resp.Body
	return r, nil
}

// Closed reports whether the server closes the connection (end of stream
// or reset), after the response's body, within timeout.
func (r *Reply) Closed(timeout time.Duration) bool {
	if err := r.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return false
	}
	if _, err := io.Copy(io.Discard, r.body); err != nil {
		return closedByPeer(err)
	}
	_, err := io.Copy(io.Discard, r.br)
	return err == nil || closedByPeer(err) // io.Copy reports io.EOF as nil
}

// Close closes the connection and waits for the writer.
func (r *Reply) Close() {
	_ = r.nc.Close()
	<-r.wrote
}

// closedByPeer reports whether a read error means the peer closed the
// connection: an orderly end, or a reset because it did not read all we sent.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// Idle is a set of keep-alive connections left idle after one request each.
type Idle struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// closedAfter holds, per connection, the time from its dial to the
	// server's close, or 0 if the server did not close it.
	closedAfter []time.Duration
}

// OpenIdle opens n connections to addr; on each it sends request, a
// complete HTTP request, reads the response, which must be 200 and keep the
// connection alive, and then sends nothing more, waiting for the server to
// close the connection, at most wait after it was opened. OpenIdle returns
// once every connection has had its response, or with the first failure.
func OpenIdle(addr string, n int, request string, wait time.Duration) (*Idle, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Idle{cancel: cancel, closedAfter: make([]time.Duration, n)}
	responded := make(chan error, n)
	setup := make(chan struct{}, setupConcurrency)
	for i := range n {
		s.wg.Go(func() {
			setup <- struct{}{}
			released := false
			release := func(err error) {
				if !released {
					released = true
					<-setup
					responded <- err
				}
			}
			defer release(errors.New("servertest: connection ended before its response"))
			s.closedAfter[i] = idleOne(ctx, addr, request, wait, release)
		})
	}
	for range n {
		if err := <-responded; err != nil {
			cancel()
			s.wg.Wait()
			return nil, err
		}
	}
	return s, nil
}

// idleOne runs one connection of OpenIdle. It calls responded once the
// response has been read, or with the error that prevented it, and returns
// the time from the dial to the server's close (0 if it did not close).
func idleOne(ctx context.Context, addr, request string, wait time.Duration, responded func(error)) time.Duration {
	start := time.Now()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		responded(err)
		return 0
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { _ = nc.Close() })()
	if err := nc.SetDeadline(start.Add(wait)); err != nil {
		responded(err)
		return 0
	}
	if _, err := io.WriteString(nc, request); err != nil {
		responded(err)
		return 0
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	switch {
	case err != nil:
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("servertest: status %d", resp.StatusCode)
	case resp.Close:
		err = errors.New("servertest: the response does not keep the connection alive")
	}
	responded(err)
	if err != nil {
		return 0
	}
	if _, err := br.ReadByte(); !closedByPeer(err) {
		return 0 // sent more than its response, or left open until wait
	}
	return time.Since(start)
}

// Wait waits until every connection has ended and reports how many the
// server closed, and the shortest time from opening one to its close.
func (s *Idle) Wait() (closed int, shortest time.Duration) {
	s.wg.Wait()
	s.cancel()
	for _, d := range s.closedAfter {
		if d > 0 {
			closed++
			if shortest == 0 || d < shortest {
				shortest = d
			}
		}
	}
	return closed, shortest
}

// CheckHeadLimits sends request heads at and around the handshake's default
// limits (handshake.DefaultLimits: 8 KiB, 64 lines) to a server at addr, one
// connection each, and fails t unless: every head over 8 KiB gets 431 and
// a closed connection, on the WebSocket endpoint wsPath and on plainPath
// alike; a WebSocket handshake of over 64 lines gets 431 too; and a head of
// exactly 8 KiB or 64 lines is served (101 on wsPath, 200 on plainPath).
func CheckHeadLimits(t *testing.T, addr, wsPath, plainPath string) {
	t.Helper()
	const tooLarge = http.StatusRequestHeaderFieldsTooLarge
	ws := UpgradeFields
	for _, tc := range []struct {
		name   string
		head   string
		status int
	}{
		{"ws-1MiB", Head(t, addr, wsPath, 1<<20, ws...), tooLarge},
		{"ws-20000-lines", HeadLines(addr, wsPath, 20000, ws...), tooLarge},
		{"ws-8KiB+1", Head(t, addr, wsPath, 8<<10+1, ws...), tooLarge},
		{"ws-8KiB", Head(t, addr, wsPath, 8<<10, ws...), http.StatusSwitchingProtocols},
		// Host and the four handshake fields count: 5 + 60 = 65 lines.
		{"ws-65-lines", HeadLines(addr, wsPath, 60, ws...), tooLarge},
		{"ws-64-lines", HeadLines(addr, wsPath, 59, ws...), http.StatusSwitchingProtocols},
		{"plain-1MiB", Head(t, addr, plainPath, 1<<20), tooLarge},
		{"plain-8KiB+1", Head(t, addr, plainPath, 8<<10+1), tooLarge},
		{"plain-8KiB", Head(t, addr, plainPath, 8<<10), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Send(addr, tc.head, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Status != tc.status {
				t.Errorf("status %d, want %d", r.Status, tc.status)
			}
			if tc.status == tooLarge && !r.Closed(time.Minute) {
				t.Error("the connection is still open after 431")
			}
		})
	}
}
