package autobahn_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

// h2Sections are the sections run over HTTP/2 and compared with HTTP/1.1:
// framing, ping/pong, reserved bits, opcodes, fragmentation, UTF-8,
// closing, large and many messages, fragmented sends. Under the race
// detector, section 9 (messages up to 16 MiB, thousands of them) is left to
// the run without it.
func h2Sections() []string {
	if raceDetector {
		return []string{"1", "2", "3", "4", "5", "6", "7", "10"}
	}
	return []string{"1", "2", "3", "4", "5", "6", "7", "9", "10"}
}

// startH2Echo builds and starts autobahn/internal/h2echo, duplex's echo on
// HTTP/1.1 and on TLS with h2, and returns its plain and TLS addresses and
// a TLS configuration trusting its certificate.
func startH2Echo(t *testing.T) (plain, secure string, cfg *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "h2echo")
	out, err := exec.Command("go", "build", "-o", bin, "duplex/autobahn/internal/h2echo").CombinedOutput()
	require.NoError(t, err, "%s", out)
	certFile := filepath.Join(dir, "cert.pem")
	cmd := exec.Command(bin, "-cert", certFile)
	// The server's process must start with the setting (see conn's
	// documentation, "WebSockets over HTTP/2").
	cmd.Env = append(os.Environ(), "GODEBUG=http2xconnect=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	_, err = fmt.Sscanf(line, "listening %s %s", &plain, &secure)
	require.NoError(t, err, "%q", line)
	pemBytes, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	return plain, secure, &tls.Config{RootCAs: pool}
}

// TestConformanceH2 runs the cases of h2Sections against one duplex server
// twice: upgraded over HTTP/1.1, and on RFC 8441 streams (an extended
// CONNECT per case over TLS with h2), the same frames either way. Both runs
// must pass strictly, with the same verdicts and clean closes case by case.
// The verdicts judge the close codes; the codes themselves are not compared,
// as some cases' own timers decide which close goes first (2.1: a pong late
// on a loaded machine lets the case's empty close go before its 1000).
func TestConformanceH2(t *testing.T) {
	t.Parallel()
	plain, secure, cfg := startH2Echo(t)
	var cases []*autobahn.Case
	for _, c := range autobahn.Cases() {
		if slices.Contains(h2Sections(), strings.Split(c.ID, ".")[0]) {
			cases = append(cases, c)
		}
	}
	t.Logf("%d cases of sections %v", len(cases), h2Sections())
	run := func(agent string, client func(ctx context.Context, cs []*autobahn.Case) (*autobahn.Report, error)) []*autobahn.Result {
		return runStrict(t, cases, func(cs []*autobahn.Case) ([]*autobahn.Result, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			rep, err := client(ctx, cs)
			if err != nil {
				return nil, err
			}
			return rep.Results(agent), nil
		})
	}
	h1 := run("duplex-h1", func(ctx context.Context, cs []*autobahn.Case) (*autobahn.Report, error) {
		return autobahn.RunClient(ctx, "ws://"+plain+"/", "duplex-h1", cs, nil)
	})
	h2 := run("duplex-h2", func(ctx context.Context, cs []*autobahn.Case) (*autobahn.Report, error) {
		return autobahn.RunClientH2(ctx, "https://"+secure+"/", "duplex-h2", cs, cfg, nil)
	})
	assertStrict(t, h1)
	assertStrict(t, h2)
	require.Len(t, h2, len(h1))
	for i := range h1 {
		a, b := h1[i], h2[i]
		require.Equal(t, a.ID, b.ID)
		assert.Equal(t, a.Behavior, b.Behavior, "%s behavior", a.ID)
		assert.Equal(t, a.BehaviorClose, b.BehaviorClose, "%s behaviorClose", a.ID)
		assert.Equal(t, a.WasClean, b.WasClean, "%s clean close", a.ID)
		assert.True(t, strings.HasPrefix(b.HTTPRequest, "CONNECT "), "%s went as %q", b.ID, b.HTTPRequest)
	}
}
