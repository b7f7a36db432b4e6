package lb

import "math/rand/v2"

// hashed is the load balancer of ring hash and Maglev (Envoy's thread-aware load
// balancers): the request hash, or a random number without one, chooses the priority by
// priority load and then the host in that priority's table. A priority in panic has one
// table over all its hosts.
//
// Envoy builds a priority's table from its healthy hosts only, so a request sent to the
// degraded hosts of a priority lands on a healthy one, or on none. Here a priority also
// has a table over its degraded hosts, used for that share of the load.
type hashed struct {
	loads priorityLoads
	prios []hashedPriority
	rand  rand.Source
}

var _ Policy = (*hashed)(nil)

type hashedPriority struct {
	healthy, degraded table
}

// table maps a hash to a host; attempt > 0 asks for another host for the same hash, when
// a retry host predicate rejected the previous one. lookup returns nil on an empty table.
type table interface {
	lookup(hash uint64, attempt int) Host
}

// weightedHost is a host with its share of the priority: weights sum to 1.
type weightedHost struct {
	host   Host
	weight float64
}

func newHashed(kind Kind, sets []HostSet, loads priorityLoads, s *settings) *hashed {
	p := &hashed{loads: loads, prios: make([]hashedPriority, len(sets)), rand: s.rand}
	build := func(hosts []weightedHost) table {
		if kind == RingHash {
			return newRing(hosts, s.minRing, s.maxRing, s.hashFunction)
		}
		return newMaglev(hosts, s.maglevSize)
	}
	for i := range sets {
		set, pr := &sets[i], &p.prios[i]
		if loads.panic[i] {
			pr.healthy = build(normalize(set, allHosts, s.localityWeighted))
			pr.degraded = pr.healthy
			continue
		}
		pr.healthy = build(normalize(set, healthyHosts, s.localityWeighted))
		pr.degraded = build(normalize(set, degradedHosts, s.localityWeighted))
	}
	return p
}

// Pick implements Policy.
func (p *hashed) Pick(ctx Context) Host {
	if len(p.prios) == 0 {
		return nil
	}
	hash := ctx.Hash
	if !ctx.HasHash {
		hash = p.rand.Uint64()
	}
	i, degraded := p.loads.choose(hash)
	t := p.prios[i].healthy
	if degraded {
		t = p.prios[i].degraded
	}
	h := t.lookup(hash, 0)
	for a := 1; h != nil && ctx.Reject != nil && a <= ctx.MaxRejectAttempts && ctx.Reject(h); a++ {
		h = t.lookup(hash, a)
	}
	return h
}

// hostList selects one of the host lists of a HostSet or Locality.
type hostList int

const (
	allHosts hostList = iota
	healthyHosts
	degradedHosts
)

func (l hostList) of(hosts, healthy, degraded []Host) []Host {
	switch l {
	case healthyHosts:
		return healthy
	case degradedHosts:
		return degraded
	}
	return hosts
}

// normalize gives each host of the list its share of the priority, as Envoy does for
// hash-based load balancers: weight over the sum of weights, times the locality's weight
// over the sum of locality weights when locality-weighted. Localities of weight 0 are left
// out, and when all locality weights are 0 so is every host.
func normalize(set *HostSet, list hostList, localityWeighted bool) []weightedHost {
	if !localityWeighted || len(set.Localities) == 0 {
		return appendNormalized(nil, list.of(set.Hosts, set.Healthy, set.Degraded), 1)
	}
	var sum uint64
	for _, loc := range set.Localities {
		sum += uint64(loc.Weight)
	}
	if sum == 0 {
		return nil
	}
	var out []weightedHost
	for _, loc := range set.Localities {
		if loc.Weight != 0 {
			hosts := list.of(loc.Hosts, loc.Healthy, loc.Degraded)
			out = appendNormalized(out, hosts, float64(loc.Weight)/float64(sum))
		}
	}
	return out
}

func appendNormalized(out []weightedHost, hosts []Host, localityShare float64) []weightedHost {
	sum := float64(sumWeights(hosts))
	for _, h := range hosts {
		out = append(out, weightedHost{host: h, weight: float64(h.Weight()) * localityShare / sum})
	}
	return out
}
