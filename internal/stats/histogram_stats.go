package stats

import (
	"math"
)

// HistogramStats describes a histogram's samples over one period: the last flush
// interval (Histogram.Interval) or the histogram's whole life
// (Histogram.Cumulative).
type HistogramStats struct {
	// Count is the number of samples.
	Count uint64
	// Sum is the sum of the samples; Percent histograms report fractions.
	Sum float64
	// Quantiles holds the values at SupportedQuantiles, in that order. They are
	// NaN when the period has no samples.
	Quantiles [numQuantiles]float64
	// Buckets holds, for each of DefaultBuckets, how many samples were at or below
	// that bound (Envoy's "cumulative" buckets). The +Inf bucket is Count.
	Buckets [numBounds]uint64
}

// DisjointBuckets returns, for each of DefaultBuckets, how many samples were above
// the previous bound and at or below this one (Envoy's "disjoint" buckets).
func (s *HistogramStats) DisjointBuckets() [numBounds]uint64 {
	var d [numBounds]uint64
	var prev uint64
	for i, c := range s.Buckets {
		d[i] = c - prev
		prev = c
	}
	return d
}

// Flush closes the current interval: from now on Interval describes the samples
// recorded since the previous Flush. Store.Flush calls it for every histogram.
func (h *Histogram) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	imin, imax := ^h.minInv.Swap(0), h.max.Swap(0)
	var delta [numSub]uint32
	var counts [numSub]uint64
	var total uint64
	for i := range h.live {
		if h.live[i].Load() == 0 {
			continue // a load is much cheaper than a swap, and most buckets are idle
		}
		d := h.live[i].Swap(0)
		delta[i], counts[i] = d, uint64(d)
		total += uint64(d)
	}
	h.flushBuckets()
	h.last.quantiles = h.quantiles(&counts, total, imin, imax)
	h.folded.add(&delta)
	h.folded.addRange(imin, imax) // even when total is 0: a racing sample's count comes next
}

// flushBuckets records the default-bucket counts and the sum of the interval that
// ends now.
func (h *Histogram) flushBuckets() {
	var n uint64
	for i := range h.buckets {
		now := uint32(h.buckets[i].Load()) // deltas are taken modulo 2^32
		d := now - h.folded.prevBucket[i]
		h.last.buckets[i], h.folded.prevBucket[i] = d, now
		n += uint64(d)
	}
	sum := h.sum.Load()
	h.last.sum, h.folded.prevSum = sum-h.folded.prevSum, sum
	h.last.count = n
}

// Interval returns the statistics of the last completed flush interval.
func (h *Histogram) Interval() HistogramStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HistogramStats{
		Count:     h.last.count,
		Sum:       h.scale(float64(h.last.sum)),
		Quantiles: h.last.quantiles,
	}
	if s.Count == 0 {
		s.Quantiles = h.quantiles(&[numSub]uint64{}, 0, 0, 0) // all NaN
	}
	var run uint64
	for i := range s.Buckets {
		run += uint64(h.last.buckets[i])
		s.Buckets[i] = run
	}
	return s
}

// Cumulative returns the statistics of every sample recorded so far.
func (h *Histogram) Cumulative() HistogramStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drainIfOverflowing()
	var s HistogramStats
	for i := range h.buckets {
		n := h.buckets[i].Load()
		s.Count += n
		if i < numBounds {
			s.Buckets[i] = s.Count
		}
	}
	s.Sum = h.scale(float64(h.sum.Load()))
	var counts [numSub]uint64
	var total uint64
	for i := range h.live {
		counts[i] = uint64(h.folded.sub[i]) + uint64(scaleDown(h.live[i].Load(), h.folded.shift))
		total += counts[i]
	}
	lo, hi := h.folded.min, h.folded.max
	if !h.folded.seen {
		lo, hi = math.MaxUint64, 0
	}
	lo, hi = min(lo, ^h.minInv.Load()), max(hi, h.max.Load())
	s.Quantiles = h.quantiles(&counts, total, lo, hi)
	return s
}

// drainIfOverflowing folds the live sub-bucket counts into the cumulative ones when
// one of them nears 2^32, which only happens when Flush is not being called. The
// drained samples then miss from the next interval, which has lost its meaning
// anyway.
func (h *Histogram) drainIfOverflowing() {
	for i := range h.live {
		if h.live[i].Load() >= 1<<31 {
			var delta [numSub]uint32
			for j := range h.live {
				delta[j] = h.live[j].Swap(0)
			}
			h.folded.add(&delta)
			return
		}
	}
}

// scale converts a recorded value to the unit it is reported in.
func (h *Histogram) scale(v float64) float64 {
	if h.unit == Percent {
		return v / PercentScale
	}
	return v
}

// quantilePermille is SupportedQuantiles in thousandths, for exact rank math.
var quantilePermille = [numQuantiles]uint64{0, 250, 500, 750, 900, 950, 990, 995, 999, 1000}

// quantiles estimates SupportedQuantiles from sub-bucket counts by nearest rank:
// quantile q is the ceil(q*total)-th smallest sample (the smallest for q=0). Inside
// its bucket a sample's value is estimated by spreading the bucket's samples evenly
// over the bucket's range narrowed to [lo, hi], the smallest and largest sample
// seen; the first non-empty bucket starts at the minimum and the last ends at the
// maximum, so P0 and P100 are exact.
func (h *Histogram) quantiles(counts *[numSub]uint64, total, lo, hi uint64) [numQuantiles]float64 {
	var out [numQuantiles]float64
	if total == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	first, last := -1, -1
	for i, n := range counts {
		if n > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	qi := 0
	var seen uint64
	for i := first; i <= last && qi < numQuantiles; i++ {
		n := counts[i]
		if n == 0 {
			continue
		}
		blo, bhi := clampRange(i, lo, hi)
		for ; qi < numQuantiles; qi++ {
			rank := max(1, (quantilePermille[qi]*total+999)/1000)
			if rank > seen+n {
				break
			}
			pos := spread(rank-seen, n, i == first, i == last)
			out[qi] = h.scale(float64(blo) + pos*float64(bhi-blo))
		}
		seen += n
	}
	return out
}

// spread returns where, as a fraction of its bucket's range, the k-th of n samples
// in the bucket is estimated to lie. The first bucket's smallest sample is the
// minimum and the last bucket's largest is the maximum.
func spread(k, n uint64, first, last bool) float64 {
	switch {
	case first && last:
		if n == 1 {
			return 0
		}
		return float64(k-1) / float64(n-1)
	case first:
		return float64(k-1) / float64(n)
	case last:
		return float64(k) / float64(n)
	}
	return (float64(k) - 0.5) / float64(n)
}

// clampRange returns the range of sub-bucket i narrowed to [lo, hi] where that
// leaves it non-empty.
func clampRange(i int, lo, hi uint64) (uint64, uint64) {
	blo, bhi := subRange(i)
	if lo > blo && lo <= bhi {
		blo = lo
	}
	if hi < bhi && hi >= blo {
		bhi = hi
	}
	return blo, bhi
}

// add folds one batch of drained live counts into the cumulative sub-buckets,
// halving all of them (and remembering the shift) rather than overflowing.
// Quantiles only depend on the ratios between buckets, so halving costs at most a
// rounding error.
func (f *histogramFold) add(delta *[numSub]uint32) {
	for i, d := range delta {
		if d == 0 {
			continue
		}
		inc := scaleDown(d, f.shift)
		for uint64(f.sub[i])+uint64(inc) > math.MaxUint32 {
			f.halve()
			inc = scaleDown(d, f.shift)
		}
		f.sub[i] += inc
	}
}

func (f *histogramFold) halve() {
	for i, c := range f.sub {
		f.sub[i] = uint32((uint64(c) + 1) >> 1) // a non-empty bucket stays non-empty
	}
	f.shift++
}

// addRange widens the cumulative range to [lo, hi], the range of one interval;
// lo = MaxUint64 and hi = 0 mean the interval saw nothing.
func (f *histogramFold) addRange(lo, hi uint64) {
	if lo == math.MaxUint64 && hi == 0 {
		return
	}
	if !f.seen {
		f.min, f.max, f.seen = lo, hi, true
		return
	}
	f.min, f.max = min(f.min, lo), max(f.max, hi)
}

// scaleDown divides n by 2^shift, rounding up so that a non-zero count stays
// non-zero.
func scaleDown(n uint32, shift uint8) uint32 {
	if shift == 0 {
		return n
	}
	return uint32((uint64(n) + 1<<shift - 1) >> shift)
}
