package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
)

// A DNS rebinding attack points a name the attacker owns at this server's
// address once a victim's browser has loaded the attacker's page from it:
// the page's further requests then reach this server as same-origin
// requests for the attacker's name, and the WebSocket origin check passes,
// since Origin and Host agree. Only the Host header tells them apart, so
// the server answers only for the names it is meant to have.

// hostPattern is one -allowed-hosts entry: path.Match patterns for the host
// name and the port, both lower case.
type hostPattern struct{ name, port string }

// parseHostPattern parses "host" (any port) or "host:port"; host and port
// are path.Match patterns, and an IPv6 address is written in brackets.
func parseHostPattern(s string) (hostPattern, error) {
	s = strings.ToLower(s)
	p := hostPattern{port: "*"}
	if name, port, err := net.SplitHostPort(s); err == nil {
		p.name, p.port = name, port
	} else {
		p.name = unbracket(s)
	}
	// path.Match checks the whole pattern's syntax, even against "".
	for _, part := range []string{p.name, p.port} {
		if _, err := path.Match(part, ""); err != nil || part == "" {
			return hostPattern{}, fmt.Errorf("-allowed-hosts: bad pattern %q", s)
		}
	}
	return p, nil
}

func (p hostPattern) match(name, port string) bool {
	okName, _ := path.Match(p.name, name)
	okPort, _ := path.Match(p.port, port)
	return okName && okPort
}

// splitHost splits a Host header into a lower-case name, without brackets
// or a final dot, and a port ("" when there is none).
func splitHost(host string) (name, port string) {
	host = strings.ToLower(host)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = unbracket(host), ""
	}
	return strings.TrimSuffix(name, "."), port
}

// unbracket removes the brackets around an IPv6 address.
func unbracket(s string) string {
	if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
}

// isLoopbackName reports whether a browser reaches name on this machine
// only, whatever DNS says: localhost and its subdomains (RFC 6761, Section
// 6.3, which browsers honour) and loopback addresses. No attacker can
// rebind such a name.
func isLoopbackName(name string) bool {
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// hostPolicy decides which Host headers are answered.
type hostPolicy struct {
	patterns     []hostPattern
	loopbackOnly bool // no patterns given, and the server listens on loopback
}

// newHostPolicy builds the policy for the -allowed-hosts patterns (already
// checked) and the listen address: with no patterns, a server listening on
// a loopback address answers loopback names only (a browser on this machine
// is the only client it can have), and any other answers any host.
func newHostPolicy(patterns []string, listen string) hostPolicy {
	var hp hostPolicy
	for _, s := range patterns {
		p, _ := parseHostPattern(s)
		hp.patterns = append(hp.patterns, p)
	}
	if len(patterns) == 0 {
		host, _, err := net.SplitHostPort(listen)
		hp.loopbackOnly = err == nil && isLoopbackName(strings.ToLower(host))
	}
	return hp
}

// any reports whether every host is answered.
func (hp hostPolicy) any() bool { return len(hp.patterns) == 0 && !hp.loopbackOnly }

func (hp hostPolicy) allows(host string) bool {
	if hp.any() {
		return true
	}
	name, port := splitHost(host)
	if hp.loopbackOnly {
		return isLoopbackName(name)
	}
	for _, p := range hp.patterns {
		if p.match(name, port) {
			return true
		}
	}
	return false
}

// guard answers requests for a host the policy refuses with 421, on every
// path, and passes the others to next.
func (hp hostPolicy) guard(next http.Handler, log *slog.Logger) http.Handler {
	if hp.any() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hp.allows(r.Host) {
			log.Info("chat: host refused", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
			// RFC 9110, Section 15.5.20: 421 "indicates that the request was directed at a server that
			// is unable or unwilling to produce an authoritative response for the target URI".
			http.Error(w, "misdirected request: this server does not answer for that host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
