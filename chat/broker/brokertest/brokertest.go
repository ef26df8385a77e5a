// Package brokertest starts NATS servers for tests of code built on package broker: a cluster of
// JetStream servers on loopback, in the test's process, cleaned up when the test ends.
package brokertest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// StartCluster starts n clustered JetStream servers on loopback, each with its own store under a
// temporary directory, and returns them once their JetStream meta group has a leader that all follow,
// so that a stream replicated n times can be created (its first creation may still take a retry). They are
// shut down when t ends (a test may shut one down before, to kill it). A failure to start fails t.
func StartCluster(t testing.TB, n int) []*natsserver.Server {
	t.Helper()
	ports := freePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var servers []*natsserver.Server
	for i := range n {
		s, err := natsserver.NewServer(&natsserver.Options{
			ServerName: fmt.Sprintf("s%d", i),
			Host:       "127.0.0.1",
			Port:       natsserver.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    natsserver.ClusterOpts{Name: "duplex-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     natsserver.RoutesFromStr(strings.Join(routes, ",")),
			NoSigs:     true,
			NoLog:      true,
		})
		if err != nil {
			t.Fatalf("brokertest: server %d: %v", i, err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("brokertest: server %d not ready", i)
		}
		servers = append(servers, s)
	}
	// The meta group elects its leader a moment after the routes are up; streams can be created once
	// every server follows it. No stream is made to find out: one more replicated stream is one more
	// Raft group beating on a loaded machine for the rest of the test.
	deadline := time.Now().Add(20 * time.Second)
	for !formed(servers) {
		if time.Now().After(deadline) {
			t.Fatalf("brokertest: JetStream cluster did not form")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return servers
}

// formed reports whether the servers' JetStream meta group has a leader that every server follows.
func formed(servers []*natsserver.Server) bool {
	leader := false
	for _, s := range servers {
		if !s.JetStreamIsCurrent() {
			return false
		}
		leader = leader || s.JetStreamIsLeader()
	}
	return leader
}

// URLs returns the servers' client URLs.
func URLs(servers []*natsserver.Server) []string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.ClientURL()
	}
	return urls
}

// freePorts reserves n loopback ports and releases them for the servers to take. Cluster routes must
// name every member before any starts, so the ports cannot come from the servers themselves.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("brokertest: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		if err := l.Close(); err != nil {
			t.Fatalf("brokertest: %v", err)
		}
	}
	return ports
}
