package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on
// every architecture Linux runs Go on (sysconf(_SC_CLK_TCK)).
const userHZ = 100

var errProc = errors.New("load: unexpected /proc format")

// procCPU returns the CPU time process pid used so far, in seconds: utime
// plus stime from /proc/PID/stat, which count every thread, those that
// exited included.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	ticks, err := parseStat(string(b))
	return float64(ticks) / userHZ, err
}

// parseStat returns utime+stime, in clock ticks, from the text of
// /proc/PID/stat. The command name, field 2, is in parentheses and may hold
// spaces and parentheses itself, so the fields are counted from the last
// ')': utime and stime are fields 14 and 15 (proc(5)).
func parseStat(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no command name in stat", errProc)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: %d fields in stat", errProc, len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%w: %w", errProc, err)
	}
	return utime + stime, nil
}

// procStatus returns the value of a numeric field of /proc/PID/status,
// such as VmRSS (in KiB) or Threads.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	return parseStatus(string(b), field)
}

// parseStatus finds "field:  value [kB]" in the text of /proc/PID/status.
func parseStatus(s, field string) (int64, error) {
	for line := range strings.Lines(s) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %w", errProc, field, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: no %s in status", errProc, field)
}

// loadAvg returns the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAvg() ([3]float64, error) {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l, fmt.Errorf("load: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, fmt.Errorf("%w: loadavg %q", errProc, b)
	}
	for i := range l {
		if l[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return l, fmt.Errorf("%w: loadavg: %w", errProc, err)
		}
	}
	return l, nil
}

// cpuTimes is one line of /proc/stat: the time a core (or, for the first
// line, all of them) spent busy and in all, in clock ticks.
type cpuTimes struct{ busy, total uint64 }

// readCPUTimes returns the first line of /proc/stat ("cpu", all cores) at
// index 0 and the line of core N at index N+1.
func readCPUTimes() ([]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return parseCPUTimes(string(b))
}

// parseCPUTimes reads the cpu lines of /proc/stat: user nice system idle
// iowait irq softirq steal ...; everything but idle and iowait is busy,
// the softirq time the kernel spends on the network stack included.
func parseCPUTimes(s string) ([]cpuTimes, error) {
	var out []cpuTimes
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if len(f) < 9 {
			return nil, fmt.Errorf("%w: %q in stat", errProc, strings.TrimSpace(line))
		}
		var t cpuTimes
		for i, v := range f[1:9] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: stat: %w", errProc, err)
			}
			t.total += n
			if i != 3 && i != 4 { // idle, iowait
				t.busy += n
			}
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no cpu line in stat", errProc)
	}
	return out, nil
}

// busyBetween returns the fraction of its time core i (-1 for all cores
// together, as a number of cores) was busy between a and b, or -1 when
// the core is unknown.
func busyBetween(a, b []cpuTimes, i int) float64 {
	j := i + 1
	if j >= len(a) || j >= len(b) || b[j].total <= a[j].total {
		return -1
	}
	frac := float64(b[j].busy-a[j].busy) / float64(b[j].total-a[j].total)
	if i < 0 {
		return frac * float64(len(a)-1)
	}
	return frac
}

// pinnedCore returns the one core process pid may run on, from
// Cpus_allowed_list in /proc/PID/status, or -1 when it may run on several.
func pinnedCore(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return -1 // a list or a range
			}
			return n
		}
	}
	return -1
}

// sampleBusy measures how many cores were busy over d, from /proc/stat.
// Taken while the harness's own processes wait, it tells how much other
// work shares the machine.
func sampleBusy(d time.Duration) (float64, error) {
	a, err := readCPUTimes()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b, err := readCPUTimes()
	if err != nil {
		return 0, err
	}
	return max(busyBetween(a, b, -1), 0), nil
}
