package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	chatBin   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/chat once, with the race detector, so that the browser tests check the server for
// data races too (a race makes it exit with status 66).
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "duplex-e2e-")
		if buildErr != nil {
			return
		}
		chatBin = filepath.Join(binDir, "chat")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-race", "-o", chatBin, "duplex/cmd/chat").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build duplex/cmd/chat: " + err.Error() + "\n" + string(out))
		}
	})
	require.NoError(t, buildErr)
	return chatBin
}

// stateDirs maps a test's name to its cmd/chat state directory.
var stateDirs sync.Map

// stateDir returns the test's state directory, the same on every call within the test, removed with it.
func stateDir(t testing.TB) string {
	t.Helper()
	if d, ok := stateDirs.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	stateDirs.Store(t.Name(), d)
	t.Cleanup(func() { stateDirs.Delete(t.Name()) })
	return d
}

// server is a running cmd/chat process.
type server struct {
	addr   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
	err    error // the process's exit, once exited is closed
}

var listening = regexp.MustCompile(`msg="chat: listening" addr=(\S+)`)

// startServer runs cmd/chat on addr (127.0.0.1:0 for any free port) and waits until it listens.
// The process is killed at the end of the test if the test did not stop it.
func startServer(t testing.TB, addr string, args ...string) *server {
	t.Helper()
	bin := binary(t)
	s := &server{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"-addr", addr, "-log-level", "debug"}, args...)...)
	// The embedded NATS keeps rooms under XDG_STATE_HOME: one directory per test, shared by the
	// restarts within it (so history survives them, as for a user) and by no other test.
	s.cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+stateDir(t))
	stderr, err := s.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logText())
		}
	})
	select {
	case s.addr = <-ready:
	case <-s.exited:
		t.Fatalf("server exited before listening: %v\n%s", s.err, s.logText())
	case <-time.After(time.Minute):
		t.Fatalf("server not listening within a minute:\n%s", s.logText())
	}
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends SIGTERM, as a supervisor would, and checks that the server exits cleanly and found no race.
func (s *server) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		t.Fatalf("server did not exit within a minute of SIGTERM:\n%s", s.logText())
	}
	assert.NoError(t, s.err, "exit status after SIGTERM")
	assert.NotContains(t, s.logText(), "DATA RACE")
}
