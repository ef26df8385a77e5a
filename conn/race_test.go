//go:build race

package conn_test

// raceAllocs is the allowance the allocation tests make under the race
// detector, whose sync.Pool drops a share of what is put back.
const raceAllocs = 1
