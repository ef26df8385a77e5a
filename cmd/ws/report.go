package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// Exit statuses, as the package documentation lists them.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitPeerCode = 3
)

// printer writes messages to standard output, one Write per line, and
// verbose events and errors to standard error; it is safe for concurrent use.
type printer struct {
	mu      sync.Mutex
	out     io.Writer
	errw    io.Writer
	verbose bool
	// wire: a tapConn shows the heads and frames, so the message-level
	// events, which say less, are left out.
	wire bool
}

// message prints a received payload and a newline.
func (p *printer) message(b []byte) {
	line := make([]byte, 0, len(b)+1)
	line = append(append(line, b...), '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.out.Write(line)
}

// event prints a verbose-mode line on standard error.
func (p *printer) event(format string, args ...any) {
	if !p.verbose {
		return
	}
	p.errorf(format, args...)
}

// msgEvent prints a message-level verbose event, unless the wire is shown.
func (p *printer) msgEvent(format string, args ...any) {
	if p.wire {
		return
	}
	p.event(format, args...)
}

func (p *printer) errorf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.errw, format+"\n", args...)
}

// hooks returns connection options that report control frames and state
// changes in verbose mode. prefix names the connection in server mode.
func (p *printer) hooks(prefix string) conn.Options {
	if !p.verbose {
		return conn.Options{}
	}
	return conn.Options{
		OnPing:        func(b []byte) { p.msgEvent("%s< ping %q", prefix, b) },
		OnPong:        func(b []byte) { p.msgEvent("%s< pong %q", prefix, b) },
		OnStateChange: func(from, to conn.State) { p.event("%s* %v -> %v", prefix, from, to) },
	}
}

// compressionOf describes the compression c agreed on: the
// permessage-deflate parameters of the server's response, or "none".
func compressionOf(c *conn.Conn) string {
	if p, ok := c.Compression(); ok {
		return p.Extension().String()
	}
	return "none"
}

// headers prints a header block sorted by name.
func (p *printer) headers(dir string, h http.Header) {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range h[name] {
			p.msgEvent("%s %s: %s", dir, name, v)
		}
	}
}

// describe turns a connection error into the message a user needs, and the
// exit status.
func describe(target string, err error) (string, int) {
	var herr *handshake.Error
	var perr *conn.ProxyError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var opErr *net.OpError
	var closeErr conn.CloseError
	var protoErr frame.ProtocolError
	switch {
	case errors.As(err, &closeErr):
		return describeClose(closeErr)
	case errors.As(err, &herr) && herr.Status != 0:
		return fmt.Sprintf("the server refused the WebSocket handshake: HTTP %d %s (%v)",
			herr.Status, http.StatusText(herr.Status), herr.Err), exitFailed
	case errors.As(err, &perr):
		return fmt.Sprintf("the proxy refused the tunnel: HTTP %d %s", perr.Status, perr.Reason), exitFailed
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &verifyErr):
		return fmt.Sprintf("TLS: the server certificate is not trusted: %v "+
			"(use -cacert FILE to trust its CA, or -insecure for a test server)", err), exitFailed
	case errors.As(err, &recordErr):
		return fmt.Sprintf("TLS handshake failed: the server at %s does not speak TLS (use ws:// instead of wss://?)", target), exitFailed
	case errors.Is(err, conn.ErrBadURL):
		return fmt.Sprintf("%v: %s%s", err, target, suggestScheme(target)), exitUsage
	case errors.Is(err, handshake.ErrInvalidOptions):
		return fmt.Sprintf("%v: %s", err, target), exitUsage
	case errors.As(err, &protoErr):
		return fmt.Sprintf("the connection failed with close code %v: %v", protoErr.Code, err), exitFailed
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("cannot connect to %s: %v", target, opErr.Err), exitFailed
	}
	return err.Error(), exitFailed
}

// suggestScheme returns a hint for a URL written without a scheme, such as
// "localhost:8080/ws", which does not parse as the WebSocket URL it was
// meant to be: the URL with ws:// in front, for the user to type (not to
// guess: wss:// may be the right one).
func suggestScheme(target string) string {
	if strings.Contains(target, "://") {
		return ""
	}
	return " (no scheme: did you mean ws://" + strings.TrimPrefix(target, "//") + "?)"
}

// describeClose reports the close frame the peer sent. Normal closure,
// going away and no status are a normal end; any other code is reported
// with its own exit status so scripts can tell.
func describeClose(ce conn.CloseError) (string, int) {
	if ce.Code == frame.CloseAbnormal {
		return "the connection ended without a closing handshake (1006)", exitFailed
	}
	msg := fmt.Sprintf("the peer closed the connection: %v", ce.Code)
	if ce.Reason != "" {
		msg += fmt.Sprintf(": %q", ce.Reason)
	}
	switch ce.Code {
	case frame.CloseNormal, frame.CloseGoingAway, frame.CloseNoStatus:
		return msg, exitOK
	}
	return msg, exitPeerCode
}
