package lb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// percentSet is a priority of 100 hosts, healthy% of them healthy and degraded% degraded.
func percentSet(healthy, degraded int) HostSet {
	hs := named("h", 100)
	return HostSet{Hosts: hs, Healthy: hs[:healthy], Degraded: hs[healthy : healthy+degraded]}
}

func sets(healthyPercents ...int) []HostSet {
	out := make([]HostSet, len(healthyPercents))
	for i, h := range healthyPercents {
		out[i] = percentSet(h, 0)
	}
	return out
}

func loadsOf(t *testing.T, sets []HostSet, o Options) priorityLoads {
	t.Helper()
	s, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	return computeLoads(sets, &s)
}

// TestPriorityLoad follows the tables of Envoy's "Priority levels" page, which leaves panic
// mode aside: the panic threshold is 0 here.
func TestPriorityLoad(t *testing.T) {
	off := Options{HealthyPanicThreshold: new(uint32(0))}
	tests := []struct {
		name    string
		healthy []int // percent healthy per priority
		want    []uint32
	}{
		{"P0 100%", []int{100, 100}, []uint32{100, 0}},
		{"P0 72%", []int{72, 100}, []uint32{100, 0}},
		{"P0 71%", []int{71, 100}, []uint32{99, 1}},
		{"P0 50%", []int{50, 100}, []uint32{70, 30}},
		{"P0 25%", []int{25, 100}, []uint32{35, 65}},
		{"P0 0%", []int{0, 100}, []uint32{0, 100}},
		{"both 72%", []int{72, 72}, []uint32{100, 0}},
		{"both 71%", []int{71, 71}, []uint32{99, 1}},
		{"both 50%", []int{50, 50}, []uint32{70, 30}},
		{"normalised 25% 25%", []int{25, 25}, []uint32{50, 50}},
		{"three 72 72 100", []int{72, 72, 100}, []uint32{100, 0, 0}},
		{"three 71 71 100", []int{71, 71, 100}, []uint32{99, 1, 0}},
		{"three 50 50 100", []int{50, 50, 100}, []uint32{70, 30, 0}},
		{"three 25 100 100", []int{25, 100, 100}, []uint32{35, 65, 0}},
		{"three 25 25 100", []int{25, 25, 100}, []uint32{35, 35, 30}},
		// The page says 36/36/28; Envoy's code gives the rounding leftover (2) to P=0.
		{"three normalised 25 25 20", []int{25, 25, 20}, []uint32{37, 35, 28}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadsOf(t, sets(tt.healthy...), off)
			if diff := cmp.Diff(tt.want, got.healthy); diff != "" {
				t.Errorf("healthy load (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDegradedLoad follows the table of Envoy's "Degraded endpoints" page.
func TestDegradedLoad(t *testing.T) {
	tests := []struct {
		healthy, degraded int
		want              priorityLoads
	}{
		{100, 0, priorityLoads{healthy: []uint32{100}, degraded: []uint32{0}, panic: []bool{false}}},
		{71, 0, priorityLoads{healthy: []uint32{100}, degraded: []uint32{0}, panic: []bool{false}}},
		{71, 29, priorityLoads{healthy: []uint32{99}, degraded: []uint32{1}, panic: []bool{false}}},
		{25, 65, priorityLoads{healthy: []uint32{35}, degraded: []uint32{65}, panic: []bool{false}}},
		// 5% available is below the panic threshold: the priority balances over all hosts.
		{5, 0, priorityLoads{healthy: []uint32{100}, degraded: []uint32{0}, panic: []bool{true}}},
	}
	for _, tt := range tests {
		got := loadsOf(t, []HostSet{percentSet(tt.healthy, tt.degraded)}, Options{})
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(priorityLoads{})); diff != "" {
			t.Errorf("%d%% healthy, %d%% degraded (-want +got):\n%s", tt.healthy, tt.degraded, diff)
		}
	}
}

// TestPanicThreshold follows the tables of Envoy's "Panic threshold" page, default
// threshold 50% and overprovisioning factor 1.4.
func TestPanicThreshold(t *testing.T) {
	tests := []struct {
		name      string
		healthy   []int
		wantLoad  []uint32
		wantPanic []bool
	}{
		{"72/100", []int{72, 100}, []uint32{100, 0}, []bool{false, false}},
		{"71/100", []int{71, 100}, []uint32{99, 1}, []bool{false, false}},
		{"50/100", []int{50, 100}, []uint32{70, 30}, []bool{false, false}},
		{"25/100", []int{25, 100}, []uint32{35, 65}, []bool{false, false}},
		{"0/100", []int{0, 100}, []uint32{0, 100}, []bool{false, false}},
		{"72/72", []int{72, 72}, []uint32{100, 0}, []bool{false, false}},
		{"71/71", []int{71, 71}, []uint32{99, 1}, []bool{false, false}},
		// The page's rows 50/60 (50/50) and 25/100 (25/75) leave out the overprovisioning
		// factor; with it, the normalised total is 100 and no priority panics.
		{"50/60", []int{50, 60}, []uint32{70, 30}, []bool{false, false}},
		// Total 70: both in panic, so the load follows host counts.
		{"25/25", []int{25, 25}, []uint32{50, 50}, []bool{true, true}},
		// Total 98: only P=0 panics. The page says 7/93; the code gives 8/92 (health 7 and
		// 91, normalised to 7 and 92, leftover 1 to P=0).
		{"5/65", []int{5, 65}, []uint32{8, 92}, []bool{true, false}},
		// Everything down: total panic, P=0 gets its share of hosts.
		{"0/0", []int{0, 0}, []uint32{50, 50}, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadsOf(t, sets(tt.healthy...), Options{})
			if diff := cmp.Diff(tt.wantLoad, got.healthy); diff != "" {
				t.Errorf("healthy load (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPanic, got.panic); diff != "" {
				t.Errorf("panic (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriorityLoadEdgeCases(t *testing.T) {
	unhealthy := func(n int) HostSet { return HostSet{Hosts: named("u", n)} }
	tests := []struct {
		name string
		sets []HostSet
		o    Options
		want priorityLoads
	}{{
		name: "no priorities",
		want: priorityLoads{healthy: []uint32{}, degraded: []uint32{}, panic: []bool{}},
	}, {
		name: "panic disabled and nothing available",
		sets: []HostSet{unhealthy(3), unhealthy(1)},
		o:    Options{HealthyPanicThreshold: new(uint32(0))},
		want: priorityLoads{healthy: []uint32{100, 0}, degraded: []uint32{0, 0}, panic: []bool{false, false}},
	}, {
		name: "total panic follows host counts",
		sets: []HostSet{unhealthy(4), unhealthy(2)},
		want: priorityLoads{healthy: []uint32{67, 33}, degraded: []uint32{0, 0}, panic: []bool{true, true}},
	}, {
		name: "empty priorities in total panic",
		sets: []HostSet{{}, {}},
		want: priorityLoads{healthy: []uint32{100, 0}, degraded: []uint32{0, 0}, panic: []bool{true, true}},
	}, {
		name: "overprovisioning factor 100",
		sets: sets(50, 100),
		o:    Options{OverprovisioningFactor: 100},
		want: priorityLoads{healthy: []uint32{50, 50}, degraded: []uint32{0, 0}, panic: []bool{false, false}},
	}, {
		name: "weighted priority health",
		sets: []HostSet{{
			Hosts:   asHosts(weighted("a", 1), weighted("b", 3)),
			Healthy: asHosts(weighted("a", 1)),
		}, healthySet(named("p1-", 1))},
		o:    Options{WeightedPriorityHealth: true},
		want: priorityLoads{healthy: []uint32{35, 65}, degraded: []uint32{0, 0}, panic: []bool{false, false}},
	}, {
		name: "panic threshold 80",
		sets: sets(70),
		o:    Options{HealthyPanicThreshold: new(uint32(80))},
		want: priorityLoads{healthy: []uint32{100}, degraded: []uint32{0}, panic: []bool{true}},
	}, {
		name: "panic threshold above 100 is 100",
		sets: sets(100), // total health 50, so panic is considered; 100% < 100% is false
		o:    Options{HealthyPanicThreshold: new(uint32(250)), OverprovisioningFactor: 50},
		want: priorityLoads{healthy: []uint32{100}, degraded: []uint32{0}, panic: []bool{false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadsOf(t, tt.sets, tt.o)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(priorityLoads{})); diff != "" {
				t.Errorf("loads (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChoosePriority(t *testing.T) {
	l := priorityLoads{healthy: []uint32{70, 20, 0}, degraded: []uint32{0, 5, 5}}
	tests := []struct {
		hash         uint64
		wantPriority int
		wantDegraded bool
	}{
		{0, 0, false},
		{69, 0, false}, // 69%100+1 = 70
		{70, 1, false},
		{189, 1, false},
		{90, 1, true},
		{95, 2, true},
		{99, 2, true},
		{1<<64 - 1, 0, false}, // ...615 % 100 + 1 = 16
	}
	for _, tt := range tests {
		p, d := l.choose(tt.hash)
		if p != tt.wantPriority || d != tt.wantDegraded {
			t.Errorf("choose(%d) = %d, %v; want %d, %v", tt.hash, p, d, tt.wantPriority, tt.wantDegraded)
		}
	}
}

func TestPanicPicksAmongAllHosts(t *testing.T) {
	all := named("h", 4)
	set := HostSet{Hosts: all, Healthy: all[:1]}
	for _, kind := range []Kind{RoundRobin, LeastRequest, Random, RingHash, Maglev} {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustNew(t, kind, []HostSet{set}, Options{Rand: seeded(1)})
			counts := tally(p, Context{}, 4000)
			checkShares(t, counts, map[string]float64{"h0": .25, "h1": .25, "h2": .25, "h3": .25}, 4000, .05)

			p = mustNew(t, kind, []HostSet{set}, Options{Rand: seeded(1), HealthyPanicThreshold: new(uint32(0))})
			counts = tally(p, Context{}, 1000)
			checkShares(t, counts, map[string]float64{"h0": 1}, 1000, 0)
		})
	}
}

func TestNothingAvailable(t *testing.T) {
	set := HostSet{Hosts: named("h", 3)}
	for _, kind := range []Kind{RoundRobin, LeastRequest, Random, RingHash, Maglev} {
		p := mustNew(t, kind, []HostSet{set}, Options{HealthyPanicThreshold: new(uint32(0))})
		if h := p.Pick(Context{}); h != nil {
			t.Errorf("%v: Pick with no healthy host and panic disabled = %v, want nil", kind, h)
		}
		p = mustNew(t, kind, nil, Options{})
		if h := p.Pick(Context{}); h != nil {
			t.Errorf("%v: Pick with no priorities = %v, want nil", kind, h)
		}
	}
}

// TestSpillAndDegraded checks that picks follow the priority load end to end.
func TestSpillAndDegraded(t *testing.T) {
	p0 := named("p0-", 10)
	p1 := named("p1-", 10)
	tests := []struct {
		name string
		sets []HostSet
		want map[string]float64
	}{{
		// P=0 health 70 and degraded 28, P=1 health 100: P=1's healthy hosts take the rest
		// before P=0's degraded hosts get any.
		name: "spill to P=1 before degraded",
		sets: []HostSet{{Hosts: p0, Healthy: p0[:5], Degraded: p0[5:7]}, healthySet(p1)},
		want: map[string]float64{"p0 healthy": .70, "p1": .30},
	}, {
		// Health 70 and degraded 42 in the only priority: 30% to the degraded hosts.
		name: "degraded",
		sets: []HostSet{{Hosts: p0, Healthy: p0[:5], Degraded: p0[5:8]}},
		want: map[string]float64{"p0 healthy": .70, "p0 degraded": .30},
	}}
	const n = 20000
	for _, tt := range tests {
		for _, kind := range []Kind{RoundRobin, LeastRequest, Random, RingHash, Maglev} {
			t.Run(tt.name+"/"+kind.String(), func(t *testing.T) {
				p := mustNew(t, kind, tt.sets, Options{Rand: seeded(2)})
				group := map[string]int{}
				for k, c := range tally(p, Context{}, n) {
					switch {
					case k[:3] == "p1-":
						group["p1"] += c
					case k >= "p0-5":
						group["p0 degraded"] += c
					default:
						group["p0 healthy"] += c
					}
				}
				checkShares(t, group, tt.want, n, .02)
			})
		}
	}
}
