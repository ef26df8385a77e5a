package main

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...; the command name may hold
	// spaces and parentheses.
	const stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 3 0 99 1000 200 18446744073709551615\n"
	ticks, err := parseStat(stat)
	require.NoError(t, err)
	assert.Equal(t, uint64(1234+567), ticks)

	for _, bad := range []string{"", "4242 no parens", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 x 567"} {
		_, err := parseStat(bad)
		require.ErrorIs(t, err, errProc, "%q", bad)
	}
}

func TestProcCPUGrows(t *testing.T) {
	before, err := procCPU(os.Getpid())
	require.NoError(t, err)
	x := uint64(1)
	for i := range 50_000_000 {
		x = splitmix(x + uint64(i))
	}
	after, err := procCPU(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after, before, "spinning costs CPU time (%d)", x)
}

func TestParseStatus(t *testing.T) {
	const status = "Name:\tload\nVmPeak:\t  9000 kB\nVmRSS:\t   1536 kB\nThreads:\t7\n"
	rss, err := parseStatus(status, "VmRSS")
	require.NoError(t, err)
	assert.Equal(t, int64(1536), rss)
	th, err := parseStatus(status, "Threads")
	require.NoError(t, err)
	assert.Equal(t, int64(7), th)
	_, err = parseStatus(status, "VmSwap")
	require.ErrorIs(t, err, errProc)
	_, err = parseStatus("VmRSS:\tlots kB\n", "VmRSS")
	require.ErrorIs(t, err, errProc)
}

func TestProcStatusSelf(t *testing.T) {
	rss, err := procStatus(os.Getpid(), "VmRSS")
	require.NoError(t, err)
	assert.Positive(t, rss)
	_, err = loadAvg()
	require.NoError(t, err)
}

func TestParseCPUTimes(t *testing.T) {
	const stat = "cpu  100 10 50 800 20 5 15 0 0 0\n" +
		"cpu0 60 5 30 380 10 3 12 0 0 0\n" +
		"cpu1 40 5 20 420 10 2 3 0 0 0\n" +
		"intr 12345\nctxt 999\n"
	got, err := parseCPUTimes(stat)
	require.NoError(t, err)
	assert.Equal(t, []cpuTimes{{busy: 180, total: 1000}, {busy: 110, total: 500}, {busy: 70, total: 500}}, got)

	later := []cpuTimes{{busy: 280, total: 1200}, {busy: 200, total: 600}, {busy: 80, total: 600}}
	assert.InDelta(t, 1.0, busyBetween(got, later, -1), 1e-12, "two cores, half busy: one core's worth")
	assert.InDelta(t, 0.9, busyBetween(got, later, 0), 1e-12)
	assert.InDelta(t, 0.1, busyBetween(got, later, 1), 1e-12)
	assert.Equal(t, -1.0, busyBetween(got, later, 2), "no such core")
	assert.Equal(t, -1.0, busyBetween(got, got, 0), "no time passed")

	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu a b c d e f g h\n"} {
		_, err := parseCPUTimes(bad)
		require.ErrorIs(t, err, errProc, "%q", bad)
	}
}

func TestReadCPUTimes(t *testing.T) {
	got, err := readCPUTimes()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(got), runtime.NumCPU()+1, "the total and one line per core")
	busy, err := sampleBusy(20 * time.Millisecond)
	require.NoError(t, err)
	assert.LessOrEqual(t, busy, float64(runtime.NumCPU()))
	core := pinnedCore(os.Getpid())
	assert.True(t, core == -1 || core < runtime.NumCPU(), "core %d", core)
}
