package conn_test

import (
	"testing"

	"go.uber.org/goleak"

	"duplex/internal/godebug"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// goroutine a connection starts must end with it. The tests run in a
// process started with GODEBUG=http2xconnect=1, without which net/http's
// HTTP/2 server refuses the extended CONNECT of RFC 8441 (h2_test.go).
func TestMain(m *testing.M) {
	godebug.Main(m, godebug.XConnect, godebug.Checked(func() error { return goleak.Find() }))
}
