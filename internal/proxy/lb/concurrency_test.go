package lb

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentPicks runs every policy from many goroutines (run it with -race): picks
// never fail, and the shares of a weighted round robin stay exact.
func TestConcurrentPicks(t *testing.T) {
	const goroutines, picks = 8, 2000
	for _, c := range benchCases() {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, c.kind, c.sets, c.opts)
			var nils atomic.Int64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range picks {
						h := p.Pick(Context{Hash: uint64(g*picks + i), HasHash: i%2 == 0})
						if h == nil {
							nils.Add(1)
							continue
						}
						if th, ok := h.(*testHost); ok && c.kind == LeastRequest {
							th.active.Add(1) // move least request's view while others read it
							th.active.Add(-1)
						}
					}
				})
			}
			wg.Wait()
			if n := nils.Load(); n != 0 {
				t.Errorf("%d of %d concurrent picks returned nil", n, goroutines*picks)
			}
		})
	}
}

func TestConcurrentWeightedRoundRobinIsExact(t *testing.T) {
	hs := asHosts(weighted("a", 1), weighted("b", 2), weighted("c", 5))
	p := mustNew(t, RoundRobin, []HostSet{healthySet(hs)}, Options{})
	const goroutines, picks = 8, 800 // 6400 picks: 800 periods of 8
	var counts [3]atomic.Int64
	index := map[Host]int{hs[0]: 0, hs[1]: 1, hs[2]: 2}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range picks {
				counts[index[p.Pick(Context{})]].Add(1)
			}
		})
	}
	wg.Wait()
	got := [3]int64{counts[0].Load(), counts[1].Load(), counts[2].Load()}
	if want := [3]int64{800, 1600, 4000}; got != want {
		t.Errorf("picks %v, want %v", got, want)
	}
}
