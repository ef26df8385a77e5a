// Package godebug re-executes a test binary with a GODEBUG setting that the
// standard library reads only once, when the process starts.
//
// net/http (and golang.org/x/net/http2) advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL, the HTTP/2 setting RFC 8441 needs for
// WebSockets, only when the process was started with http2xconnect=1 in
// GODEBUG: they read the variable in an init function, so setting it from
// the program (os.Setenv, or a //go:debug line, which the http2 code does
// not consult) comes too late. A test binary that needs the setting calls
// [Main] from its TestMain; the binaries that do not keep the default, so
// the rest of the suite still runs as users' programs do.
package godebug

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// XConnect is the setting that turns on RFC 8441 extended CONNECT in the
// HTTP/2 servers of net/http and golang.org/x/net/http2.
const XConnect = "http2xconnect=1"

// Has reports whether the process was started with setting in GODEBUG.
func Has(setting string) bool {
	for s := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(s) == setting {
			return true
		}
	}
	return false
}

// Main runs the tests of m in a process started with setting in GODEBUG:
// if this one was not, it runs itself again with the same arguments and
// the setting added, and exits with the child's status; otherwise it calls
// run, which is the TestMain body (m.Run and any checks after it), and exits
// with its result. It never returns.
func Main(m *testing.M, setting string, run func(*testing.M) int) {
	if Has(setting) || Without(setting) {
		os.Exit(run(m))
	}
	os.Exit(reexec(setting))
}

// Checked returns a body for [Main] that runs the tests, then check (a
// goroutine-leak check, say), and fails a run whose tests passed when check
// reports an error.
func Checked(check func() error) func(*testing.M) int {
	return func(m *testing.M) int {
		code := m.Run()
		if code == 0 {
			if err := check(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 1
			}
		}
		return code
	}
}

// withoutEnv names the variable by which [RunWithout] tells [Main] in the
// child not to add the setting back.
const withoutEnv = "DUPLEX_GODEBUG_WITHOUT"

// Without reports whether this process was started by [RunWithout] for
// setting: its GODEBUG lacks the setting on purpose.
func Without(setting string) bool {
	return os.Getenv(withoutEnv) == setting && !Has(setting)
}

// RunWithout runs the test named test of this binary (an exact name, a
// top-level test) in a new process whose GODEBUG lacks setting, and returns
// its combined output and how it exited. The test can tell it runs there
// with [Without]: it checks what a program started without the setting
// sees, which the process that runs the other tests cannot.
func RunWithout(setting, test string) ([]byte, error) {
	var kept []string
	for s := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if s = strings.TrimSpace(s); s != "" && s != setting {
			kept = append(kept, s)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.Join(kept, ","), withoutEnv+"="+setting)
	return cmd.CombinedOutput()
}

func reexec(setting string) int {
	env := os.Getenv("GODEBUG")
	if env != "" {
		env += ","
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+env+setting)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "godebug: re-running %s with GODEBUG=%s: %v\n", os.Args[0], setting, err)
	return 1
}
