package lb

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// source picks among one list of hosts: the healthy, degraded or all hosts of a priority,
// or of one of its localities. pick returns nil when the list is empty.
type source interface {
	pick(r rand.Source) Host
}

var (
	_ source = emptySource{}
	_ source = singleSource{}
	_ source = (*roundRobin)(nil)
	_ source = (*weightedRoundRobin)(nil)
	_ source = (*leastRequest)(nil)
	_ source = (*weightedLeastRequest)(nil)
	_ source = (*randomSource)(nil)
)

// newSource builds the source of the given kind over hosts. As in Envoy, round robin and
// least request use weights only when the hosts' weights differ; random ignores them.
func newSource(kind Kind, hosts []Host, s *settings) source {
	switch {
	case len(hosts) == 0:
		return emptySource{}
	case len(hosts) == 1:
		return singleSource{hosts[0]}
	}
	if kind == Random {
		return &randomSource{hosts: hosts}
	}
	weights, equal := hostWeights(hosts, s)
	switch {
	case kind == RoundRobin && equal:
		rr := &roundRobin{hosts: hosts}
		rr.next.n.Store(s.rand.Uint64())
		return rr
	case kind == RoundRobin:
		return newWeightedRoundRobin(hosts, weights, s.rand.Uint64())
	case kind == LeastRequest && equal:
		return &leastRequest{hosts: hosts, choices: s.choiceCount}
	}
	return newWeightedLeastRequest(hosts, weights, s.activeRequestBias, s.rand)
}

// hostWeights returns the hosts' weights, scaled for hosts in slow start, and whether
// they are all equal.
func hostWeights(hosts []Host, s *settings) ([]float64, bool) {
	weights := make([]float64, len(hosts))
	equal := true
	for i, h := range hosts {
		weights[i] = float64(h.Weight()) * s.slowStart.factor(h, s.now)
		equal = equal && weights[i] == weights[0]
	}
	return weights, equal
}

type emptySource struct{}

func (emptySource) pick(rand.Source) Host { return nil }

type singleSource struct{ h Host }

func (s singleSource) pick(rand.Source) Host { return s.h }

// roundRobin rotates through hosts of equal weight from a random starting point.
type roundRobin struct {
	hosts []Host
	next  cursor
}

func (rr *roundRobin) pick(rand.Source) Host {
	i := rr.next.n.Add(1) - 1
	return rr.hosts[i%uint64(len(rr.hosts))]
}

// weightedRoundRobin follows the EDF schedule of the host weights.
type weightedRoundRobin struct {
	hosts []Host
	sched *schedule
}

func newWeightedRoundRobin(hosts []Host, weights []float64, r uint64) *weightedRoundRobin {
	return &weightedRoundRobin{hosts: hosts, sched: newSchedule(weights, r)}
}

func (w *weightedRoundRobin) pick(rand.Source) Host {
	return w.hosts[w.sched.pick()]
}

// randomSource picks a host uniformly at random, ignoring weights as Envoy does.
type randomSource struct{ hosts []Host }

func (rs *randomSource) pick(r rand.Source) Host {
	return rs.hosts[randIndex(r.Uint64(), len(rs.hosts))]
}

// leastRequest samples choices hosts at random and returns the one with the fewest active
// requests, the first sampled among equals (power of two choices by default).
type leastRequest struct {
	hosts   []Host
	choices int
}

func (lr *leastRequest) pick(r rand.Source) Host {
	best := lr.hosts[randIndex(r.Uint64(), len(lr.hosts))]
	bestActive := best.ActiveRequests()
	for range lr.choices - 1 {
		h := lr.hosts[randIndex(r.Uint64(), len(lr.hosts))]
		if a := h.ActiveRequests(); a < bestActive {
			best, bestActive = h, a
		}
	}
	return best
}

// weightedLeastRequest is Envoy's least request over hosts of different weights: an EDF
// schedule in which a picked host is re-inserted with the deadline
// now + (active_requests + 1)^bias / weight, its active requests read at the time of the
// pick. The deadlines live in atomics so that picks need no lock: a pick scans for the
// earliest deadline and moves it on with a compare-and-swap, scanning again if another pick
// moved it first. A pick costs O(hosts), against Envoy's O(log hosts) heap.
type weightedLeastRequest struct {
	hosts     []Host
	weights   []float64
	deadlines []atomic.Uint64 // math.Float64bits of each host's deadline
	bias      float64
}

// casAttempts bounds the scans of one weighted least request pick under contention.
const casAttempts = 4

func newWeightedLeastRequest(hosts []Host, weights []float64, bias float64, r rand.Source) *weightedLeastRequest {
	w := &weightedLeastRequest{hosts: hosts, weights: weights, deadlines: make([]atomic.Uint64, len(hosts)), bias: bias}
	for i := range hosts {
		// A random phase in (0, 1] of each host's first period, in place of Envoy's
		// random number of initial picks, so that proxies do not all start alike.
		phase := 1 - float64(r.Uint64()>>11)/(1<<53)
		w.deadlines[i].Store(math.Float64bits(phase * w.interval(i)))
	}
	return w
}

// interval is 1 / effective weight of the i-th host, with Envoy's
// effective weight = weight / (active_requests + 1)^bias.
func (w *weightedLeastRequest) interval(i int) float64 {
	weight := w.weights[i]
	active := float64(max(w.hosts[i].ActiveRequests(), 0)) + 1
	switch w.bias {
	case 0:
		return 1 / weight
	case 1:
		return active / weight
	}
	return math.Pow(active, w.bias) / weight
}

func (w *weightedLeastRequest) pick(rand.Source) Host {
	for attempt := 1; ; attempt++ {
		best, bestBits := 0, w.deadlines[0].Load()
		for i := 1; i < len(w.deadlines); i++ {
			if b := w.deadlines[i].Load(); math.Float64frombits(b) < math.Float64frombits(bestBits) {
				best, bestBits = i, b
			}
		}
		h := w.hosts[best]
		next := math.Float64bits(math.Float64frombits(bestBits) + w.interval(best))
		if w.deadlines[best].CompareAndSwap(bestBits, next) || attempt == casAttempts {
			return h
		}
	}
}
