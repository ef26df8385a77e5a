package interop_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// requirePeer skips the test when a peer is missing, or fails it when
// DUPLEX_REQUIRE_PEERS=1 (CI), where a missing peer is a broken setup.
func requirePeer(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("DUPLEX_REQUIRE_PEERS") == "1" {
		t.Fatalf("peer %s is missing (%v); `make deps` installs it", name, err)
	}
	t.Skipf("peer %s is missing (%v); run `make deps` to install it", name, err)
}

// nodePeer returns the node binary after checking that ws is installed,
// or skips the test (fails it under DUPLEX_REQUIRE_PEERS=1) naming what is
// missing.
func nodePeer(t testing.TB) string {
	t.Helper()
	node, err := nodePath()
	requirePeer(t, "node ws", err)
	return node
}

func nodePath() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "ws", "package.json")); err != nil {
		return "", err
	}
	return node, nil
}

// pythonPath is Debian's interpreter, the one that sees python3-websockets
// (another python3 may come first on PATH).
const pythonPath = "/usr/bin/python3"

func checkPython() error {
	return exec.Command(pythonPath, "-c", "import websockets").Run()
}

// proc is a peer process whose stdout reports go to a router.
type proc struct {
	cmd      *exec.Cmd
	ready    chan event // the "listening" report of a server
	stderr   lockedBuffer
	readDone chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProc starts a peer process, routes its reports, and kills it when the
// test ends; its stderr is logged if the test failed.
func startProc(t testing.TB, r *router, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:      exec.Command(name, args...),
		ready:    make(chan event, 1),
		readDone: make(chan struct{}),
	}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			ev, ok := r.dispatchLine(sc.Bytes())
			if ok && ev.Event == "listening" {
				select {
				case p.ready <- ev:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.readDone
		_ = p.cmd.Wait()
		if t.Failed() {
			if s := p.stderr.String(); s != "" {
				t.Logf("%s stderr:\n%s", filepath.Base(name), s)
			}
		}
	})
	return p
}

// port waits for a server process's "listening" report.
func (p *proc) port(t testing.TB) int {
	t.Helper()
	select {
	case ev := <-p.ready:
		return ev.Port
	case <-time.After(waitTimeout):
		t.Fatalf("peer server did not report listening within %v; stderr:\n%s", waitTimeout, p.stderr.String())
		return 0
	}
}
