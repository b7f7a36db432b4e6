package lb

import (
	"math"
	"slices"
	"sync/atomic"
)

// scheduleLimit bounds the length of a static schedule. Weights whose sum (after dividing
// by their greatest common divisor) is larger are scaled down to fit, which changes each
// entry's share by at most about 1/scheduleLimit of the traffic.
const scheduleLimit = 1 << 16

// fractionResolution is how finely fractional weights (effective locality weights) are
// told apart: relative to the largest, in steps of 1/fractionResolution.
const fractionResolution = 10000

// schedule is one period of an earliest-deadline-first (EDF) schedule over weighted
// entries, walked by an atomic cursor. Envoy keeps a heap per worker thread and re-inserts
// each picked entry with the deadline now + 1/weight; with fixed weights that sequence is
// periodic, so it is computed once here and Pick only increments a counter.
type schedule struct {
	order []uint32 // entry indices, each appearing in proportion to its weight
	next  cursor
}

// cursor is an atomic counter alone on its cache line, so that the counters of different
// schedules do not slow each other down.
type cursor struct {
	n atomic.Uint64
	_ [56]byte
}

// newSchedule builds the schedule of the given weights, starting at a random point of the
// period. Entries of weight 0 never appear; when all weights are 0 the schedule is empty.
func newSchedule(weights []float64, r uint64) *schedule {
	s := &schedule{order: edfOrder(quantize(weights))}
	if len(s.order) > 0 {
		s.next.n.Store(r % uint64(len(s.order)))
	}
	return s
}

// pick returns the next entry index, or -1 when the schedule is empty.
func (s *schedule) pick() int {
	if len(s.order) == 0 {
		return -1
	}
	i := s.next.n.Add(1) - 1
	return int(s.order[i%uint64(len(s.order))])
}

// quantize turns weights into small integers with the same proportions: integral weights
// are kept exactly when they fit, fractional ones are scaled to fractionResolution steps of
// the largest, and all are divided by their greatest common divisor and scaled down to fit
// scheduleLimit. A positive weight never becomes 0.
func quantize(weights []float64) []uint64 {
	ints := make([]uint64, len(weights))
	largest, integral := 0.0, true
	for _, w := range weights {
		largest = math.Max(largest, w)
		integral = integral && w == math.Trunc(w) && w < 1<<53
	}
	if largest <= 0 {
		return ints
	}
	for i, w := range weights {
		switch {
		case w <= 0 || math.IsNaN(w):
		case integral:
			ints[i] = uint64(w)
		default:
			ints[i] = max(1, uint64(math.Round(w/largest*fractionResolution)))
		}
	}
	sum := reduce(ints)
	if sum > scheduleLimit {
		for i, w := range ints {
			if w > 0 {
				ints[i] = max(1, uint64(math.Round(float64(w)*scheduleLimit/float64(sum))))
			}
		}
		reduce(ints)
	}
	return ints
}

// reduce divides the weights by their greatest common divisor and returns their sum.
func reduce(ints []uint64) uint64 {
	var g uint64
	for _, w := range ints {
		g = gcd(g, w)
	}
	var sum uint64
	for i := range ints {
		if g > 1 {
			ints[i] /= g
		}
		sum += ints[i]
	}
	return sum
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// edfOrder returns one period of the EDF schedule of integer weights. Entry i has the
// deadlines k/w[i] for k = 1..w[i]; picks follow deadlines. Ties go as in Envoy's
// scheduler, to the entry inserted first: the one of smaller weight (its previous deadline
// was earlier), then the one of lower index.
func edfOrder(weights []uint64) []uint32 {
	type deadline struct {
		k   uint64 // the k-th pick of the entry
		idx uint32
	}
	var total uint64
	for _, w := range weights {
		total += w
	}
	all := make([]deadline, 0, total)
	for i, w := range weights {
		for k := uint64(1); k <= w; k++ {
			all = append(all, deadline{k: k, idx: uint32(i)})
		}
	}
	slices.SortFunc(all, func(a, b deadline) int {
		wa, wb := weights[a.idx], weights[b.idx]
		// a.k/wa against b.k/wb in integers; weights are at most about scheduleLimit.
		if x, y := a.k*wb, b.k*wa; x != y {
			return cmpUint(x, y)
		}
		if wa != wb {
			return cmpUint(wa, wb)
		}
		return cmpUint(uint64(a.idx), uint64(b.idx))
	})
	order := make([]uint32, len(all))
	for i, d := range all {
		order[i] = d.idx
	}
	return order
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
