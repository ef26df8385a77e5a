package autobahn_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no session, reader, writer or server goroutine
// outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
