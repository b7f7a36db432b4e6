package lb

import "math/rand/v2"

// scheduled is the load balancer of round robin, least request and random: for each pick a
// priority is chosen at random by priority load, then the hosts to use: all hosts in panic,
// else those of a locality chosen by locality weight when locality-weighted, else the
// healthy or degraded hosts; the source of that host list picks the host.
type scheduled struct {
	loads priorityLoads
	prios []scheduledPriority
	rand  rand.Source
}

var _ Policy = (*scheduled)(nil)

type scheduledPriority struct {
	panic      bool
	all        source // only in panic
	healthy    source
	degraded   source
	localities *localityPicker // only when locality-weighted and not in panic
}

// localityPicker chooses a locality by effective locality weight, then a host of it.
type localityPicker struct {
	healthy, degraded       *schedule
	healthySrc, degradedSrc []source
}

func newScheduled(kind Kind, sets []HostSet, loads priorityLoads, s *settings) *scheduled {
	p := &scheduled{loads: loads, prios: make([]scheduledPriority, len(sets)), rand: s.rand}
	for i := range sets {
		set, pr := &sets[i], &p.prios[i]
		pr.panic = loads.panic[i]
		if pr.panic {
			pr.all = newSource(kind, set.Hosts, s)
			continue
		}
		pr.healthy = newSource(kind, set.Healthy, s)
		pr.degraded = newSource(kind, set.Degraded, s)
		if s.localityWeighted && len(set.Localities) > 0 {
			pr.localities = newLocalityPicker(kind, set.Localities, s)
		}
	}
	return p
}

func newLocalityPicker(kind Kind, locs []Locality, s *settings) *localityPicker {
	lp := &localityPicker{
		healthySrc:  make([]source, len(locs)),
		degradedSrc: make([]source, len(locs)),
	}
	healthy := make([]float64, len(locs))
	degraded := make([]float64, len(locs))
	for i := range locs {
		loc := &locs[i]
		lp.healthySrc[i] = newSource(kind, loc.Healthy, s)
		lp.degradedSrc[i] = newSource(kind, loc.Degraded, s)
		healthy[i] = effectiveLocalityWeight(loc, len(loc.Healthy), s.overprovisioning)
		degraded[i] = effectiveLocalityWeight(loc, len(loc.Degraded), s.overprovisioning)
	}
	lp.healthy = newSchedule(healthy, s.rand.Uint64())
	lp.degraded = newSchedule(degraded, s.rand.Uint64())
	return lp
}

// effectiveLocalityWeight is Envoy's: the locality weight times the share of eligible
// hosts in the locality scaled by the overprovisioning factor, capped at 1.
func effectiveLocalityWeight(loc *Locality, eligible int, overprovisioning uint64) float64 {
	if len(loc.Hosts) == 0 {
		return 0
	}
	ratio := float64(eligible) / float64(len(loc.Hosts))
	return float64(loc.Weight) * min(1, float64(overprovisioning)/100*ratio)
}

// pick returns a host of a locality chosen by weight, or false when no locality has
// eligible hosts and weight.
func (lp *localityPicker) pick(degraded bool, r rand.Source) (Host, bool) {
	sched, srcs := lp.healthy, lp.healthySrc
	if degraded {
		sched, srcs = lp.degraded, lp.degradedSrc
	}
	i := sched.pick()
	if i < 0 {
		return nil, false
	}
	return srcs[i].pick(r), true
}

// Pick implements Policy.
func (p *scheduled) Pick(ctx Context) Host {
	h := p.pickOnce()
	for i := 0; h != nil && ctx.Reject != nil && i < ctx.MaxRejectAttempts && ctx.Reject(h); i++ {
		h = p.pickOnce()
	}
	return h
}

func (p *scheduled) pickOnce() Host {
	if len(p.prios) == 0 {
		return nil
	}
	i, degraded := p.loads.choose(p.rand.Uint64())
	pr := &p.prios[i]
	if pr.panic {
		return pr.all.pick(p.rand)
	}
	if pr.localities != nil {
		if h, ok := pr.localities.pick(degraded, p.rand); ok {
			return h
		}
	}
	if degraded {
		return pr.degraded.pick(p.rand)
	}
	return pr.healthy.pick(p.rand)
}
