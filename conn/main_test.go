package conn_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// goroutine a connection starts must end with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
