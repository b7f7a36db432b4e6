package upstream

import (
	"context"
	"net/netip"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
)

// dnsState is the refresh schedule of a STRICT_DNS or LOGICAL_DNS cluster.
type dnsState struct {
	network string
	every   time.Duration

	mu       sync.Mutex
	next     time.Time
	inflight bool
}

func newDNS(cfg *clusterv3.Cluster) *dnsState {
	d := &dnsState{network: "ip", every: 5 * time.Second}
	switch cfg.GetDnsLookupFamily() {
	case clusterv3.Cluster_V4_ONLY:
		d.network = "ip4"
	case clusterv3.Cluster_V6_ONLY:
		d.network = "ip6"
	}
	if r := cfg.GetDnsRefreshRate(); r != nil && r.AsDuration() > 0 {
		d.every = r.AsDuration()
	}
	return d
}

// due reports whether a refresh should start now, and marks one as started.
func (d *dnsState) due(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight || now.Before(d.next) {
		return false
	}
	d.inflight = true
	return true
}

func (d *dnsState) done() {
	d.mu.Lock()
	d.inflight = false
	d.next = time.Now().Add(d.every)
	d.mu.Unlock()
}

// resolve looks up every endpoint of a DNS cluster and installs the result. A failed
// lookup keeps the hosts resolved before, as Envoy does.
func (m *Manager) resolve(ctx context.Context, c *Cluster) {
	defer c.dns.done()
	c.info.UpdateAttempt.Inc()
	var eps []endpoint
	var addrs [][]netip.Addr
	for _, ep := range c.endpoints {
		ips, err := m.lookup(ctx, c.dns.network, ep.host)
		if err != nil {
			c.info.UpdateFailure.Inc()
			m.log.Warn("dns resolution failed", "cluster", c.name, "host", ep.host, "error", err)
			return
		}
		addrs = append(addrs, ips)
		eps = append(eps, ep)
	}
	if c.kind == kindLogicalDNS {
		c.setLogical(eps, addrs)
	} else {
		c.setResolved(eps, addrs)
	}
	c.info.UpdateSuccess.Inc()
}

func (m *Manager) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	return m.opts.Resolver.LookupNetIP(ctx, network, host)
}

// setResolved installs STRICT_DNS results: every address of every endpoint is a host.
func (c *Cluster) setResolved(eps []endpoint, addrs [][]netip.Addr) {
	var flat []endpoint
	for i, ep := range eps {
		for _, ip := range addrs[i] {
			e := ep
			if e.hostname == "" {
				e.hostname = ep.host
			}
			e.host = ip.Unmap().String()
			flat = append(flat, e)
		}
	}
	if err := c.setEndpoints(flat); err != nil {
		c.info.UpdateFailure.Inc()
	}
}

// setLogical installs LOGICAL_DNS results: one host per endpoint whose address follows
// the first address resolved; existing connections stay where they are.
func (c *Cluster) setLogical(eps []endpoint, addrs [][]netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.membership.Load().hosts
	if len(eps) == 0 || len(addrs[0]) == 0 {
		return
	}
	ep := eps[0]
	addr := netip.AddrPortFrom(addrs[0][0].Unmap(), ep.port)
	if len(cur) == 1 {
		if cur[0].Address() != addr {
			cur[0].addr.Store(&addr)
		}
		return
	}
	if ep.hostname == "" {
		ep.hostname = ep.host
	}
	h := newHost(c, addr, ep.hostname, ep.locality)
	h.setHashKey(ep)
	h.weight.Store(max(ep.weight, 1))
	_ = c.setHosts([]*Host{h})
}
