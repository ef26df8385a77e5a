package calibrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
)

// coderEcho is the coder/websocket server of the reference run: it accepts
// permessage-deflate with context takeover, reads up to 1 GiB, and echoes
// each message by streaming its reader into a writer.
func coderEcho(w http.ResponseWriter, r *http.Request) {
	c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: coder.CompressionContextTakeover, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	coderLoop(r.Context(), c)
	// The reference server ends with Close, not CloseNow: after a failed
	// closing handshake it keeps the TCP connection open while it waits
	// for a close frame, which the original grades FAILED BY CLIENT in 7.3.2
	// and 7.9.x.
	_ = c.Close(coder.StatusNormalClosure, "")
}

func coderLoop(ctx context.Context, c *coder.Conn) {
	c.SetReadLimit(1 << 30)
	buf := make([]byte, 32<<10)
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
		if err != nil {
			return
		}
		if _, err := io.CopyBuffer(wr, rd, buf); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

// naiveGorillaEcho is the plain gorilla echo server of the reference run: it
// does not check UTF-8 itself.
func naiveGorillaEcho(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		mt, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, p); err != nil {
			return
		}
	}
}

// runCoderClient drives a fuzzingserver at base (ws://host:port) with the
// coder/websocket client, as the reference run did.
func runCoderClient(ctx context.Context, base, agent string) error {
	c, _, err := coder.Dial(ctx, base+"/getCaseCount", nil)
	if err != nil {
		return err
	}
	_, msg, err := c.Read(ctx)
	_ = c.Close(coder.StatusNormalClosure, "")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("case count %q: %w", msg, err)
	}
	for i := 1; i <= n; i++ {
		u := fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, url.QueryEscape(agent))
		c, _, err := coder.Dial(ctx, u, &coder.DialOptions{CompressionMode: coder.CompressionContextTakeover})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		coderLoop(ctx, c)
		_ = c.CloseNow()
	}
	c, _, err = coder.Dial(ctx, base+"/updateReports?agent="+url.QueryEscape(agent), nil)
	if err != nil {
		return err
	}
	// The server closes once the reports are written; wait for it.
	_, _, err = c.Read(ctx)
	var ce coder.CloseError
	if errors.As(err, &ce) {
		return nil
	}
	return err
}
