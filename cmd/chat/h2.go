package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"duplex/internal/godebug"
)

// RFC 8441 lets a browser open its WebSocket as a stream of the HTTP/2
// connection that loaded the page, instead of a TCP and TLS connection of its
// own. net/http's HTTP/2 server implements it but advertises it
// (SETTINGS_ENABLE_CONNECT_PROTOCOL) only in a process started with
// GODEBUG=http2xconnect=1, which it reads once, at start: so the command,
// when it is to serve HTTP/2 and was started without it, starts itself again
// with it (execXConnect). The setting is process-wide: it changes nothing but
// that advertisement, and this process serves nothing but the chat.

// wantsXConnect reports whether the command line asks for HTTP/2 with
// WebSockets (-tls-cert and -h2, the default) in a process that lacks the
// setting. A command line that does not parse is left to run to report.
func wantsXConnect(args []string) bool {
	o, err := parseFlags(args, io.Discard)
	return err == nil && o.tlsCert != "" && o.h2 && !godebug.Has(godebug.XConnect)
}

// execXConnect replaces the process with the same command, arguments and
// environment, plus http2xconnect=1 in GODEBUG. It returns only if that
// failed; the command then serves HTTP/1.1 only, and says so (tlsProtocols).
func execXConnect() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	env := os.Environ()
	debug := godebug.XConnect
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if v != "" {
				debug = v + "," + debug
			}
			env = append(env[:i:i], env[i+1:]...)
			break
		}
	}
	return syscall.Exec(exe, os.Args, append(env, "GODEBUG="+debug))
}

// tlsProtocols are the protocols the TLS listener offers by ALPN: h2 first
// when WebSockets can use it, else HTTP/1.1 only, since an HTTP/2 connection
// that cannot carry them would make the browser open one more connection
// for its socket anyway.
func tlsProtocols(o *options, log *slog.Logger) []string {
	switch {
	case !o.h2:
		return []string{"http/1.1"}
	case !godebug.Has(godebug.XConnect):
		log.Warn("chat: serving HTTP/1.1 only: HTTP/2 WebSockets (RFC 8441) need GODEBUG=" + godebug.XConnect + " when the process starts")
		return []string{"http/1.1"}
	}
	return []string{"h2", "http/1.1"}
}
