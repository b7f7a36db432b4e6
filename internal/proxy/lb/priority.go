package lb

// priorityLoads is how traffic is spread over priority levels: the percentage of requests
// that go to the healthy and to the degraded hosts of each priority (together 100), and
// whether each priority is in panic, balancing over all its hosts.
type priorityLoads struct {
	healthy  []uint32
	degraded []uint32
	panic    []bool
}

// computeLoads implements Envoy's priority load: the health of a priority is the share of
// its available hosts times the overprovisioning factor, capped at 100; load goes to the
// highest priorities first and spills to lower ones, first to healthy then to degraded
// hosts, normalised when the total health is below 100. When the total is below 100 a
// priority whose available share is below the panic threshold is in panic, and when all
// priorities are in panic the load follows host counts.
func computeLoads(sets []HostSet, s *settings) priorityLoads {
	n := len(sets)
	l := priorityLoads{healthy: make([]uint32, n), degraded: make([]uint32, n), panic: make([]bool, n)}
	if n == 0 {
		return l
	}
	health := make([]uint32, n)
	degraded := make([]uint32, n)
	var sum uint64
	for p := range sets {
		health[p], degraded[p] = priorityHealth(&sets[p], s)
		sum += uint64(health[p]) + uint64(degraded[p])
	}
	total := uint32(min(sum, 100))
	if total > 0 {
		distribute(&l, health, degraded, total)
	}
	if s.panicThreshold == 0 && total == 0 {
		// Panic is off and nothing is available: P=0 gets the load, and finds no host.
		l.healthy[0] = 100
		return l
	}
	allPanic := true
	for p := range sets {
		l.panic[p] = total < 100 && inPanic(&sets[p], s.panicThreshold)
		allPanic = allPanic && l.panic[p]
	}
	if allPanic {
		loadInTotalPanic(&l, sets)
	}
	return l
}

// priorityHealth returns the healthy and degraded availability of a priority, 0 to 100.
func priorityHealth(set *HostSet, s *settings) (healthy, degraded uint32) {
	if len(set.Hosts) == 0 {
		return 0, 0
	}
	h, d, t := uint64(len(set.Healthy)), uint64(len(set.Degraded)), uint64(len(set.Hosts))
	if s.weightedHealth {
		h, d, t = sumWeights(set.Healthy), sumWeights(set.Degraded), sumWeights(set.Hosts)
	}
	return uint32(min(100, s.overprovisioning*h/t)), uint32(min(100, s.overprovisioning*d/t))
}

func sumWeights(hosts []Host) uint64 {
	var sum uint64
	for _, h := range hosts {
		sum += uint64(h.Weight())
	}
	return sum
}

// distribute gives load to healthy then degraded availability, highest priority first;
// rounding leftovers go to the first priority with any availability.
func distribute(l *priorityLoads, health, degraded []uint32, total uint32) {
	firstHealthy, left := spread(l.healthy, health, 100, total)
	firstDegraded, left := spread(l.degraded, degraded, left, total)
	switch {
	case left == 0:
	case firstHealthy >= 0:
		l.healthy[firstHealthy] += left
	case firstDegraded >= 0:
		l.degraded[firstDegraded] += left
	}
}

// spread assigns as much of left to each priority as its normalised availability allows,
// and returns the first priority with availability (or -1) and what is left.
func spread(load, avail []uint32, left, total uint32) (first int, rest uint32) {
	first = -1
	for p, a := range avail {
		if first < 0 && a > 0 {
			first = p
		}
		load[p] = min(left, a*100/total)
		left -= load[p]
	}
	return first, left
}

// inPanic reports whether the share of healthy and degraded hosts of a priority is below
// the panic threshold. Panic follows host counts even with weighted priority health.
func inPanic(set *HostSet, threshold uint64) bool {
	if len(set.Hosts) == 0 {
		return 0 < threshold
	}
	available := 100 * float64(len(set.Healthy)+len(set.Degraded)) / float64(len(set.Hosts))
	return available < float64(threshold)
}

// loadInTotalPanic spreads load by the number of hosts of each priority, whatever their
// health; leftovers go to the first priority with hosts, or P=0 when there are none.
func loadInTotalPanic(l *priorityLoads, sets []HostSet) {
	var total int
	for p := range sets {
		total += len(sets[p].Hosts)
	}
	clear(l.healthy)
	clear(l.degraded)
	if total == 0 {
		l.healthy[0] = 100
		return
	}
	left, first := uint32(100), -1
	for p := range sets {
		n := len(sets[p].Hosts)
		if first < 0 && n > 0 {
			first = p
		}
		l.healthy[p] = uint32(100 * n / total)
		left -= l.healthy[p]
	}
	l.healthy[first] += left
}

// choose picks a priority with the given random number or request hash, and says whether
// the request goes to the degraded hosts of that priority.
func (l *priorityLoads) choose(hash uint64) (priority int, degraded bool) {
	x := uint32(hash%100) + 1
	var acc uint32
	for p, load := range l.healthy {
		acc += load
		if x <= acc {
			return p, false
		}
	}
	for p, load := range l.degraded {
		acc += load
		if x <= acc {
			return p, true
		}
	}
	// Loads add up to 100 except when nothing is available; Envoy falls back to P=0.
	return 0, false
}
