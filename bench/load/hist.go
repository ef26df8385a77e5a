package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets: exact below 256 ns,
// then 128 buckets per power of two, so a quantile is within 0.4% of the
// true value. It is safe for concurrent use and does not allocate after
// creation.
type histogram struct {
	counts [histBuckets]atomic.Uint64
}

const (
	histExact   = 256 // values below are their own bucket
	histSub     = 128 // buckets per power of two above
	histBuckets = histExact + 56*histSub
)

// bucket returns the index of v's bucket.
func bucket(v uint64) int {
	if v < histExact {
		return int(v)
	}
	e := bits.Len64(v) - 8 // v>>e is in [128, 256)
	return histExact + (e-1)*histSub + int(v>>e) - histSub
}

// bounds returns the smallest value of bucket i and the bucket's width.
func bounds(i int) (low, width uint64) {
	if i < histExact {
		return uint64(i), 1
	}
	i -= histExact
	e := i/histSub + 1
	m := uint64(i%histSub + histSub)
	return m << e, 1 << e
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucket(uint64(max(d, 0)))].Add(1)
}

// count returns the number of durations recorded.
func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// quantile returns the duration below which a fraction q of the recorded
// ones lie (the middle of the bucket holding it), or 0 when none was
// recorded.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			low, width := bounds(i)
			return time.Duration(low + width/2)
		}
	}
	return 0
}
