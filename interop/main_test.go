package interop_test

import (
	"testing"

	"go.uber.org/goleak"

	"duplex/internal/godebug"
)

// TestMain runs the tests in a process started with GODEBUG=http2xconnect=1,
// without which net/http's HTTP/2 server refuses the extended CONNECT of
// RFC 8441 that Chromium sends over HTTP/2 (h2_test.go), and fails the run if
// a test leaves a goroutine behind. The ws command is built once for the
// tests that run it (buildWS), so its directory is removed here, after them,
// whether they passed or not.
func TestMain(m *testing.M) {
	godebug.Main(m, godebug.XConnect, func(m *testing.M) int {
		defer removeWS()
		return godebug.Checked(func() error { return goleak.Find() })(m)
	})
}
