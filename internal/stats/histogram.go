package stats

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Unit is what a histogram's values measure.
type Unit int

// Histogram units, as Envoy names them.
const (
	Unspecified Unit = iota
	Bytes
	Microseconds
	Milliseconds
	// Percent values are recorded scaled by PercentScale: 1.0 (100%) is recorded as
	// 1000000. Outputs divide quantiles and sums by PercentScale and compare the
	// bucket bounds against bound*PercentScale, as Envoy does.
	Percent
)

// PercentScale is the fixed-point scale of Percent histograms.
const PercentScale = 1000000

// DefaultBuckets are Envoy's default histogram bucket bounds. They must not be
// modified.
var DefaultBuckets = [...]float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// SupportedQuantiles are the quantiles Envoy reports (P0 P25 P50 P75 P90 P95 P99
// P99.5 P99.9 P100), as fractions. HistogramStats.Quantiles follows this order.
var SupportedQuantiles = [...]float64{0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1}

const (
	numBounds    = len(DefaultBuckets)
	numQuantiles = len(SupportedQuantiles)

	// Quantiles come from log-linear sub-buckets: every power of two is split into
	// 1<<subBits equal parts, values below 1<<subBits are exact, and values from
	// 1<<maxExp up share one overflow bucket bounded by the recorded maximum. With
	// subBits=2 a bucket is at most 25% wide. Interpolating inside buckets and the
	// exact minimum and maximum keep the error on realistic latency and size
	// distributions within 3% (see TestQuantileAccuracy); samples piled on a
	// bucket edge can be off by up to the bucket width. Eight sub-buckets per power
	// of two would halve the error and cost about 1 KiB more per histogram.
	subBits     = 2
	subCount    = 1 << subBits
	maxExp      = 32
	overflowSub = subCount + (maxExp-subBits)*subCount
	numSub      = overflowSub + 1
)

// boundTables holds the default bounds as integer thresholds: an integer sample v
// falls at or below bound b exactly when v <= floor(b). The second table is for
// Percent histograms, whose bounds are scaled by PercentScale.
var boundTables = func() (t [2][numBounds]uint64) {
	for i, b := range DefaultBuckets {
		t[0][i] = uint64(math.Floor(b))
		t[1][i] = uint64(math.Floor(b * PercentScale))
	}
	return t
}()

// firstBound[u][n] is the index of the first threshold of boundTables[u] that a
// value of bit length n can be at or below, so that finding a sample's bucket takes
// one or two comparisons instead of a binary search.
var firstBound = func() (f [2][65]uint8) {
	for u := range boundTables {
		for n := range 65 {
			var lo uint64 // smallest value of bit length n
			if n > 0 {
				lo = 1 << (n - 1)
			}
			i := 0
			for i < numBounds && boundTables[u][i] < lo {
				i++
			}
			f[u][n] = uint8(i)
		}
	}
	return f
}()

// Histogram records a distribution of values. Record is safe for concurrent use and
// costs three atomic adds and two atomic loads; it never locks or allocates.
//
// The proxy calls Store.Flush once per stats flush interval. Interval quantiles and
// bucket counts describe the samples recorded between the last two flushes;
// cumulative ones describe every sample so far, including those recorded since the
// last flush. Without flushes the interval stays empty (every interval quantile is
// NaN) and cumulative statistics keep working.
type Histogram struct {
	identity
	unit Unit

	// Hot path, written by Record.
	buckets [numBounds + 1]atomic.Uint64 // per default bound, disjoint; last is +Inf
	sum     atomic.Uint64
	minInv  atomic.Uint64 // ^minimum since the last flush (zero means none)
	max     atomic.Uint64 // maximum since the last flush
	live    [numSub]atomic.Uint32

	mu     sync.Mutex // guards everything below and serializes Flush with readers
	folded histogramFold
	last   intervalStats
}

// histogramFold is the cumulative state that Flush folds the live counts into.
type histogramFold struct {
	sub        [numSub]uint32 // cumulative sub-bucket counts, divided by 1<<shift
	shift      uint8
	seen       bool // whether min and max hold anything
	min, max   uint64
	prevBucket [numBounds + 1]uint32 // low bits of buckets at the last flush
	prevSum    uint64
}

// intervalStats is what the last completed flush interval looked like.
type intervalStats struct {
	buckets   [numBounds + 1]uint32 // disjoint counts
	count     uint64
	sum       uint64
	quantiles [numQuantiles]float64
}

func newHistogram(id identity, unit Unit) *Histogram {
	h := &Histogram{identity: id, unit: unit}
	for i := range h.last.quantiles {
		h.last.quantiles[i] = math.NaN()
	}
	return h
}

// Name returns the histogram's full name.
func (h *Histogram) Name() string { return h.name }

// TagExtractedName returns the name with Envoy's tag values removed.
func (h *Histogram) TagExtractedName() string { return h.tagExtractedName() }

// Tags returns a copy of the tags extracted from the histogram's name.
func (h *Histogram) Tags() []Tag { return slices.Clone(h.tags) }

// Unit returns what the histogram measures.
func (h *Histogram) Unit() Unit { return h.unit }

// Record adds one sample.
func (h *Histogram) Record(v uint64) {
	if inv := ^v; inv > h.minInv.Load() {
		h.lowerMin(inv)
	}
	if v > h.max.Load() {
		h.raiseMax(v)
	}
	h.buckets[h.bucketIndex(v)].Add(1)
	h.live[subIndex(v)].Add(1)
	h.sum.Add(v)
}

func (h *Histogram) lowerMin(inv uint64) {
	for {
		old := h.minInv.Load()
		if inv <= old || h.minInv.CompareAndSwap(old, inv) {
			return
		}
	}
}

func (h *Histogram) raiseMax(v uint64) {
	for {
		old := h.max.Load()
		if v <= old || h.max.CompareAndSwap(old, v) {
			return
		}
	}
}

// bucketIndex returns the first default bound that v does not exceed, or
// numBounds for +Inf.
func (h *Histogram) bucketIndex(v uint64) int {
	u := 0
	if h.unit == Percent {
		u = 1
	}
	t := &boundTables[u]
	i := int(firstBound[u][bits.Len64(v)])
	for i < numBounds && v > t[i] {
		i++
	}
	return i
}

// subIndex returns the quantile sub-bucket of v.
func subIndex(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - 1
	if e >= maxExp {
		return overflowSub
	}
	return subCount + (e-subBits)<<subBits + int(v>>(e-subBits))&(subCount-1)
}

// subRange returns the smallest and largest integer that sub-bucket i holds.
func subRange(i int) (lo, hi uint64) {
	switch {
	case i < subCount:
		return uint64(i), uint64(i)
	case i >= overflowSub:
		return 1 << maxExp, math.MaxUint64
	}
	k := i - subCount
	e := k>>subBits + subBits
	width := uint64(1) << (e - subBits)
	lo = 1<<e + uint64(k&(subCount-1))*width
	return lo, lo + width - 1
}

// Used reports whether a sample was ever recorded.
func (h *Histogram) Used() bool { return h.Count() > 0 }

// Count returns the number of samples.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// Sum returns the sum of the samples, in recorded (unscaled) units.
func (h *Histogram) Sum() uint64 { return h.sum.Load() }
