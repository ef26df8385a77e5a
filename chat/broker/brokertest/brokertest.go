// Package brokertest starts NATS servers for tests of code built on package broker: a cluster of
// JetStream servers on loopback, in the test's process, cleaned up when the test ends.
package brokertest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"duplex/chat/broker"
)

// StartCluster starts n clustered JetStream servers on loopback, each with its own store under a
// temporary directory, and returns them once JetStream accepts a stream replicated n times. They are
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
	// The meta group elects its leader a moment after the routes are up.
	b, err := broker.Connect(broker.Config{URLs: servers[0].ClientURL(), Replicas: n, Timeout: time.Second})
	if err != nil {
		t.Fatalf("brokertest: connect: %v", err)
	}
	defer b.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := b.Info(context.Background(), "warm-up")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("brokertest: JetStream cluster did not form: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return servers
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
