package lb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundRobinRotates(t *testing.T) {
	hs := named("h", 5)
	p := mustNew(t, RoundRobin, []HostSet{healthySet(hs)}, Options{Rand: seeded(7)})
	first := p.Pick(Context{})
	start := -1
	for i, h := range hs {
		if h == first {
			start = i
		}
	}
	for i := 1; i < 12; i++ {
		if got, want := p.Pick(Context{}), hs[(start+i)%len(hs)]; got != want {
			t.Fatalf("pick %d = %v, want %v", i, got, want)
		}
	}
}

func TestRoundRobinStartsAtRandomOffset(t *testing.T) {
	hs := named("h", 8)
	starts := map[Host]bool{}
	for seed := range uint64(40) {
		p := mustNew(t, RoundRobin, []HostSet{healthySet(hs)}, Options{Rand: seeded(seed)})
		starts[p.Pick(Context{})] = true
	}
	if len(starts) < 4 {
		t.Errorf("40 policies started on %d different hosts, want a spread", len(starts))
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	hs := asHosts(weighted("a", 1), weighted("b", 2), weighted("c", 3), weighted("d", 4))
	p := mustNew(t, RoundRobin, []HostSet{healthySet(hs)}, Options{Rand: seeded(3)})
	// A whole number of periods gives exact shares.
	got := tally(p, Context{}, 1000)
	if diff := cmp.Diff(map[string]int{"a": 100, "b": 200, "c": 300, "d": 400}, got); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}
}

func TestRandomIgnoresWeights(t *testing.T) {
	hs := asHosts(weighted("a", 1), weighted("b", 9))
	p := mustNew(t, Random, []HostSet{healthySet(hs)}, Options{Rand: seeded(4)})
	const n = 20000
	checkShares(t, tally(p, Context{}, n), map[string]float64{"a": .5, "b": .5}, n, .02)
}

func TestLeastRequestPowerOfTwoChoices(t *testing.T) {
	idle, busy := host("idle"), host("busy")
	busy.active.Store(10)
	tests := []struct {
		name    string
		choices uint32
		want    float64 // share of the idle host
	}{
		// The busy host wins only when both samples are the busy host: 1/4.
		{"default two choices", 0, .75},
		{"three choices", 3, 1 - 1.0/8},
		{"ten choices", 10, 1 - 1.0/1024},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, LeastRequest, []HostSet{healthySet(asHosts(idle, busy))},
				Options{Rand: seeded(5), ChoiceCount: tt.choices})
			checkShares(t, tally(p, Context{}, n), map[string]float64{"idle": tt.want, "busy": 1 - tt.want}, n, .015)
		})
	}
}

func TestWeightedLeastRequest(t *testing.T) {
	tests := []struct {
		name    string
		activeB int64
		bias    *float64
		want    map[string]float64
	}{
		// Idle hosts: shares follow weights 1:3.
		{"idle", 0, nil, map[string]float64{"a": .25, "b": .75}},
		// b has 5 active requests: effective weights 1/1 and 3/6, so 2:1.
		{"busy b", 5, nil, map[string]float64{"a": 2.0 / 3, "b": 1.0 / 3}},
		// Bias 0 ignores active requests: like round robin.
		{"bias 0", 5, new(0.0), map[string]float64{"a": .25, "b": .75}},
		// Bias 2: 1/1 and 3/36, so 12:1.
		{"bias 2", 5, new(2.0), map[string]float64{"a": 12.0 / 13, "b": 1.0 / 13}},
	}
	const n = 12000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := weighted("a", 1), weighted("b", 3)
			b.active.Store(tt.activeB)
			p := mustNew(t, LeastRequest, []HostSet{healthySet(asHosts(a, b))},
				Options{Rand: seeded(6), ActiveRequestBias: tt.bias})
			checkShares(t, tally(p, Context{}, n), tt.want, n, .01)
		})
	}
}

// TestWeightedLeastRequestAdapts checks that the effective weight is read at each pick.
func TestWeightedLeastRequestAdapts(t *testing.T) {
	a, b := weighted("a", 1), weighted("b", 2)
	p := mustNew(t, LeastRequest, []HostSet{healthySet(asHosts(a, b))}, Options{Rand: seeded(8)})
	// Each pick holds its request open: the load evens out by weight.
	for range 3000 {
		p.Pick(Context{}).(*testHost).active.Add(1)
	}
	ratio := float64(b.active.Load()) / float64(a.active.Load())
	if ratio < 1.2 || ratio > 1.6 {
		t.Errorf("active requests b/a = %.2f after 3000 open picks; want about sqrt(2)", ratio)
	}
}

func TestSingleHost(t *testing.T) {
	h := weighted("only", 5)
	for _, kind := range []Kind{RoundRobin, LeastRequest, Random, RingHash, Maglev} {
		p := mustNew(t, kind, []HostSet{healthySet(asHosts(h))}, Options{})
		for range 10 {
			if got := p.Pick(Context{Hash: 42, HasHash: true}); got != Host(h) {
				t.Fatalf("%v: Pick = %v, want the only host", kind, got)
			}
		}
	}
}
