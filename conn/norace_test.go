//go:build !race

package conn_test

// raceAllocs: see race_test.go.
const raceAllocs = 0
