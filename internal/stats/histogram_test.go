package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSubBucketsCoverValues(t *testing.T) {
	prev := -1
	for _, v := range sampleValues() {
		i := subIndex(v)
		lo, hi := subRange(i)
		if v < lo || v > hi {
			t.Fatalf("subIndex(%d) = %d with range [%d, %d]", v, i, lo, hi)
		}
		if i < prev {
			t.Fatalf("subIndex(%d) = %d, below the index %d of a smaller value", v, i, prev)
		}
		prev = i
		if i != overflowSub && lo >= subCount && float64(hi-lo+1)/float64(lo) > 0.25 {
			t.Fatalf("bucket [%d, %d] is more than 25%% wide", lo, hi)
		}
	}
}

// sampleValues returns ascending values around every power of two.
func sampleValues() []uint64 {
	var vs []uint64
	for e := range 64 {
		p := uint64(1) << e
		vs = append(vs, p-1, p, p+1, p+p/3)
	}
	vs = append(vs, math.MaxUint64)
	slices.Sort(vs)
	return slices.Compact(vs)
}

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		unit Unit
		v    uint64
		want int
	}{
		{Milliseconds, 0, 0},               // <= 0.5
		{Milliseconds, 1, 1},               // <= 1
		{Milliseconds, 2, 2},               // <= 5
		{Milliseconds, 5, 2},               // bounds are inclusive
		{Milliseconds, 6, 3},               // <= 10
		{Milliseconds, 3600000, 18},        // the last bound
		{Milliseconds, 3600001, numBounds}, // +Inf
		{Percent, 500000, 0},               // 50% <= 0.5
		{Percent, 500001, 1},               // <= 1 (100%)
		{Percent, 1000001, 2},
	}
	for _, tt := range tests {
		h := newHistogram(identity{name: "h"}, tt.unit)
		if got := h.bucketIndex(tt.v); got != tt.want {
			t.Errorf("unit %d: bucketIndex(%d) = %d, want %d", tt.unit, tt.v, got, tt.want)
		}
	}
}

// TestQuantileAccuracy compares estimated quantiles with exact nearest-rank ones.
func TestQuantileAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		n      int
		gen    func() uint64
		maxErr float64
	}{
		{"uniform", 100000, func() uint64 { return uint64(r.IntN(1000)) + 1 }, 0.05},
		{"lognormal ms", 100000, func() uint64 { return uint64(math.Exp(r.NormFloat64() + 4)) }, 0.05},
		{"lognormal us", 100000, func() uint64 { return uint64(math.Exp(1.5*r.NormFloat64() + 9)) }, 0.05},
		{"exponential", 100000, func() uint64 { return uint64(r.ExpFloat64() * 200) }, 0.05},
		{"beyond 2^32", 100000, func() uint64 { return uint64(r.Int64N(1 << 40)) }, 0.05},
		{"constant", 1000, func() uint64 { return 1234 }, 0},
		{"sparse", 7, sequence(50, 20, 30, 70, 100, 5000, 200), 0.125},
		// Point masses defeat interpolation inside a bucket: the error is bounded by
		// the bucket width, 25% at worst when every sample sits on a low edge.
		{"two points", 1000, func() uint64 { return []uint64{1000, 2000}[r.IntN(2)] }, 0.125},
		{"bucket low edges", 10000, func() uint64 { return 1 << (4 + r.IntN(20)) }, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram(identity{name: "h"}, Unspecified)
			vals := make([]uint64, tt.n)
			for i := range vals {
				vals[i] = tt.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			h.Flush()
			for _, s := range []HistogramStats{h.Interval(), h.Cumulative()} {
				for i, q := range SupportedQuantiles {
					want := float64(vals[max(1, int(math.Ceil(q*float64(len(vals)))))-1])
					if e := math.Abs(s.Quantiles[i]-want) / max(want, 1); e > tt.maxErr {
						t.Errorf("P%g = %g, want %g (error %.3f > %.3f)", 100*q, s.Quantiles[i], want, e, tt.maxErr)
					}
				}
			}
		})
	}
}

func sequence(vs ...uint64) func() uint64 {
	i := 0
	return func() uint64 { i++; return vs[(i-1)%len(vs)] }
}

func TestIntervalAndCumulative(t *testing.T) {
	h := newHistogram(identity{name: "h"}, Milliseconds)
	nan := math.NaN()
	allNaN := [numQuantiles]float64{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}
	opts := cmpopts.EquateNaNs()

	if diff := cmp.Diff(HistogramStats{Quantiles: allNaN}, h.Interval(), opts); diff != "" {
		t.Errorf("Interval() before any sample (-want +got):\n%s", diff)
	}
	for _, v := range []uint64{1, 2, 3} {
		h.Record(v)
	}
	if got := h.Interval().Count; got != 0 {
		t.Errorf("Interval().Count before Flush = %d, want 0", got)
	}
	h.Flush()
	h.Record(100) // lands in the next interval
	iv, cu := h.Interval(), h.Cumulative()
	wantIv := HistogramStats{
		Count:     3,
		Sum:       6,
		Quantiles: [numQuantiles]float64{1, 1, 2, 3, 3, 3, 3, 3, 3, 3},
		Buckets:   [numBounds]uint64{0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
	}
	if diff := cmp.Diff(wantIv, iv, opts); diff != "" {
		t.Errorf("Interval() (-want +got):\n%s", diff)
	}
	if cu.Count != 4 || cu.Sum != 106 || cu.Quantiles[0] != 1 || cu.Quantiles[numQuantiles-1] != 100 {
		t.Errorf("Cumulative() = %+v, want count 4, sum 106, P0 1, P100 100", cu)
	}
	if diff := cmp.Diff([numBounds]uint64{0, 1, 2}, iv.DisjointBuckets()); diff != "" {
		t.Errorf("DisjointBuckets() (-want +got):\n%s", diff)
	}
	h.Flush()
	h.Flush() // an interval without samples
	if diff := cmp.Diff(HistogramStats{Quantiles: allNaN}, h.Interval(), opts); diff != "" {
		t.Errorf("Interval() of an empty interval (-want +got):\n%s", diff)
	}
	if got := h.Cumulative().Count; got != 4 {
		t.Errorf("Cumulative().Count = %d, want 4", got)
	}
}

func TestPercentUnit(t *testing.T) {
	h := newHistogram(identity{name: "h"}, Percent)
	h.Record(250000) // 25%
	h.Record(750000) // 75%
	s := h.Cumulative()
	if s.Sum != 1 || s.Quantiles[0] != 0.25 || s.Quantiles[numQuantiles-1] != 0.75 {
		t.Errorf("Cumulative() = %+v, want sum 1, P0 0.25, P100 0.75", s)
	}
	if s.Buckets[0] != 1 || s.Buckets[1] != 2 {
		t.Errorf("buckets <=0.5, <=1 = %d, %d, want 1, 2", s.Buckets[0], s.Buckets[1])
	}
}

// TestFoldHalves checks that cumulative sub-bucket counts halve instead of
// overflowing and that quantiles survive it.
func TestFoldHalves(t *testing.T) {
	h := newHistogram(identity{name: "h"}, Unspecified)
	h.Record(3)
	h.Record(1000)
	h.Flush()
	var delta [numSub]uint32
	delta[subIndex(3)] = math.MaxUint32
	delta[subIndex(1000)] = math.MaxUint32 / 3
	for range 3 {
		h.folded.add(&delta)
	}
	if h.folded.shift == 0 {
		t.Fatal("shift = 0 after folding 3*2^32 samples into one bucket")
	}
	s := h.Cumulative()
	if s.Quantiles[2] != 3 || s.Quantiles[numQuantiles-1] != 1000 {
		t.Errorf("P50, P100 = %g, %g, want 3, 1000", s.Quantiles[2], s.Quantiles[numQuantiles-1])
	}
}

func TestZeroValueHistogram(t *testing.T) {
	var h Histogram
	if q := h.Interval().Quantiles[0]; !math.IsNaN(q) {
		t.Errorf("Interval().Quantiles[0] = %g before any flush, want NaN", q)
	}
	h.Record(7)
	h.Record(9)
	if s := h.Cumulative(); s.Count != 2 || s.Quantiles[0] != 7 || s.Quantiles[numQuantiles-1] != 9 {
		t.Errorf("Cumulative() = %+v, want count 2, P0 7, P100 9", s)
	}
}

// TestHistogramSize guards the memory a histogram costs per stat.
func TestHistogramSize(t *testing.T) {
	const limit = 1600 // about 1.5 KiB
	if got := unsafe.Sizeof(Histogram{}); got > limit {
		t.Errorf("sizeof(Histogram) = %d bytes, want <= %d", got, limit)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := NewStore().Histogram("h", Milliseconds)
	c := NewStore().Counter("c")
	v := uint64(0)
	if n := testing.AllocsPerRun(1000, func() { v += 37; h.Record(v); c.Inc() }); n != 0 {
		t.Errorf("Record and Inc allocate %v times per run, want 0", n)
	}
}

// TestBucketIndexMatchesSearch checks the table-driven bucket search against a
// plain scan of the bounds.
func TestBucketIndexMatchesSearch(t *testing.T) {
	for _, unit := range []Unit{Milliseconds, Percent} {
		h := newHistogram(identity{name: "h"}, unit)
		table := &boundTables[0]
		if unit == Percent {
			table = &boundTables[1]
		}
		vals := sampleValues()
		for _, b := range table {
			vals = append(vals, b-1, b, b+1)
		}
		for _, v := range vals {
			want := 0
			for want < numBounds && v > table[want] {
				want++
			}
			if got := h.bucketIndex(v); got != want {
				t.Errorf("unit %d: bucketIndex(%d) = %d, want %d", unit, v, got, want)
			}
		}
	}
}
