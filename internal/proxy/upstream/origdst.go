package upstream

import (
	"net/netip"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
)

// origDstState holds the hosts of an ORIGINAL_DST cluster: one per original
// destination seen, dropped after a cleanup interval without use.
type origDstState struct {
	c            *Cluster
	every        time.Duration
	headerName   string // "" unless use_http_header
	portOverride uint16

	mu    sync.Mutex
	hosts map[netip.AddrPort]*origHost
	next  time.Time
}

type origHost struct {
	h    *Host
	used bool
}

func newOrigDst(c *Cluster, cfg *clusterv3.Cluster) *origDstState {
	o := &origDstState{c: c, every: 5 * time.Second, hosts: map[netip.AddrPort]*origHost{}}
	if d := cfg.GetCleanupInterval(); d != nil && d.AsDuration() > 0 {
		o.every = d.AsDuration()
	}
	if lc := cfg.GetOriginalDstLbConfig(); lc.GetUseHttpHeader() {
		o.headerName = "x-envoy-original-dst-host"
		if n := lc.GetHttpHeaderName(); n != "" {
			o.headerName = n
		}
	}
	if p := cfg.GetOriginalDstLbConfig().GetUpstreamPortOverride(); p != nil {
		o.portOverride = uint16(p.GetValue())
	}
	o.next = time.Now().Add(o.every)
	return o
}

// HeaderName returns the request header that overrides the destination ("" when the
// cluster does not use one).
func (c *Cluster) OriginalDstHeader() string {
	if c.origDst == nil {
		return ""
	}
	return c.origDst.headerName
}

// PickOriginal returns the host for an ORIGINAL_DST cluster's destination dst.
func (c *Cluster) PickOriginal(dst netip.AddrPort) *Host {
	o := c.origDst
	if o == nil || !dst.IsValid() {
		return nil
	}
	if o.portOverride != 0 {
		dst = netip.AddrPortFrom(dst.Addr(), o.portOverride)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	oh := o.hosts[dst]
	if oh == nil {
		oh = &origHost{h: newHost(c, dst, "", Locality{})}
		o.hosts[dst] = oh
		c.info.MembershipTotal.Set(int64(len(o.hosts)))
		c.info.MembershipHealthy.Set(int64(len(o.hosts)))
	}
	oh.used = true
	return oh.h
}

// cleanup drops hosts not used since the last cleanup.
func (o *origDstState) cleanup(now time.Time) {
	o.mu.Lock()
	if now.Before(o.next) {
		o.mu.Unlock()
		return
	}
	o.next = now.Add(o.every)
	var gone []*Host
	for a, oh := range o.hosts {
		if !oh.used && oh.h.ActiveRequests() == 0 {
			delete(o.hosts, a)
			gone = append(gone, oh.h)
		}
		oh.used = false
	}
	o.c.info.MembershipTotal.Set(int64(len(o.hosts)))
	o.c.info.MembershipHealthy.Set(int64(len(o.hosts)))
	o.mu.Unlock()
	for _, h := range gone {
		h.closePools()
	}
}

func (o *origDstState) closeAll() {
	o.mu.Lock()
	hosts := o.hosts
	o.hosts = map[netip.AddrPort]*origHost{}
	o.mu.Unlock()
	for _, oh := range hosts {
		oh.h.closePools()
	}
}

// OriginalHosts lists the current hosts of an ORIGINAL_DST cluster.
func (c *Cluster) OriginalHosts() []*Host {
	if c.origDst == nil {
		return nil
	}
	c.origDst.mu.Lock()
	defer c.origDst.mu.Unlock()
	out := make([]*Host, 0, len(c.origDst.hosts))
	for _, oh := range c.origDst.hosts {
		out = append(out, oh.h)
	}
	return out
}
