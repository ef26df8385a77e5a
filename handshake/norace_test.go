//go:build !race

package handshake_test

// raceAllocs: see race_test.go.
const raceAllocs = 0
