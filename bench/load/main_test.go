package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no run leaves a goroutine behind: every connection's
// goroutine, the fake servers' included, ends with its run or its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
