package interop_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"duplex/internal/godebug"
)

// TestMain runs the tests in a process started with GODEBUG=http2xconnect=1,
// without which net/http's HTTP/2 server refuses the extended CONNECT of
// RFC 8441 that Chromium sends over HTTP/2 (h2_test.go).
func TestMain(m *testing.M) {
	godebug.Main(m, godebug.XConnect, func(m *testing.M) int {
		code := m.Run()
		if wsBin.dir != "" {
			_ = os.RemoveAll(wsBin.dir)
		}
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
			}
		}
		return code
	})
}
