package stats

import (
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
	Percent
)

// DefaultBuckets are Envoy's default histogram bucket bounds.
var DefaultBuckets = [...]float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// Histogram records a distribution of values. Record is safe for concurrent use and
// costs a few atomic adds.
type Histogram struct {
	name    string
	unit    Unit
	count   atomic.Uint64
	sum     atomic.Uint64
	used    atomic.Bool
	buckets [len(DefaultBuckets) + 1]atomic.Uint64 // last bucket is +Inf
}

func newHistogram(name string, unit Unit) *Histogram {
	return &Histogram{name: name, unit: unit}
}

// Name returns the histogram's full name.
func (h *Histogram) Name() string { return h.name }

// Unit returns what the histogram measures.
func (h *Histogram) Unit() Unit { return h.unit }

// Record adds one sample.
func (h *Histogram) Record(v uint64) {
	i := 0
	f := float64(v)
	for i < len(DefaultBuckets) && f > DefaultBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	if !h.used.Load() {
		h.used.Store(true)
	}
}

// Used reports whether a sample was ever recorded.
func (h *Histogram) Used() bool { return h.used.Load() }

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Sum returns the sum of the samples.
func (h *Histogram) Sum() uint64 { return h.sum.Load() }
