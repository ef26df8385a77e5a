package micro_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The net/http benchmarks start an http.Server: none of its goroutines
// may outlive a benchmark.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
