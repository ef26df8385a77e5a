// Package servertest runs the server binaries of duplex/cmd as processes and
// plays hostile HTTP clients against them: idle keep-alive connections and
// oversized request heads. It serves the tests of those binaries, which are
// separate main packages and cannot share test code otherwise. It uses the
// standard library only, and talks to loopback only.
package servertest

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildTimeout bounds building a binary, and listenTimeout waiting for it
// to listen: a build under load on a shared machine can take a while.
const (
	buildTimeout  = 5 * time.Minute
	listenTimeout = time.Minute
)

// Build compiles the package pkg (an import path such as "duplex/cmd/chat")
// into a directory of the test's, and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("servertest: go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a running server binary.
type Process struct {
	// Addr is the host:port it listens on, as its log said.
	Addr string

	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// Start runs bin with args and waits until a line of its standard error
// matches listening, whose first group is the address it listens on. The
// process is killed at the end of the test unless [Process.Stop] ended it;
// its log is shown if the test failed.
func Start(t testing.TB, bin string, listening *regexp.Regexp, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("servertest: start %s: %v", bin, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); len(m) > 1 {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), p.Log())
		}
	})
	select {
	case p.Addr = <-ready:
	case <-p.exited:
		t.Fatalf("servertest: %s exited before listening: %v\n%s", bin, p.err, p.Log())
	case <-time.After(listenTimeout):
		t.Fatalf("servertest: %s not listening within %v:\n%s", bin, listenTimeout, p.Log())
	}
	return p
}

// Log returns what the process wrote to standard error so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop sends SIGTERM, as a supervisor would, and returns the exit error
// (nil for status 0), or an error if the process is still running after
// timeout.
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		return context.DeadlineExceeded
	}
}

// CheckUsage runs bin -h, which must print usage (and the usage of every
// flag in flags) and exit 0, and bin with the bad command line bad, which
// must say why (badMsg) and exit 2.
func CheckUsage(t *testing.T, bin, usage string, flags []string, bad []string, badMsg string) {
	t.Helper()
	out, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil {
		t.Errorf("%s -h: %v, want exit status 0\n%s", bin, err, out)
	}
	for _, want := range append([]string{usage}, flags...) {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s -h does not print %q:\n%s", bin, want, out)
		}
	}
	out, err = exec.Command(bin, bad...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("%s %q: %v, want exit status 2", bin, bad, err)
	}
	if !strings.Contains(string(out), badMsg) {
		t.Errorf("%s %q does not say %q:\n%s", bin, bad, badMsg, out)
	}
}
