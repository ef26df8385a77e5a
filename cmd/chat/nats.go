package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"duplex/chat"
	"duplex/chat/broker"
)

// storeFlags choose where rooms live: NATS JetStream, embedded (the default) or outside, or memory.
type storeFlags struct {
	data      string
	nats      string
	memory    bool
	node      string
	replicas  int
	retention broker.Retention
	// hub is told when NATS goes and comes back; set once the server exists, which is after the
	// broker connects.
	hub atomic.Pointer[chat.Hub]
	// closing is set once shutdown closes the broker, whose own close is no outage to report.
	closing atomic.Bool
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", broker.DefaultDir(), "directory of the embedded NATS server's JetStream files (room history); created if missing")
	fs.StringVar(&s.nats, "nats", "", "comma-separated NATS server URLs, e.g. nats://a:4222,nats://b:4222: use them instead of the embedded server,\nso that several chat nodes share rooms")
	fs.BoolVar(&s.memory, "memory", false, "keep rooms in this process's memory only, without NATS: history ends with the process")
	fs.StringVar(&s.node, "node", "", "this node's name in NATS monitoring and in the presence shared with the other nodes;\nunique among the nodes (default: the host name and process id)")
	fs.IntVar(&s.replicas, "replicas", 1, "NATS servers holding each room (3 on a three-server cluster, so losing one loses nothing)")
	fs.Int64Var(&s.retention.MaxMsgs, "retain-msgs", 0, "events a room's stream keeps at most, oldest dropped first (0: no limit)")
	fs.Int64Var(&s.retention.MaxBytes, "retain-bytes", 0, "bytes a room's stream keeps at most (0: no limit)")
	fs.DurationVar(&s.retention.MaxAge, "retain-age", 0, "age after which a room's events are dropped (0: no limit)")
}

func (s *storeFlags) check() error {
	if s.memory && s.nats != "" {
		return errors.New("-memory and -nats exclude each other")
	}
	if !s.memory && s.nats == "" && s.data == "" {
		return errors.New("-data must name a directory (or use -memory)")
	}
	if s.replicas < 1 {
		return fmt.Errorf("-replicas %d: must be positive", s.replicas)
	}
	if s.retention.MaxMsgs < 0 || s.retention.MaxBytes < 0 || s.retention.MaxAge < 0 {
		return errors.New("-retain-msgs, -retain-bytes and -retain-age must not be negative")
	}
	return nil
}

// open starts the embedded NATS server (unless -nats or -memory), connects a broker to it and joins
// the presence shared by the nodes. The returned stop leaves the presence, closes the broker, then
// the embedded server; the caller runs it after the chat's shutdown. With -memory all are nil.
func (s *storeFlags) open(log *slog.Logger) (*broker.Broker, *broker.Presence, func(), error) {
	if s.memory {
		log.Info("chat: rooms in memory only")
		return nil, nil, func() {}, nil
	}
	urls := s.nats
	var ns *broker.Server
	if urls == "" {
		var err error
		ns, err = broker.StartEmbedded(broker.Options{Dir: s.data})
		if err != nil {
			return nil, nil, nil, err
		}
		urls = ns.ClientURL()
		log.Info("chat: embedded NATS", "data", ns.Dir(), "url", urls)
	}
	name := s.node
	if name == "" {
		// Two nodes on one host are two nodes: the process id tells them apart.
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	b, err := broker.Connect(broker.Config{
		URLs: urls, Name: name, Retention: s.retention, Replicas: s.replicas,
		OnStatus: func(up bool) {
			if s.closing.Load() {
				return
			}
			if h := s.hub.Load(); h != nil {
				h.StoreStatus(up)
			}
			if up {
				log.Info("chat: NATS connection back")
			} else {
				log.Warn("chat: NATS connection lost; sends are refused until it is back")
			}
		},
	})
	fail := func(err error) (*broker.Broker, *broker.Presence, func(), error) {
		if b != nil {
			b.Close()
		}
		if ns != nil {
			ns.Shutdown()
		}
		return nil, nil, nil, err
	}
	if err != nil {
		return fail(err)
	}
	if s.nats != "" {
		log.Info("chat: connected to NATS", "url", b.ConnectedURL())
	}
	p, err := b.Presence(context.Background(), broker.PresenceConfig{Node: name})
	if err != nil {
		return fail(err)
	}
	stop := func() {
		s.closing.Store(true)
		p.Close() // the other nodes see this node's members leave now, not after the TTL
		b.Close()
		if ns != nil {
			ns.Shutdown()
		}
	}
	return b, p, stop, nil
}
