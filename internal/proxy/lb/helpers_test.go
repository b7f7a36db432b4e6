package lb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// testHost is a Host with a settable number of active requests.
type testHost struct {
	key    string
	weight uint32
	active atomic.Int64
}

func (h *testHost) Weight() uint32        { return h.weight }
func (h *testHost) ActiveRequests() int64 { return h.active.Load() }
func (h *testHost) HashKey() string       { return h.key }
func (h *testHost) String() string        { return h.key }

// host returns a host of weight 1.
func host(key string) *testHost { return &testHost{key: key, weight: 1} }

// weighted returns a host of the given weight.
func weighted(key string, w uint32) *testHost { return &testHost{key: key, weight: w} }

// named returns n hosts of weight 1 called prefix0, prefix1, ...
func named(prefix string, n int) []Host {
	hs := make([]Host, n)
	for i := range hs {
		hs[i] = host(fmt.Sprintf("%s%d", prefix, i))
	}
	return hs
}

func asHosts(hs ...*testHost) []Host {
	out := make([]Host, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// healthySet is a priority whose hosts are all healthy.
func healthySet(hs []Host) HostSet {
	return HostSet{Hosts: hs, Healthy: hs}
}

// seeded is a deterministic random source, for tests that run Pick on one goroutine.
func seeded(seed uint64) rand.Source {
	return rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
}

func mustNew(t testing.TB, kind Kind, sets []HostSet, o Options) Policy {
	t.Helper()
	p, err := New(kind, sets, o)
	if err != nil {
		t.Fatalf("New(%v): %v", kind, err)
	}
	return p
}

// tally picks n times and counts the picks by hash key; nil picks count as "<nil>".
func tally(p Policy, ctx Context, n int) map[string]int {
	counts := map[string]int{}
	for range n {
		h := p.Pick(ctx)
		if h == nil {
			counts["<nil>"]++
			continue
		}
		counts[h.HashKey()]++
	}
	return counts
}

// checkShares fails unless each key got its expected share of n picks within tol
// (absolute, as a fraction of n).
func checkShares(t *testing.T, counts map[string]int, want map[string]float64, n int, tol float64) {
	t.Helper()
	for k, c := range counts {
		if _, ok := want[k]; !ok {
			t.Errorf("%s got %d picks, want none", k, c)
		}
	}
	for k, share := range want {
		got := float64(counts[k]) / float64(n)
		if math.Abs(got-share) > tol {
			t.Errorf("%s got share %.4f, want %.4f ± %.4f", k, got, share, tol)
		}
	}
}
