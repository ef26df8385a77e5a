package broker_test

import "go.uber.org/goleak"

// leakOptions lists goroutines that outlive a test through no fault of this package.
func leakOptions() []goleak.Option {
	return []goleak.Option{}
}
