package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"duplex/chat"
	"duplex/conn"
)

// serveEnv, set in a child's environment, makes chatload (or its test binary) serve the chat instead:
// the server runs in a process of its own, so that its memory can be read apart from the clients'.
const serveEnv = "CHATLOAD_SERVE"

// profileEnv names the file the child writes its CPU profile to.
const profileEnv = "CHATLOAD_CPUPROFILE"

// clientProfileEnv names the file chatload writes the CPU profile of its load clients to.
const clientProfileEnv = "CHATLOAD_CLIENT_CPUPROFILE"

// heapEnv names the file the child writes its heap profile to, at each collection.
const heapEnv = "CHATLOAD_HEAPPROFILE"

// eventEnv, set to 1 in a server child's environment, serves the members readiness-driven (chat.Config.Loop).
const eventEnv = "CHATLOAD_EVENT"

// batchEnv, in a server child's environment, is its chat.Config.PresenceBatch ("0": none).
const batchEnv = "CHATLOAD_PRESENCE_BATCH"

// serveChild is the child's main: it serves the chat on loopback with limits that let every load
// client join one room, prints the address on stdout, and stops when stdin closes (the parent ended).
func serveChild(stdin io.Reader, stdout io.Writer) error {
	clients, err := strconv.Atoi(os.Getenv(serveEnv))
	if err != nil || clients <= 0 {
		return fmt.Errorf("chatload: %s=%q: want the client count", serveEnv, os.Getenv(serveEnv))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// A CPU profile of the server alone, for go tool pprof, when the environment names a file.
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := &chat.Config{
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MaxConnsPerIP: clients + 16, // every client comes from 127.0.0.1
		MaxRoom:       clients + 16,
		JoinTimeout:   time.Minute,
	}
	if v := os.Getenv(batchEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("chatload: %s=%q: want a size", batchEnv, v)
		}
		cfg.PresenceBatch = n
		if n == 0 {
			cfg.PresenceBatch = -1 // Config's zero is the default; the flag's 0 is none
		}
	}
	if os.Getenv(eventEnv) == "1" {
		l, err := conn.NewLoop(nil)
		if err != nil {
			return err
		}
		defer l.Close()
		cfg.Loop = l
	}
	srv := chat.NewServer(cfg)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintln(stdout, ln.Addr().String())
	// Each line "gc" collects garbage and returns freed memory to the OS before "ok" is answered, so that
	// the parent measures what the joined clients hold, not the join's garbage. The end of stdin (the
	// parent closed it, or died) stops the server.
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if sc.Text() == "gc" {
			debug.FreeOSMemory()
			if path := os.Getenv(heapEnv); path != "" {
				if f, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(f) // the last one written is the joined one
					f.Close()
				}
			}
			fmt.Fprintln(stdout, "ok")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
	<-served
	return nil
}

// child is a server process chatload started.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	addr   string
}

// startChild runs this executable as a server for clients load clients and waits for its address.
func startChild(clients int, event bool, batch int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$") // the flag keeps a test binary from running its tests
	cmd.Env = append(os.Environ(), serveEnv+"="+strconv.Itoa(clients))
	if event {
		cmd.Env = append(cmd.Env, eventEnv+"=1")
	}
	cmd.Env = append(cmd.Env, batchEnv+"="+strconv.Itoa(batch))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("chatload: server did not start: %w", err)
	}
	return &child{cmd: cmd, stdin: stdin, stdout: out, addr: strings.TrimSpace(line)}, nil
}

// collect asks the child to collect garbage and return it to the OS, and waits until it did.
func (c *child) collect() error {
	if _, err := fmt.Fprintln(c.stdin, "gc"); err != nil {
		return err
	}
	_, err := c.stdout.ReadString('\n')
	return err
}

// stop closes the child's stdin, which shuts it down, and waits for it.
func (c *child) stop() error {
	_ = c.stdin.Close()
	return c.cmd.Wait()
}

// rssKiB reads a process's resident set size from /proc/<pid>/status.
func rssKiB(pid int) (int64, error) { return procField(pid, "status", "VmRSS:") }

// writeCalls reads how many write system calls a process has made, from /proc/<pid>/io.
func writeCalls(pid int) (int64, error) { return procField(pid, "io", "syscw:") }

// procField reads the number on the line of /proc/<pid>/file that starts with key ("VmRSS:"), without
// its unit.
func procField(pid int, file, key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("chatload: no %s in /proc/%d/%s", key, pid, file)
}

// cpuTime reads a process's user and system CPU time from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields are counted after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("chatload: short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("chatload: bad /proc/%d/stat", pid)
	}
	// USER_HZ is 100 on Linux for every architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
