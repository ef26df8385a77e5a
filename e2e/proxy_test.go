package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/frame"
)

// proxy stands on loopback between the page and the chat server, so that a test can do to the page's
// connections what a network does: cut them, refuse new ones as if the server were down, lose one chosen
// message on its way to the page, or close with a code of its choice. The page is loaded through it too,
// so the page's own origin is the proxy's.
//
// It strips Sec-WebSocket-Extensions from upgrade requests, so that what the server sends is plain
// frames it can read (RFC 6455, Section 5.2) rather than compressed ones.
type proxy struct {
	t        testing.TB
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu      sync.Mutex
	down    bool
	noWS    bool // refuse WebSocket upgrades only
	links   map[*link]struct{}
	ws      int                         // WebSocket upgrade requests forwarded so far
	cutOn   func(payload []byte) bool   // a server text message that cuts its link instead of reaching the page
	holdOn  func(payload []byte) bool   // a server text message held back until release
	held    []byte                      // that message as a frame, once held
	heldOn  *link                       // the connection it came on
	rewrite func(payload []byte) []byte // applied to each server text message before it goes on
	toPage  []timed                     // every text message the server sent the page, in order
	toSrv   []timed                     // every text message the page sent, unmasked, in order
}

// timed is a text message that passed the proxy at a time, on its n-th WebSocket connection (from 1).
// A message from the server is kept as the server sent it, before any rewrite.
type timed struct {
	at      time.Time
	n       int
	payload []byte
}

// link is one forwarded connection.
type link struct {
	client, server net.Conn
	wmu            sync.Mutex // orders writes to client: forwarded frames and injected close frames
}

func (l *link) cut() {
	_ = l.client.Close()
	_ = l.server.Close()
}

func startProxy(t testing.TB, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{t: t, ln: ln, upstream: upstream, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url(path string) string { return "http://" + p.ln.Addr().String() + path }

func (p *proxy) close() {
	_ = p.ln.Close()
	p.cutAll()
	p.wg.Wait()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

// setDown makes the proxy refuse (accept and close at once) every new connection while down is true, as
// a stopped server would; the page sees its attempts fail with 1006.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// refuseWebSockets makes the proxy refuse WebSocket upgrades while refuse is true, and still pass plain
// HTTP, so that the page can load while its socket cannot connect.
func (p *proxy) refuseWebSockets(refuse bool) {
	p.mu.Lock()
	p.noWS = refuse
	p.mu.Unlock()
}

// cutAll drops every forwarded connection without a closing handshake, as a lost network does.
func (p *proxy) cutAll() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.cut()
	}
}

// cutWhen arms the proxy: the first server text message for which match is true is not forwarded, and
// its connection is cut on both sides. It disarms itself after that one.
func (p *proxy) cutWhen(match func(payload []byte) bool) {
	p.mu.Lock()
	p.cutOn = match
	p.mu.Unlock()
}

// holdWhen arms the proxy: the first server text message for which match is true is held back, while
// those after it go on, until release. It disarms itself after that one.
func (p *proxy) holdWhen(match func(payload []byte) bool) {
	p.mu.Lock()
	p.holdOn = match
	p.mu.Unlock()
}

// release forwards the held message, and reports whether there was one.
func (p *proxy) release() bool {
	p.mu.Lock()
	b, l := p.held, p.heldOn
	p.held, p.heldOn = nil, nil
	p.mu.Unlock()
	if l == nil {
		return false
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, err := l.client.Write(b)
	return err == nil
}

// rewriteWith makes the proxy pass every server text message through fn on its way to the page.
func (p *proxy) rewriteWith(fn func(payload []byte) []byte) {
	p.mu.Lock()
	p.rewrite = fn
	p.mu.Unlock()
}

// announceLimits makes the proxy change the limits of every welcome with set, so that the page believes
// in other limits than the server holds it to.
func (p *proxy) announceLimits(set func(limits map[string]any)) {
	p.rewriteWith(func(b []byte) []byte {
		var ev map[string]any
		if !bytes.Contains(b, []byte(`"type":"welcome"`)) || json.Unmarshal(b, &ev) != nil {
			return b
		}
		limits, ok := ev["limits"].(map[string]any)
		if !ok {
			return b
		}
		set(limits)
		out, err := json.Marshal(ev)
		if err != nil {
			return b
		}
		return out
	})
}

// timeline returns copies of what passed each way so far.
func (p *proxy) timeline() (toPage, toServer []timed) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.toPage), slices.Clone(p.toSrv)
}

// closeClients sends every page connection a close frame with code and reason, as if the server had, and
// then cuts it.
func (p *proxy) closeClients(code frame.CloseCode, reason string) {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	payload, err := frame.AppendClosePayload(nil, code, reason)
	require.NoError(p.t, err)
	msg := append(frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpClose, Length: int64(len(payload))}), payload...)
	for _, l := range links {
		l.wmu.Lock()
		_, _ = l.client.Write(msg)
		l.wmu.Unlock()
		l.cut()
	}
}

// webSockets is the number of WebSocket upgrade requests the proxy has forwarded.
func (p *proxy) webSockets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ws
}

// countToPage counts the server's text messages to the page that contain sub.
func (p *proxy) countToPage(sub string) int { return len(p.toPageMatching(sub)) }

func (p *proxy) handle(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		_ = c.Close()
		return
	}
	cr := bufio.NewReader(c)
	head, upgrade, err := readHead(cr)
	p.mu.Lock()
	refuse := upgrade && p.noWS
	n := 0
	if upgrade && !refuse && err == nil {
		p.ws++
		n = p.ws
	}
	p.mu.Unlock()
	if err != nil || refuse {
		_ = c.Close()
		return
	}
	s, err := net.Dial("tcp", p.upstream)
	if err != nil {
		_ = c.Close()
		return
	}
	l := &link{client: c, server: s}
	p.mu.Lock()
	p.links[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		l.cut()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()

	if _, err := s.Write(head); err != nil {
		return
	}
	sr := bufio.NewReader(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if upgrade {
			p.pumpToServer(l, cr, n)
		} else {
			_, _ = io.Copy(s, cr)
		}
		l.cut()
	}()
	defer func() {
		l.cut()
		<-done
	}()
	if !upgrade {
		_, _ = io.Copy(c, sr)
		return
	}
	resp, _, err := readHead(sr)
	if err != nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		_, _ = c.Write(resp)
		_, _ = io.Copy(c, sr)
		return
	}
	if _, err := c.Write(resp); err != nil {
		return
	}
	p.pumpFrames(l, sr, n)
}

// pumpToServer forwards the page's frames to the server as they are, keeping an unmasked copy of each
// text message.
func (p *proxy) pumpToServer(l *link, cr *bufio.Reader, n int) {
	var buf []byte
	for {
		h, err := frame.ReadHeader(cr)
		if err != nil || h.Length > 1<<24 {
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(cr, payload); err != nil {
			return
		}
		buf = append(frame.AppendHeader(buf[:0], h), payload...)
		// Kept before it is forwarded, so that a test that sees the server's answer finds the request.
		if h.Opcode == frame.OpText && h.Fin {
			if h.Masked {
				// RFC 6455, Section 5.3: every frame from the client is masked with its key.
				frame.Mask(h.MaskKey, 0, payload)
			}
			p.mu.Lock()
			p.toSrv = append(p.toSrv, timed{time.Now(), n, payload})
			p.mu.Unlock()
		}
		if _, err := l.server.Write(buf); err != nil {
			return
		}
	}
}

// sentByPage returns the text messages the page sent that contain sub.
func (p *proxy) sentByPage(sub string) [][]byte { return p.matching(&p.toSrv, 0, sub) }

// toPageMatching returns the server's text messages to the page that contain sub.
func (p *proxy) toPageMatching(sub string) [][]byte { return p.matching(&p.toPage, 0, sub) }

// toPageOn returns the server's text messages on the n-th WebSocket connection that contain sub.
func (p *proxy) toPageOn(n int, sub string) [][]byte { return p.matching(&p.toPage, n, sub) }

// matching returns the payloads of the messages in *list (read under p.mu) that contain sub, on the
// n-th WebSocket connection, or on any when n is 0.
func (p *proxy) matching(list *[]timed, n int, sub string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	for _, m := range *list {
		if (n == 0 || m.n == n) && bytes.Contains(m.payload, []byte(sub)) {
			out = append(out, m.payload)
		}
	}
	return out
}

// refusal returns the one error event with code that the server sent the page, failing the test
// unless there is exactly one.
func (p *proxy) refusal(t testing.TB, code string) chat.Event {
	t.Helper()
	refusals := p.toPageMatching(jsString(code))
	require.Len(t, refusals, 1)
	var refusal chat.Event
	require.NoError(t, json.Unmarshal(refusals[0], &refusal))
	return refusal
}

// pumpFrames forwards the server's frames to the page one by one, looking at each text message.
func (p *proxy) pumpFrames(l *link, sr *bufio.Reader, n int) {
	var buf []byte
	for {
		h, err := frame.ReadHeader(sr)
		if err != nil {
			return
		}
		if h.Length > 1<<24 {
			return // not what this server sends; a test proxy need not carry it
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(sr, payload); err != nil {
			return
		}
		if h.Opcode == frame.OpText && h.Fin {
			p.mu.Lock()
			p.toPage = append(p.toPage, timed{time.Now(), n, payload})
			cut := p.cutOn != nil && p.cutOn(payload)
			if cut {
				p.cutOn = nil
			}
			rewrite := p.rewrite
			hold := !cut && p.holdOn != nil && p.holdOn(payload)
			if hold {
				p.holdOn = nil
				p.held, p.heldOn = append(frame.AppendHeader(nil, h), payload...), l
			}
			p.mu.Unlock()
			if cut {
				return
			}
			if hold {
				continue
			}
			if rewrite != nil {
				payload = rewrite(payload)
				h.Length = int64(len(payload))
			}
		}
		buf = append(frame.AppendHeader(buf[:0], h), payload...)
		l.wmu.Lock()
		_, err = l.client.Write(buf)
		l.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// readHead reads an HTTP/1.1 request or response head. It drops Sec-WebSocket-Extensions, and asks for
// the connection to close after a request that is not an upgrade, so that every request the proxy sees
// starts a connection of its own.
func readHead(r *bufio.Reader) (head []byte, upgrade bool, err error) {
	var out bytes.Buffer
	request := false
	for first := true; ; first = false {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, false, err
		}
		if len(out.Bytes()) > 64<<10 {
			return nil, false, errors.New("proxy: head too long")
		}
		trimmed := strings.TrimRight(line, "\r\n")
		if first {
			request = !strings.HasPrefix(trimmed, "HTTP/")
		}
		if trimmed == "" {
			if request && !upgrade {
				out.WriteString("Connection: close\r\n")
			}
			out.WriteString("\r\n")
			return out.Bytes(), upgrade, nil
		}
		name, value, _ := strings.Cut(trimmed, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "sec-websocket-extensions":
			continue
		case "upgrade":
			upgrade = upgrade || strings.EqualFold(strings.TrimSpace(value), "websocket")
		case "connection":
			if request && !strings.Contains(strings.ToLower(value), "upgrade") {
				continue // replaced by Connection: close
			}
		}
		out.WriteString(line)
	}
}
