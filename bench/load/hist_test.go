package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestBucketBounds checks that every value falls in the bucket bounds
// reports for it, and that the buckets are ordered.
func TestBucketBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []uint64{0, 1, 255, 256, 257, 511, 512, 1 << 20, 1<<63 - 1, 1 << 63}
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for _, v := range vals {
		i := bucket(v)
		assert.Less(t, i, histBuckets, "value %d", v)
		low, width := bounds(i)
		assert.LessOrEqual(t, low, v, "value %d", v)
		assert.Less(t, v-low, width, "value %d", v)
		if i > 0 {
			prevLow, prevWidth := bounds(i - 1)
			assert.Equal(t, low, prevLow+prevWidth, "bucket %d follows %d", i, i-1)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h histogram
	assert.Zero(t, h.quantile(0.5))
	r := rand.New(rand.NewPCG(3, 4))
	var all []time.Duration
	for range 20000 {
		d := time.Duration(r.ExpFloat64() * float64(300*time.Microsecond))
		all = append(all, d)
		h.record(d)
	}
	slices.Sort(all)
	assert.Equal(t, uint64(len(all)), h.count())
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := all[int(q*float64(len(all)))-1]
		assert.InEpsilon(t, float64(exact), float64(h.quantile(q)), 0.01, "quantile %v", q)
	}
}
