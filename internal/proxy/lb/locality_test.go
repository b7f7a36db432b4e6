package lb

import "testing"

// localitySet builds a priority from localities, filling the flat host lists too.
func localitySet(locs ...Locality) HostSet {
	var set HostSet
	for _, l := range locs {
		set.Hosts = append(set.Hosts, l.Hosts...)
		set.Healthy = append(set.Healthy, l.Healthy...)
		set.Degraded = append(set.Degraded, l.Degraded...)
	}
	set.Localities = locs
	return set
}

func healthyLocality(weight uint32, hs []Host) Locality {
	return Locality{Weight: weight, Hosts: hs, Healthy: hs}
}

func TestLocalityWeighted(t *testing.T) {
	a, b, c := named("a", 2), named("b", 6), named("c", 2)
	halfB := Locality{Weight: 3, Hosts: b, Healthy: b[:3]}
	tests := []struct {
		name string
		set  HostSet
		want map[string]float64 // share per locality (first letter of the key)
	}{{
		// Locality weights 1:3, whatever the number of hosts in each.
		name: "weights",
		set:  localitySet(healthyLocality(1, a), healthyLocality(3, b)),
		want: map[string]float64{"a": .25, "b": .75},
	}, {
		// Half of b is healthy: its effective weight is 3 × min(1, 1.4 × 0.5) = 2.1.
		name: "availability",
		set:  localitySet(healthyLocality(1, a), halfB),
		want: map[string]float64{"a": 1 / 3.1, "b": 2.1 / 3.1},
	}, {
		name: "zero weight locality gets nothing",
		set:  localitySet(healthyLocality(1, a), healthyLocality(3, b), healthyLocality(0, c)),
		want: map[string]float64{"a": .25, "b": .75},
	}, {
		// No locality has weight: Envoy balances over the healthy hosts of the priority.
		name: "all zero falls back to hosts",
		set:  localitySet(healthyLocality(0, a), healthyLocality(0, c)),
		want: map[string]float64{"a": .5, "c": .5},
	}}
	const n = 20000
	for _, tt := range tests {
		for _, kind := range []Kind{RoundRobin, LeastRequest, Random} {
			t.Run(tt.name+"/"+kind.String(), func(t *testing.T) {
				p := mustNew(t, kind, []HostSet{tt.set}, Options{LocalityWeighted: true, Rand: seeded(11)})
				checkShares(t, byLocality(tally(p, Context{}, n)), tt.want, n, .015)
			})
		}
	}
}

func byLocality(counts map[string]int) map[string]int {
	out := map[string]int{}
	for k, c := range counts {
		out[k[:1]] += c
	}
	return out
}

// TestLocalityWeightedHashing checks that hash-based policies weigh hosts by locality
// weight over the hosts of the locality, without availability scaling, as Envoy does.
func TestLocalityWeightedHashing(t *testing.T) {
	a, b, c := named("a", 2), named("b", 6), named("c", 2)
	set := localitySet(healthyLocality(1, a), healthyLocality(3, b), healthyLocality(0, c))
	const n = 40000
	for _, kind := range []Kind{RingHash, Maglev} {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustNew(t, kind, []HostSet{set}, Options{LocalityWeighted: true, Rand: seeded(12), MinRingSize: 1 << 16})
			checkShares(t, byLocality(tally(p, Context{}, n)), map[string]float64{"a": .25, "b": .75}, n, .02)
		})
	}
}

func TestLocalitiesIgnoredWithoutOption(t *testing.T) {
	a, b := named("a", 1), named("b", 3)
	set := localitySet(healthyLocality(1, a), healthyLocality(100, b))
	const n = 8000
	p := mustNew(t, RoundRobin, []HostSet{set}, Options{Rand: seeded(13)})
	checkShares(t, byLocality(tally(p, Context{}, n)), map[string]float64{"a": .25, "b": .75}, n, .01)
}

func TestLocalityDegraded(t *testing.T) {
	// Locality a: 1 healthy of 4; locality b: 1 degraded of 4. Health 35, degraded 35:
	// normalised to 50/50, the degraded half goes to b by the degraded locality weights.
	a, b := named("a", 4), named("b", 4)
	set := localitySet(
		Locality{Weight: 1, Hosts: a, Healthy: a[:1]},
		Locality{Weight: 1, Hosts: b, Degraded: b[:1]},
	)
	const n = 10000
	p := mustNew(t, RoundRobin, []HostSet{set}, Options{LocalityWeighted: true, HealthyPanicThreshold: new(uint32(0)), Rand: seeded(14)})
	checkShares(t, tally(p, Context{}, n), map[string]float64{"a0": .5, "b0": .5}, n, .02)
}
