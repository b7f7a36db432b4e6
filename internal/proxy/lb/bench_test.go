package lb

import (
	"fmt"
	"testing"
)

type benchCase struct {
	name string
	kind Kind
	sets []HostSet
	opts Options
}

// benchCases are one policy of each kind and variant over 100 hosts, with a degraded
// second priority and 90% of P=0 healthy.
func benchCases() []benchCase {
	equal := named("e", 100)
	uneven := make([]Host, 100)
	for i := range uneven {
		uneven[i] = weighted(fmt.Sprintf("w%d", i), uint32(1+i%7))
	}
	twoLevels := func(hs []Host) []HostSet {
		return []HostSet{{Hosts: hs, Healthy: hs[:90]}, healthySet(named("p1-", 10))}
	}
	locs := localitySet(healthyLocality(1, equal[:50]), healthyLocality(3, equal[50:]))
	var cases []benchCase
	for _, kind := range allKinds {
		cases = append(cases,
			benchCase{kind.String() + "/equal", kind, twoLevels(equal), Options{}},
			benchCase{kind.String() + "/weighted", kind, twoLevels(uneven), Options{}},
		)
	}
	cases = append(cases,
		benchCase{"ROUND_ROBIN/localities", RoundRobin, []HostSet{locs}, Options{LocalityWeighted: true}},
		benchCase{"LEAST_REQUEST/weighted-10", LeastRequest, []HostSet{healthySet(uneven[:10])}, Options{}},
		benchCase{"LEAST_REQUEST/weighted-1000", LeastRequest, []HostSet{healthySet(manyWeighted(1000))}, Options{}},
	)
	return cases
}

func manyWeighted(n int) []Host {
	hs := make([]Host, n)
	for i := range hs {
		hs[i] = weighted(fmt.Sprintf("m%d", i), uint32(1+i%3))
	}
	return hs
}

func BenchmarkPick(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			p := mustNew(b, c.kind, c.sets, c.opts)
			b.ReportAllocs()
			var i uint64
			for b.Loop() {
				i++
				p.Pick(Context{Hash: i * 0x9e3779b97f4a7c15, HasHash: true})
			}
		})
	}
}

func BenchmarkPickParallel(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			p := mustNew(b, c.kind, c.sets, c.opts)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var i uint64
				for pb.Next() {
					i++
					p.Pick(Context{Hash: i * 0x9e3779b97f4a7c15, HasHash: true})
				}
			})
		})
	}
}

func BenchmarkNew(b *testing.B) {
	hs := named("h", 100)
	for _, kind := range allKinds {
		b.Run(kind.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mustNew(b, kind, []HostSet{healthySet(hs)}, Options{})
			}
		})
	}
}
