package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures an embedded NATS server. The zero value is usable: it stores under [DefaultDir]
// and listens on a free loopback port.
type Options struct {
	// Dir is where JetStream keeps its files (in a "jetstream" directory inside it). It is created
	// if missing. Empty means [DefaultDir]. The same Dir after a restart gives back every stream
	// and bucket, so room history, epochs and sequence numbers carry over.
	Dir string
	// Host is the interface to listen on; empty means 127.0.0.1. The embedded server has no
	// authentication, so anything but loopback exposes every room to the network.
	Host string
	// Port is the client port; 0 picks a free one (see [Server.ClientURL]).
	Port int
	// Name is the server's name, kept stable across restarts so the JetStream state is
	// recognised as its own; empty means "duplex-chat".
	Name string
	// SyncAlways makes JetStream flush every record to disk before acknowledging it. Without it an
	// acknowledged record is in the operating system's cache and is flushed every two minutes
	// (nats-server's default): it survives a crash of the process, not a power cut. A cluster with
	// three replicas covers the power cut too, without the cost of a flush per message.
	SyncAlways bool
	// ReadyTimeout bounds the wait for the server to accept clients; 0 means 10s. Recovering a
	// large store takes longer than an empty start.
	ReadyTimeout time.Duration
}

// Server is an in-process NATS server with JetStream file storage.
type Server struct {
	ns  *server.Server
	dir string
}

// DefaultDir returns the data directory the chat uses when none is given: $XDG_STATE_HOME/duplex-chat,
// else ~/.local/state/duplex-chat (the XDG base directory default for state that should survive a
// restart but is not configuration), else ./.chat-data when no home directory is known.
func DefaultDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "duplex-chat")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "duplex-chat")
	}
	return ".chat-data"
}

// StartEmbedded starts a NATS server inside this process with JetStream storing under opts.Dir and
// returns once it accepts clients. The caller owns the Server and must call Shutdown.
func StartEmbedded(opts Options) (*Server, error) {
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir()
	}
	// 0700: the store holds every room's messages.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: data directory: %w", err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := opts.Name
	if name == "" {
		name = "duplex-chat"
	}
	wait := opts.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: opts.SyncAlways,
		// The chat owns signals and logging; an embedded server must not install its own
		// SIGTERM handler or print to stderr.
		NoSigs: true,
		NoLog:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("broker: embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("broker: embedded server not ready in time")
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("broker: embedded server started without JetStream")
	}
	return &Server{ns: ns, dir: dir}, nil
}

// ClientURL returns the URL clients connect to, such as nats://127.0.0.1:4222.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Dir returns the data directory in use.
func (s *Server) Dir() string { return s.dir }

// Shutdown stops the server, flushing JetStream's files, and returns once it has stopped. Clients see
// a disconnect. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
