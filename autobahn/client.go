package autobahn

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// handshakeTimeout bounds an opening handshake on either side.
const handshakeTimeout = 10 * time.Second

// caseTimeout is a safety net: every case ends itself through its own
// timers before this (the longest, 9.5.x and 9.6.x, give up after 1000 s).
const caseTimeout = 20 * time.Minute

// RunClient tests the server at rawURL (ws://host:port/path) in the
// original's fuzzingclient mode: one connection per case, in order, graded
// under agent. Progress lines go to progress when it is not nil. It returns
// the report, also when the server cannot be reached (those cases fail).
func RunClient(ctx context.Context, rawURL, agent string, cases []*Case, progress io.Writer) (*Report, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("autobahn: bad URL: %w", err)
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("autobahn: URL scheme %q is not ws", u.Scheme)
	}
	return runClient(ctx, u, agent, cases, progress, dialHTTP1)
}

// caseDialer opens the connection of one case to u, offering the case's
// extensions, and returns it with what the opening handshake left
// buffered, the raw request and response heads for the report, and the
// extensions the server accepted.
type caseDialer func(ctx context.Context, u *url.URL, offer []string) (nc net.Conn, br *bufio.Reader, req, resp, exts string, err error)

// runClient runs cases in order, each on a connection from dial.
func runClient(ctx context.Context, u *url.URL, agent string, cases []*Case, progress io.Writer, dial caseDialer) (*Report, error) {
	rep := NewReport()
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r := runClientCase(ctx, u, c, agent, i+1, dial)
		rep.Add(r)
		if progress != nil {
			fmt.Fprintf(progress, "%-8s %-14s %-14s %5dms\n", r.ID, r.Behavior, r.BehaviorClose, r.Duration)
		}
	}
	return rep, nil
}

func runClientCase(ctx context.Context, u *url.URL, c *Case, agent string, index int, dial caseDialer) *Result {
	ctx, cancel := context.WithTimeout(ctx, caseTimeout)
	defer cancel()
	nc, br, req, resp, exts, err := dial(ctx, u, c.Offer)
	if err != nil {
		r := connectFailure(c, agent, index, false, err)
		r.HTTPRequest, r.HTTPResponse = req, resp
		return r
	}
	s := newSession(c, nc, br, false)
	s.extensions = exts
	s.run(ctx)
	r := s.resultFor(agent, index)
	r.HTTPRequest, r.HTTPResponse = req, resp
	return r
}

// dialHTTP1 is the caseDialer of RunClient: TCP, then the HTTP/1.1
// upgrade of RFC 6455, Section 4.1.
func dialHTTP1(ctx context.Context, u *url.URL, offer []string) (net.Conn, *bufio.Reader, string, string, string, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	dctx, dcancel := context.WithTimeout(ctx, handshakeTimeout)
	nc, err := d.DialContext(dctx, "tcp", host)
	dcancel()
	if err != nil {
		return nil, nil, "", "", "", err
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	rw := bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
	req, resp, exts, err := clientHandshake(rw, u, offer)
	if err != nil {
		_ = nc.Close()
		return nil, nil, req, resp, "", err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, rw.Reader, req, resp, exts, nil
}

// connectFailure is the result of a case that never got a WebSocket connection.
func connectFailure(c *Case, agent string, index int, isServer bool, err error) *Result {
	return &Result{
		Agent: agent, Case: index, ID: c.ID, Description: c.Description, Expectation: c.Expectation,
		Started:  time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Behavior: Failed, BehaviorClose: Failed,
		Result: "No WebSocket connection: " + err.Error(), ResultClose: "No WebSocket connection",
		Expected: expectedJSON{}, Received: []Event{}, IsServer: isServer,
	}
}
