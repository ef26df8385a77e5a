package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"duplex/conn"
	"duplex/handshake"
)

// dialTimeout bounds connecting: TCP, TLS and the opening handshake.
const dialTimeout = 30 * time.Second

// readLimit bounds a received message, hence the memory one message takes:
// far above what a terminal shows, well below what hurts a machine.
const readLimit = 64 << 20

// runClient connects to cfg.url and moves lines of in to the server and
// messages from the server to out until either side ends. It returns the
// exit status.
func runClient(ctx context.Context, cfg *config, in io.Reader, p *printer) int {
	tc, err := cfg.tlsConfig()
	if err != nil {
		p.errorf("ws: %v", err)
		return exitUsage
	}
	opts := &conn.DialOptions{
		ClientOptions: conn.ClientOptions{
			Origin:       cfg.origin,
			Subprotocols: cfg.subprotocols,
			Header:       cfg.header,
		},
		TLSConfig: tc,
		Options:   p.hooks(""),
	}
	opts.ReadLimit = readLimit
	opts.Compression = cfg.compression()
	if u, err := url.Parse(cfg.url); err == nil && p.verbose && (u.Scheme == "ws" || u.Scheme == "http") {
		opts.NetDial = tapDialer(p)
		p.wire = true
	}
	p.msgEvent("> GET %s", cfg.url)
	if cfg.origin != "" {
		p.msgEvent("> Origin: %s", cfg.origin)
	}
	if len(cfg.subprotocols) > 0 {
		p.msgEvent("> Sec-WebSocket-Protocol: %s", strings.Join(cfg.subprotocols, ", "))
	}
	p.headers(">", cfg.header)

	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, resp, err := conn.Dial(dctx, cfg.url, opts)
	cancel()
	if err != nil {
		msg, code := describe(cfg.url, err)
		p.errorf("ws: %s", msg)
		return code
	}
	defer c.CloseNow()
	printResponse(p, resp)
	p.msgEvent("* compression: %s", compressionOf(c))
	return session(ctx, cfg, c, in, p)
}

func printResponse(p *printer, resp *handshake.Response) {
	if resp == nil {
		return
	}
	p.msgEvent("< HTTP/%d.%d %d %s", resp.ProtoMajor, resp.ProtoMinor, resp.StatusCode, resp.Reason)
	p.headers("<", resp.Header)
}

// session runs an open client connection to its end.
func session(ctx context.Context, cfg *config, c *conn.Conn, in io.Reader, p *printer) int {
	activity := make(chan struct{}, 1)
	readDone := make(chan error, 1)
	go func() { readDone <- readMessages(c, p, "", activity) }()
	done := make(chan struct{})
	defer close(done)
	lines := readLines(in, done)
	var tick <-chan time.Time
	if cfg.ping > 0 {
		t := time.NewTicker(cfg.ping)
		defer t.Stop()
		tick = t.C
	}
	// After the end of the input, replies may still be on their way: the
	// connection stays open until none arrived for cfg.wait, since messages
	// that come after this side's close frame are discarded.
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case err := <-readDone:
			msg, code := describe(cfg.url, err)
			if code != exitOK || p.verbose {
				p.errorf("ws: %s", msg)
			}
			return code
		case l := <-lines:
			if l.err != nil {
				if !errors.Is(l.err, io.EOF) {
					p.errorf("ws: reading standard input: %v", l.err)
				}
				lines = nil
				quiet.Reset(cfg.wait)
				continue
			}
			if err := send(ctx, cfg, c, p, "", l.b); err != nil {
				p.errorf("ws: %v", err)
				_ = c.Close(cfg.closeCode, cfg.closeReason)
				return exitFailed
			}
		case <-activity:
			if lines == nil {
				quiet.Reset(cfg.wait)
			}
		case <-quiet.C:
			return closeSession(cfg, c, p, readDone)
		case <-tick:
			p.msgEvent("> ping")
			_ = c.Ping(ctx, nil)
		case <-ctx.Done():
			return closeSession(cfg, c, p, readDone)
		}
	}
}

// readMessages prints every message of c until the connection ends, and
// returns the error that ended it. Each message is signalled on activity,
// when not nil, without blocking.
func readMessages(c *conn.Conn, p *printer, prefix string, activity chan<- struct{}) error {
	for {
		typ, b, err := c.ReadMessage(context.Background())
		if err != nil {
			var ce conn.CloseError
			if errors.As(err, &ce) {
				p.msgEvent("%s< close %d %q", prefix, ce.Code, ce.Reason)
			}
			return err
		}
		p.msgEvent("%s< %v (%d bytes)", prefix, typ, len(b))
		p.message(b)
		select {
		case activity <- struct{}{}:
		default:
		}
	}
}

// send writes one line as a message of the type the flags ask for.
func send(ctx context.Context, cfg *config, c *conn.Conn, p *printer, prefix string, b []byte) error {
	typ := conn.MessageText
	if cfg.binary {
		typ = conn.MessageBinary
	} else if !utf8.Valid(b) {
		// RFC 6455, Section 5.6: text "is interpreted as UTF-8 text data".
		return errors.New("a line is not valid UTF-8: send it with -binary")
	}
	p.msgEvent("%s> %v (%d bytes)", prefix, typ, len(b))
	return c.WriteMessage(ctx, typ, b)
}

// closeSession runs the closing handshake with the flags' code and reason
// and waits for the reader to see the end.
func closeSession(cfg *config, c *conn.Conn, p *printer, readDone <-chan error) int {
	p.msgEvent("> close %d %q", cfg.closeCode, cfg.closeReason)
	err := c.Close(cfg.closeCode, cfg.closeReason)
	<-readDone
	if err != nil {
		p.errorf("ws: closing: %v", err)
		return exitFailed
	}
	return exitOK
}
