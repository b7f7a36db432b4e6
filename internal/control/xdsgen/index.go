package xdsgen

import (
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// These lookups are the generators' own until mesh.Snapshot grows shared indexes; they
// scan the snapshot's config lists, which are small next to the services.

// drIndex holds the DestinationRules by resolved host, and those with wildcard hosts.
type drIndex struct {
	exact    map[string][]*config.Config
	wildcard []*config.Config
	chosen   map[string]*config.Config // by service hostname, once decided
}

func (g *gen) drs() *drIndex {
	if g.drIdx != nil {
		return g.drIdx
	}
	idx := &drIndex{exact: map[string][]*config.Config{}, chosen: map[string]*config.Config{}}
	list := g.snap.List(config.DestinationRule)
	for i := range list {
		c := &list[i]
		spec, ok := c.Spec.(*networking.DestinationRule)
		if !ok {
			continue
		}
		host := g.resolveHost(spec.GetHost(), c.Namespace)
		if strings.HasPrefix(host, "*") {
			idx.wildcard = append(idx.wildcard, c)
		} else {
			idx.exact[host] = append(idx.exact[host], c)
		}
	}
	g.drIdx = idx
	return idx
}

// destinationRule returns the DestinationRule that applies to traffic from the node to
// svc, as Istio chooses it: one in the node's namespace, else one in the service's
// namespace, else one in the root namespace. Within a namespace an exact host beats a
// wildcard and, among equals, a workloadSelector match beats none, then the oldest wins.
// It returns nil when none applies.
func (g *gen) destinationRule(svc *mesh.Service) *config.Config {
	idx := g.drs()
	if c, ok := idx.chosen[svc.Hostname]; ok {
		return c
	}
	candidates := append(append([]*config.Config(nil), idx.exact[svc.Hostname]...), idx.wildcard...)
	var found *config.Config
	for _, ns := range []string{g.node.Namespace, svc.Namespace, g.rootNamespace()} {
		var best *config.Config
		bestRank := -1
		for _, c := range candidates {
			if c.Namespace != ns {
				continue
			}
			if r := g.drRank(c, svc); r > bestRank || (r == bestRank && r >= 0 && older(c, best)) {
				best, bestRank = c, r
			}
		}
		if best != nil && bestRank >= 0 {
			found = best
			break
		}
	}
	idx.chosen[svc.Hostname] = found
	return found
}

// drRank says how well a DestinationRule fits svc for this node: -1 not at all, higher
// is better.
func (g *gen) drRank(c *config.Config, svc *mesh.Service) int {
	spec := c.Spec.(*networking.DestinationRule)
	if !mesh.ExportedTo(spec.GetExportTo(), c.Namespace, g.node.Namespace) {
		return -1
	}
	rank := 0
	if sel := spec.GetWorkloadSelector().GetMatchLabels(); len(sel) > 0 {
		if c.Namespace != g.node.Namespace || !mesh.LabelsMatch(sel, g.node.Labels) {
			return -1
		}
		rank++
	}
	host := g.resolveHost(spec.GetHost(), c.Namespace)
	switch {
	case host == svc.Hostname:
		return rank + 2
	case hostMatches(host, svc.Hostname):
		return rank
	}
	return -1
}

func older(a, b *config.Config) bool {
	if b == nil {
		return true
	}
	if !a.CreationTime.Equal(b.CreationTime) {
		return a.CreationTime.Before(b.CreationTime)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// virtualServices returns the VirtualServices visible to the node that bind to gateway
// ("mesh" for sidecars, "ns/name" for a Gateway), oldest first.
func (g *gen) virtualServices(gateway string) []config.Config {
	var out []config.Config
	for _, c := range g.snap.List(config.VirtualService) {
		spec, ok := c.Spec.(*networking.VirtualService)
		if !ok || !mesh.ExportedTo(spec.GetExportTo(), c.Namespace, g.node.Namespace) {
			continue
		}
		if bindsTo(spec.GetGateways(), c.Namespace, gateway) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return older(&out[i], &out[j]) })
	return out
}

// bindsTo reports whether a gateways list of config in namespace ns names gateway. An
// empty list means the mesh.
func bindsTo(gateways []string, ns, gateway string) bool {
	if len(gateways) == 0 {
		return gateway == meshGateway
	}
	for _, gw := range gateways {
		if qualifyGateway(gw, ns) == gateway {
			return true
		}
	}
	return false
}

// qualifyGateway writes a gateway reference as "ns/name"; "mesh" stays as it is.
func qualifyGateway(gw, ns string) string {
	if gw == meshGateway || strings.Contains(gw, "/") {
		return gw
	}
	if parts := strings.Split(gw, "."); len(parts) >= 2 { // name.namespace.svc.cluster.local, as Istio allows
		return parts[1] + "/" + parts[0]
	}
	return ns + "/" + gw
}

// vsIndex holds the VirtualServices bound to one gateway by resolved host, and those
// with wildcard hosts, each list oldest first.
type vsIndex struct {
	all      []config.Config
	exact    map[string][]*config.Config
	wildcard []vsHost
}

type vsHost struct {
	host string
	c    *config.Config
}

// vsFor indexes the VirtualServices bound to gateway, once per generation.
func (g *gen) vsFor(gateway string) *vsIndex {
	if idx, ok := g.vsIdx[gateway]; ok {
		return idx
	}
	idx := &vsIndex{all: g.virtualServices(gateway), exact: map[string][]*config.Config{}}
	for i := range idx.all {
		c := &idx.all[i]
		for _, h := range c.Spec.(*networking.VirtualService).GetHosts() {
			host := g.resolveHost(h, c.Namespace)
			if strings.HasPrefix(host, "*") {
				idx.wildcard = append(idx.wildcard, vsHost{host, c})
			} else {
				idx.exact[host] = append(idx.exact[host], c)
			}
		}
	}
	g.vsIdx[gateway] = idx
	return idx
}

// meshVirtualService returns the VirtualService that routes traffic for svc from
// sidecars (exact host before wildcard, then oldest), or nil.
func (g *gen) meshVirtualService(svc *mesh.Service) *config.Config {
	idx := g.vsFor(meshGateway)
	if cs := idx.exact[svc.Hostname]; len(cs) > 0 {
		return cs[0]
	}
	for _, w := range idx.wildcard {
		if hostMatches(w.host, svc.Hostname) {
			return w.c
		}
	}
	return nil
}

// check returns checkIstio's verdict on c, once per generation.
func (g *gen) check(c config.Config) error {
	key := c.Key()
	if err, ok := g.checked[key]; ok {
		return err
	}
	err := checkIstio(c)
	g.checked[key] = err
	return err
}

// gateways returns the Gateways whose selector matches the node's labels, sorted by
// namespace and name.
func (g *gen) gateways() []config.Config {
	var out []config.Config
	for _, c := range g.snap.List(config.Gateway) {
		spec, ok := c.Spec.(*networking.Gateway)
		if ok && len(spec.GetSelector()) > 0 && mesh.LabelsMatch(spec.GetSelector(), g.node.Labels) {
			out = append(out, c)
		}
	}
	return out
}
