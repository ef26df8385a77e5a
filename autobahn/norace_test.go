//go:build !race

package autobahn_test

// raceDetector is true when the tests run under the race detector, which
// slows the suite's own compression about tenfold.
const raceDetector = false
