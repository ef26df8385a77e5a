package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"duplex/conn"
	"duplex/frame"
)

// config is the parsed command line.
type config struct {
	url          string
	listen       string
	header       http.Header
	origin       string
	subprotocols []string
	binary       bool
	ping         time.Duration
	wait         time.Duration
	closeCode    frame.CloseCode
	closeReason  string
	caFile       string
	insecure     bool
	verbose      bool
	compress     bool
}

// errUsage reports a bad command line; the flag set has printed why.
// errHelp reports that -h asked for the usage, which was printed.
var (
	errUsage = errors.New("ws: bad usage")
	errHelp  = errors.New("ws: help requested")
)

// headerFlag collects repeated -H "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f headerFlag) String() string { return "" }

func (f headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("header %q is not \"Name: value\"", s)
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

const usageHead = `usage: ws [flags] URL          connect, send stdin lines, print messages
       ws [flags] -listen ADDR  serve, print messages, broadcast stdin lines

flags:
`

// parseArgs reads the command line. Flags may come before or after the URL.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{header: http.Header{}}
	fs := flag.NewFlagSet("ws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	var subprotocols string
	var closeCode uint
	fs.Var(headerFlag{cfg.header}, "H", "request header `\"Name: value\"` (repeatable)")
	fs.StringVar(&cfg.origin, "origin", "", "Origin header to send")
	fs.StringVar(&subprotocols, "subprotocol", "", "comma-separated subprotocols, most preferred first")
	fs.BoolVar(&cfg.binary, "binary", false, "send lines as binary messages")
	fs.DurationVar(&cfg.ping, "ping", 0, "ping interval (0: never)")
	fs.DurationVar(&cfg.wait, "wait", time.Second, "after the end of stdin, close once no message arrived for this long")
	fs.UintVar(&closeCode, "close-code", uint(frame.CloseNormal), "close code sent on exit")
	fs.StringVar(&cfg.closeReason, "close-reason", "", "close reason sent on exit")
	fs.StringVar(&cfg.caFile, "cacert", "", "PEM `file` of certificates to trust for wss://")
	fs.BoolVar(&cfg.insecure, "insecure", false, "skip the server certificate check (test servers only)")
	fs.BoolVar(&cfg.verbose, "v", false, "print the handshake and frames (messages under TLS) on stderr")
	fs.BoolVar(&cfg.compress, "compress", true, "negotiate permessage-deflate compression (-compress=false: never)")
	fs.StringVar(&cfg.listen, "listen", "", "serve on `ADDR` instead of connecting")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := cfg.check(positional, subprotocols, closeCode); err != nil {
		fmt.Fprintln(stderr, "ws:", err)
		fs.Usage()
		return nil, errUsage
	}
	return cfg, nil
}

func (cfg *config) check(positional []string, subprotocols string, closeCode uint) error {
	switch {
	case cfg.listen == "" && len(positional) != 1:
		return errors.New("give one URL, or -listen ADDR")
	case cfg.listen != "" && len(positional) != 0:
		return errors.New("-listen takes no URL")
	}
	if len(positional) == 1 {
		cfg.url = positional[0]
	}
	if err := checkHeader(cfg.header); err != nil {
		return err
	}
	for p := range strings.SplitSeq(subprotocols, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.subprotocols = append(cfg.subprotocols, p)
		}
	}
	// RFC 6455, Section 7.4: only some codes may be sent in a close frame.
	cfg.closeCode = frame.CloseCode(closeCode)
	if closeCode > 0xffff || !cfg.closeCode.ValidOnWire() {
		return fmt.Errorf("-close-code %d cannot be sent (use 1000-1003, 1007-1014 or 3000-4999)", closeCode)
	}
	// RFC 6455, Section 5.5: a control frame carries at most 125 bytes,
	// two of which are the code.
	if len(cfg.closeReason) > 123 || !utf8.ValidString(cfg.closeReason) {
		return errors.New("-close-reason must be valid UTF-8 of at most 123 bytes")
	}
	if cfg.ping < 0 || cfg.wait < 0 {
		return errors.New("-ping and -wait must not be negative")
	}
	return nil
}

// compression is the permessage-deflate configuration the flags ask for,
// or nil for none. The library's defaults fit a terminal: messages under
// conn.DefaultCompressionThreshold bytes go out as they are, since
// compressing them would only make them longer.
func (cfg *config) compression() *conn.CompressionOptions {
	if !cfg.compress {
		return nil
	}
	return &conn.CompressionOptions{}
}

// tlsConfig is the client TLS configuration the flags ask for, or nil for
// the system's defaults.
func (cfg *config) tlsConfig() (*tls.Config, error) {
	if cfg.caFile == "" && !cfg.insecure {
		return nil, nil
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.insecure}
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, fmt.Errorf("read -cacert: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-cacert %s holds no PEM certificate", cfg.caFile)
		}
	}
	return tc, nil
}

// checkHeader refuses -H headers the opening handshake writes itself
// (RFC 6455, Section 4.1), pointing to the flag that sets them.
func checkHeader(h http.Header) error {
	for name := range h {
		switch {
		case name == "Origin":
			return errors.New("-H Origin: use -origin")
		case name == "Sec-Websocket-Protocol":
			return errors.New("-H Sec-WebSocket-Protocol: use -subprotocol")
		case name == "Host", name == "Upgrade", name == "Connection",
			strings.HasPrefix(name, "Sec-Websocket-"):
			return fmt.Errorf("-H %s: the handshake sets this header itself", name)
		}
	}
	return nil
}
