// Package serve holds what every server of the harness shares: the -addr
// flag, a listener kept on loopback, the line that tells bench/run.sh where
// the server listens, a read helper that reuses one buffer, and, for the
// broadcast row, the [Room] of connections and the little protocol a
// server in -broadcast mode speaks (see [MembersQuery]).
//
// Each server under bench/servers is a small main that echoes every message
// it reads (or, with -broadcast, sends it to every connection), written the
// way its library documents as its fast path; only this scaffolding is
// common, so that it costs every server the same.
package serve

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// ReadyPrefix starts the one line a server prints on stdout once it
// listens: "listening 127.0.0.1:PORT".
const ReadyPrefix = "listening "

// Main parses the flags, listens on -addr (loopback only: the harness never
// serves another address), prints the ready line and runs serve until it
// returns. A server registers its own flags before calling Main. An error
// ends the process with status 1.
func Main(name string, serve func(ln net.Listener) error) {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	flag.Parse()
	ln, err := Listen(*addr)
	if err == nil {
		err = announce(os.Stdout, ln)
		if err == nil {
			err = serve(ln)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// errNotLoopback refuses a listen address off this machine.
var errNotLoopback = errors.New("serve: listen address is not loopback")

// Listen listens on addr, which must be a loopback address.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", errNotLoopback, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return ln, nil
}

// announce writes the ready line for ln to w and flushes it.
func announce(w io.Writer, ln net.Listener) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s%s\n", ReadyPrefix, ln.Addr())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// HTTP serves h on ln with net/http, for the libraries that upgrade a
// request net/http has read.
func HTTP(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// minRead is the smallest read ReadAll asks of r.
const minRead = 512

// ReadAll reads r to EOF into buf, reusing its storage, and returns the
// bytes read: io.ReadAll without a new slice per message, which is how an
// echo server that reads a message whole keeps its steady state free of
// allocation. The result aliases buf's storage, grown when needed.
func ReadAll(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if cap(buf)-len(buf) < minRead {
			buf = append(buf, make([]byte, minRead)...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
