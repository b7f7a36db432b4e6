package upstream

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/stats"
)

type kind int

const (
	kindStatic kind = iota
	kindStrictDNS
	kindLogicalDNS
	kindOriginalDst
	kindEDS
)

// Protocol is the HTTP protocol a cluster speaks upstream.
type Protocol int

// Upstream protocols.
const (
	HTTP1 Protocol = iota
	HTTP2
	// UseDownstream speaks whatever the downstream request used.
	UseDownstream
)

// Cluster is a named group of upstream hosts with its load balancer, pools, circuit
// breakers and stats. Its settings are immutable; its membership is swapped atomically.
type Cluster struct {
	name        string
	config      *clusterv3.Cluster
	addedViaAPI bool
	kind        kind
	scope       stats.Scope
	info        *infoStats
	traffic     atomic.Pointer[Stats] // nil until first used when stats creation is deferred
	breakers    [2]*connpool.Breaker  // default and high routing priority
	protocol    Protocol
	tls         *tls.Config
	opts        clusterOptions
	lbKind      lb.Kind
	lbOpts      lb.Options
	created     time.Time

	mu         sync.Mutex // serialises membership updates
	membership atomic.Pointer[membership]
	endpoints  []endpoint // as configured (before DNS resolution)
	dns        *dnsState  // STRICT_DNS and LOGICAL_DNS
	origDst    *origDstState
	observer   Observer // outlier detection, nil when not configured

	// Passive and active health checking (outlier*.go, healthcheck*.go); nil when
	// not configured.
	outlier *outlierDetector
	health  *healthChecker

	slowStartTimer *time.Timer // rebuilds the balancer while hosts ramp up; under mu
	closed         bool        // under mu
}

// clusterOptions are the per-connection settings hosts' pools use.
type clusterOptions struct {
	connectTimeout           time.Duration
	maxRequestsPerConnection int
	idleTimeout              time.Duration
	maxConcurrentStreams     int64
	bind                     net.Addr // upstream_bind_config; nil: the kernel chooses
}

// membership is an immutable view of the cluster's hosts and the balancer over them.
type membership struct {
	hosts    []*Host // every host, by priority then config order
	policy   lb.Policy
	healthy  int
	degraded int
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Config returns the cluster's config as given.
func (c *Cluster) Config() *clusterv3.Cluster { return c.config }

// AddedViaAPI reports whether the cluster came from xDS rather than the bootstrap.
func (c *Cluster) AddedViaAPI() bool { return c.addedViaAPI }

// Stats returns the cluster's traffic stats, creating them on first use.
func (c *Cluster) Stats() *Stats {
	if s := c.traffic.Load(); s != nil {
		return s
	}
	c.traffic.CompareAndSwap(nil, newStats(c.scope)) // a loser's stats are the same counters
	return c.traffic.Load()
}

// carriedTraffic reports whether the cluster ever opened an upstream connection.
func (c *Cluster) carriedTraffic() bool {
	s := c.traffic.Load()
	return s != nil && s.Pool.CxTotal.Used()
}

// Breaker returns the circuit breaker for the routing priority (false: default, true: high).
func (c *Cluster) Breaker(high bool) *connpool.Breaker {
	if high {
		return c.breakers[1]
	}
	return c.breakers[0]
}

// Protocol returns the upstream HTTP protocol.
func (c *Cluster) Protocol() Protocol { return c.protocol }

// Hosts returns every host, by priority then config order.
func (c *Cluster) Hosts() []*Host { return c.membership.Load().hosts }

// Pick chooses a host for a request, or returns nil when none is available (the router
// answers 503 with UH). For ORIGINAL_DST clusters use PickOriginal.
func (c *Cluster) Pick(ctx lb.Context) *Host {
	m := c.membership.Load()
	if m.policy == nil {
		return nil
	}
	h := m.policy.Pick(ctx)
	if h == nil {
		return nil
	}
	return h.(*Host)
}

// IsOriginalDst reports whether hosts are the downstream connection's original
// destinations rather than a configured set.
func (c *Cluster) IsOriginalDst() bool { return c.kind == kindOriginalDst }

// setHosts installs a new membership built from hosts and counts the change.
func (c *Cluster) setHosts(hosts []*Host) error {
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].Priority() < hosts[j].Priority() })
	m := &membership{hosts: hosts}
	sets := hostSets(hosts, c.lbOpts.LocalityWeighted)
	for _, s := range sets {
		m.healthy += len(s.Healthy)
		m.degraded += len(s.Degraded)
	}
	if len(hosts) > 0 {
		p, err := lb.New(c.lbKind, sets, c.lbOpts)
		if err != nil {
			return fmt.Errorf("cluster %q: %w", c.name, err)
		}
		m.policy = p
		c.scheduleSlowStart(sets)
	}
	old := c.membership.Swap(m)
	c.info.MembershipTotal.Set(int64(len(hosts)))
	c.info.MembershipHealthy.Set(int64(m.healthy))
	c.info.MembershipDegraded.Set(int64(m.degraded))
	if old != nil && !sameHosts(old.hosts, hosts) {
		c.info.MembershipChange.Inc()
		closeRemoved(old.hosts, hosts)
	}
	c.hostsChanged(hosts)
	return nil
}

// scheduleSlowStart rebuilds the balancer again soon while hosts are in slow start, so
// that their weights ramp up. Called with c.mu held.
func (c *Cluster) scheduleSlowStart(sets []lb.HostSet) {
	if c.slowStartTimer != nil {
		c.slowStartTimer.Stop()
		c.slowStartTimer = nil
	}
	if d := c.lbOpts.SlowStartRefresh(sets, time.Now()); d > 0 && !c.closed {
		c.slowStartTimer = time.AfterFunc(d, c.refreshHealth)
	}
}

// refreshHealth rebuilds the membership after hosts' health flags changed.
func (c *Cluster) refreshHealth() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.membership.Load(); m != nil {
		_ = c.setHosts(append([]*Host(nil), m.hosts...))
	}
}

// hostSets groups hosts by priority for the load balancer and, for locality-weighted
// load balancing, each priority's hosts by locality (in the order they come), weighted
// by the locality's load_balancing_weight: a locality without one gets no traffic, as in
// Envoy.
func hostSets(hosts []*Host, byLocality bool) []lb.HostSet {
	var sets []lb.HostSet
	var locIndex []map[Locality]int // per priority: locality → index in Localities
	for _, h := range hosts {
		p := h.Priority()
		for uint32(len(sets)) <= p {
			sets = append(sets, lb.HostSet{})
			locIndex = append(locIndex, nil)
		}
		s := &sets[p]
		var loc *lb.Locality
		if byLocality {
			if locIndex[p] == nil {
				locIndex[p] = map[Locality]int{}
			}
			i, ok := locIndex[p][h.locality]
			if !ok {
				i = len(s.Localities)
				locIndex[p][h.locality] = i
				s.Localities = append(s.Localities, lb.Locality{Weight: h.localityWeight.Load()})
			}
			loc = &s.Localities[i]
			loc.Hosts = append(loc.Hosts, h)
		}
		s.Hosts = append(s.Hosts, h)
		switch hl := h.Health(); {
		case hl.Unhealthy():
		case hl.Degraded():
			s.Degraded = append(s.Degraded, h)
			if loc != nil {
				loc.Degraded = append(loc.Degraded, h)
			}
		default:
			s.Healthy = append(s.Healthy, h)
			if loc != nil {
				loc.Healthy = append(loc.Healthy, h)
			}
		}
	}
	return sets
}

func sameHosts(a, b []*Host) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// closeRemoved shuts the pools of hosts that left the cluster; requests in flight on
// them finish.
func closeRemoved(old, cur []*Host) {
	keep := make(map[*Host]bool, len(cur))
	for _, h := range cur {
		keep[h] = true
	}
	for _, h := range old {
		if !keep[h] {
			h.closePools()
		}
	}
}

// poolOptions returns the connection pool options for one of the cluster's hosts.
func (c *Cluster) poolOptions(h *Host) connpool.Options {
	return connpool.Options{
		Dial:                     h.dial,
		ConnectTimeout:           c.opts.connectTimeout,
		MaxRequestsPerConnection: c.opts.maxRequestsPerConnection,
		IdleTimeout:              c.opts.idleTimeout,
		MaxConcurrentStreams:     c.opts.maxConcurrentStreams,
		Breaker:                  c.breakers[0],
		Stats:                    func() *connpool.Stats { return c.Stats().Pool },
		Host:                     &h.Stats.HostStats,
	}
}

// close shuts every pool of the cluster (it was removed or replaced).
func (c *Cluster) close() {
	c.mu.Lock()
	c.closed = true
	if c.slowStartTimer != nil {
		c.slowStartTimer.Stop()
	}
	c.mu.Unlock()
	c.stopHealth()
	if m := c.membership.Load(); m != nil {
		for _, h := range m.hosts {
			h.closePools()
		}
	}
	if c.origDst != nil {
		c.origDst.closeAll()
	}
}

// hostFor returns the existing host for addr among hosts, or a new one.
func (c *Cluster) hostFor(existing map[netip.AddrPort]*Host, ep endpoint, addr netip.AddrPort) *Host {
	h := existing[addr]
	if h == nil {
		h = newHost(c, addr, ep.hostname, ep.locality)
		h.setHashKey(ep)
	}
	h.weight.Store(max(ep.weight, 1))
	h.priority.Store(ep.priority)
	h.localityWeight.Store(ep.localityWeight)
	h.replaceFlags(FailedEDSHealth|DegradedEDSHealth, ep.health)
	return h
}

// setEndpoints installs resolved endpoints (STATIC and EDS), reusing hosts that stay.
// setPolicy takes an EDS assignment's policy: its overprovisioning factor and
// weighted priority health apply to the balancer from the next membership on.
func (c *Cluster) setPolicy(p *endpointv3.ClusterLoadAssignment_Policy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lbOpts.OverprovisioningFactor = p.GetOverprovisioningFactor().GetValue()
	c.lbOpts.WeightedPriorityHealth = p.GetWeightedPriorityHealth()
}

func (c *Cluster) setEndpoints(eps []endpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	existing := map[netip.AddrPort]*Host{}
	if m := c.membership.Load(); m != nil {
		for _, h := range m.hosts {
			existing[h.Address()] = h
		}
	}
	hosts := make([]*Host, 0, len(eps))
	seen := map[netip.AddrPort]bool{}
	for _, ep := range eps {
		addr, err := ep.addrPort()
		if err != nil {
			return fmt.Errorf("cluster %q: %w", c.name, err)
		}
		if seen[addr] {
			continue
		}
		seen[addr] = true
		hosts = append(hosts, c.hostFor(existing, ep, addr))
	}
	return c.setHosts(hosts)
}

// scopeFor returns the stats scope of a cluster.
func scopeFor(store *stats.Store, cfg *clusterv3.Cluster) stats.Scope {
	name := cfg.GetName()
	if alt := cfg.GetAltStatName(); alt != "" {
		name = alt
	}
	return store.Scope("cluster." + name + ".")
}
