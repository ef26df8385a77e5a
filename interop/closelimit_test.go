package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// limitBytes is the duplex server's read limit in TestCloseOverReadLimit,
// the -max-message of cmd/chat where browsers were seen to lose the code.
const limitBytes = 4096

// limitConns is how many fresh connections each peer opens per size: the
// browser opens 20 in all.
const limitConns = 10

// overSizes are the messages sent over the limit: just over, where the
// rest of the message is still in flight when the header shows it too
// long, and 25 times over, where most of it is.
var overSizes = []struct {
	name string
	n    int
}{{"limit+100", limitBytes + 100}, {"limit*25", 25 * limitBytes}}

// limitReport is what a peer reports of one connection: its close (the code
// its library reports and whether the closing handshake completed) or an
// error. Python's websockets also says which close frames crossed and how
// TCP ended.
type limitReport struct {
	ID     string `json:"id"`
	Event  string `json:"event"` // close, error, timeout
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Clean  bool   `json:"clean"`
	Rcvd   *int   `json:"rcvd"`
	Sent   *int   `json:"sent"`
	// Reset: the TCP connection ended with an error, not an end of
	// stream (Python only: websockets counts its close frame as sent once
	// the socket took it, even when a reset then loses it).
	Reset   bool   `json:"reset"`
	Message string `json:"message"`
}

// outcome is the part of a close report the test judges, as one string,
// so that a tally of outcomes shows at a glance how many went wrong.
func (r limitReport) outcome() string {
	s := fmt.Sprintf("code %d clean %t", r.Code, r.Clean)
	for _, f := range []struct {
		name string
		code *int
	}{{"rcvd", r.Rcvd}, {"sent", r.Sent}} {
		if f.code != nil {
			s += fmt.Sprintf(" %s %d", f.name, *f.code)
		}
	}
	if r.Reset {
		s += " reset"
	}
	return s
}

// limitClient opens one connection to each URL in turn, sends a message of
// limitBytes and waits for its echo, then sends size bytes, and returns
// what the peer reported.
type limitClient func(t *testing.T, urls []string, size int) []limitReport

// TestCloseOverReadLimit sends messages over the read limit of a duplex
// server from Chromium, Node's ws and Python's websockets, each on fresh
// connections. duplex must fail each connection with 1009 (RFC 6455,
// Section 7.4.1: "an endpoint is terminating the connection because it has
// received a message that is too big for it to process"), and the peer
// must learn that code through a completed closing handshake (Section
// 7.1.4: "If the TCP connection was closed after the WebSocket closing
// handshake was completed, the WebSocket connection is said to have been
// closed _cleanly_"). Closing TCP at once, with the rest of the peer's
// message or its close frame unread, is what Section 1.4 warns of: "if a
// socket is closed with data in the receive queue, a RST packet is sent,
// which will then cause recv() to fail for the party that received the
// RST, even if there was data waiting to be read"; the peer then reports
// 1006, not clean.
func TestCloseOverReadLimit(t *testing.T) {
	r := newRouter()
	pki := newTestPKI(t)
	srv := startDuplexServer(t, r, pki)
	tooBig := int(frame.CloseTooBig)
	clean := limitReport{Code: tooBig, Clean: true}
	peers := []struct {
		name  string
		want  limitReport // every connection's close report
		start func(t *testing.T) limitClient
	}{
		{"chromium", clean, func(t *testing.T) limitClient { return browserLimitClient(startBrowser(t, srv, pki)) }},
		{"node", clean, func(t *testing.T) limitClient {
			node := nodePeer(t)
			return procLimitClient(node, "node/peer.js")
		}},
		// websockets answers the server's close frame with the same code.
		{"python", limitReport{Code: tooBig, Clean: true, Rcvd: &tooBig, Sent: &tooBig}, func(t *testing.T) limitClient {
			requirePeer(t, "python3-websockets", checkPython())
			return procLimitClient(pythonPath, "python/peer.py")
		}},
	}
	t.Run("7.4.1", func(t *testing.T) {
		for _, p := range peers {
			t.Run(p.name, func(t *testing.T) {
				client := p.start(t)
				for _, size := range overSizes {
					t.Run(size.name, func(t *testing.T) {
						overLimit(t, srv, client, size.n, p.want.outcome())
					})
				}
			})
		}
	})
}

// overLimit runs limitConns connections of client, each sending size
// bytes, against duplex connections limited to limitBytes that echo what
// they read. Every connection must end with want on the peer's side and
// with 1009 on duplex's.
func overLimit(t *testing.T, srv *duplexServer, client limitClient, size int, want string) {
	ids := make([]string, limitConns)
	urls := make([]string, limitConns)
	for i := range ids {
		ids[i] = newID()
		urls[i] = srv.url(false, ids[i])
	}
	ends := echoLimited(t, srv, ids)

	byID := make(map[string]limitReport)
	tally := make(map[string]int)
	for _, rep := range client(t, urls, size) {
		switch rep.Event {
		case "close":
			_, dup := byID[rep.ID]
			assert.False(t, dup, "two close reports for %s", rep.ID)
			byID[rep.ID] = rep
			tally[rep.outcome()]++
		case "error":
			t.Logf("%s: peer error: %s", rep.ID, rep.Message)
			tally["error event"]++
		default:
			t.Errorf("%s: peer reported %q %s", rep.ID, rep.Event, rep.Message)
		}
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			t.Errorf("%s: no close report from the peer", id)
		}
	}
	// A clean close has no error event: the browser fires one only when
	// the connection was not closed cleanly, ws on a socket error.
	assert.Equal(t, map[string]int{want: limitConns}, tally, "outcomes of %d connections", limitConns)

	for i, err := range ends() {
		var pe frame.ProtocolError
		if assert.ErrorAs(t, err, &pe, "%s: error duplex's read ended with", ids[i]) {
			assert.Equal(t, frame.CloseTooBig, pe.Code, "%s: code duplex failed the connection with", ids[i])
		}
	}
}

// echoLimited has the duplex server accept the connection ids with a read
// limit of limitBytes and echo every message on them. The returned
// function waits for every connection to end and returns the errors their
// reads ended with, in the order of ids; the test's end waits too, in case
// it stopped early.
func echoLimited(t testing.TB, srv *duplexServer, ids []string) func() []error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		ch := srv.expect(id, conn.Options{ReadLimit: limitBytes, CloseTimeout: 5 * time.Second})
		wg.Go(func() {
			select {
			case a := <-ch:
				errs[i] = echoUntilError(a.c)
			case <-time.After(waitTimeout):
				errs[i] = fmt.Errorf("no connection for %s within %v", id, waitTimeout)
			}
		})
	}
	wait := sync.OnceValue(func() []error {
		wg.Wait()
		return errs
	})
	t.Cleanup(func() { wait() })
	return wait
}

// echoUntilError echoes messages on c until a read or write fails, and
// returns that error; c is closed at once if it is still open then.
func echoUntilError(c *conn.Conn) error {
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		typ, b, err := c.ReadMessage(ctx)
		if err != nil {
			return err
		}
		if err := c.WriteMessage(ctx, typ, b); err != nil {
			return err
		}
	}
}

// procLimitClient runs a peer script's oversize mode, which opens the URLs
// one after another and prints a report line for each.
func procLimitClient(name, script string) limitClient {
	return func(t *testing.T, urls []string, size int) []limitReport {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		args := append([]string{script, "oversize", fmt.Sprint(limitBytes), fmt.Sprint(size)}, urls...)
		cmd := exec.CommandContext(ctx, name, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		require.NoError(t, err, "%s oversize; stderr:\n%s", script, stderr.String())
		var reps []limitReport
		sc := bufio.NewScanner(&stdout)
		for sc.Scan() {
			var rep limitReport
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rep), "report line %q", sc.Text())
			reps = append(reps, rep)
		}
		return reps
	}
}

// limitPage opens the URLs one after another from the page with the
// browser's own WebSocket and resolves to the reports of every connection.
// A connection that does not close within 10 s is reported as a timeout.
const limitPage = `(async (urls, limit, size) => {
  const reports = [];
  const fits = 'a'.repeat(limit);
  const over = 'b'.repeat(size);
  for (const url of urls) {
    const id = new URL(url).searchParams.get('id');
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        reports.push({id, event: 'timeout', message: 'no close event within 10 s'});
        resolve();
      }, 10000);
      const ws = new WebSocket(url);
      ws.onopen = () => ws.send(fits);
      ws.onmessage = (e) => {
        if (e.data !== fits) {
          reports.push({id, event: 'error', message: 'echo of the message that fits differs'});
        }
        ws.send(over);
      };
      ws.onerror = () => reports.push({id, event: 'error', message: 'WebSocket error event'});
      ws.onclose = (e) => {
        clearTimeout(timer);
        reports.push({id, event: 'close', code: e.code, reason: e.reason, clean: e.wasClean});
        resolve();
      };
    });
  }
  return reports;
})`

// browserLimitClient runs limitPage in the browser of ctx.
func browserLimitClient(ctx context.Context) limitClient {
	return func(t *testing.T, urls []string, size int) []limitReport {
		t.Helper()
		args, err := json.Marshal([]any{urls, limitBytes, size})
		require.NoError(t, err)
		runCtx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		reps, err := chromedp.Run(runCtx, chromedp.Evaluate[[]limitReport](
			fmt.Sprintf("%s(...%s)", limitPage, args), chromedp.EvalAwaitPromise))
		require.NoError(t, err, "run the connections in chromium")
		return reps
	}
}
