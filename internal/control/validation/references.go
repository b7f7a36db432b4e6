package validation

import (
	"fmt"
	"slices"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// index holds what references are checked against: the valid Gateways by
// "namespace/name", and the subsets of the valid DestinationRules by resolved host.
type index struct {
	domainSuffix string
	gateways     map[string]bool
	subsets      map[string]map[string]bool // host -> subset names
	drHosts      []string
}

func newIndex(objs []Object, domainSuffix string) *index {
	idx := &index{domainSuffix: domainSuffix, gateways: map[string]bool{}, subsets: map[string]map[string]bool{}}
	for _, o := range objs {
		c := o.Config
		if c == nil {
			continue
		}
		switch spec := c.Spec.(type) {
		case *networking.Gateway:
			idx.gateways[mesh.GatewayName(c)] = true
		case *networking.DestinationRule:
			host := mesh.ResolveHost(spec.GetHost(), c.Namespace, domainSuffix)
			if idx.subsets[host] == nil {
				idx.subsets[host] = map[string]bool{}
				idx.drHosts = append(idx.drHosts, host)
			}
			for _, s := range spec.GetSubsets() {
				idx.subsets[host][s.GetName()] = true
			}
		}
	}
	return idx
}

// references returns the texts of c's IST0101 messages, in the order of the fields,
// each once.
func (idx *index) references(c *config.Config) []string {
	vs, ok := c.Spec.(*networking.VirtualService)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	report := func(text string) {
		if !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	for _, ref := range gatewayRefs(vs) {
		if ref != mesh.MeshGateway && !idx.gateways[mesh.GatewayRef(c.Namespace, ref)] {
			report(fmt.Sprintf("Referenced gateway not found: %q", ref))
		}
	}
	for _, d := range destinations(vs) {
		if d.GetSubset() != "" && !idx.hasSubset(mesh.ResolveHost(d.GetHost(), c.Namespace, idx.domainSuffix), d.GetSubset()) {
			report(fmt.Sprintf("Referenced host+subset in destinationrule not found: %q", d.GetHost()+"+"+d.GetSubset()))
		}
	}
	return out
}

// gatewayRefs lists the gateways a VirtualService names: its own, then its routes'
// matches'.
func gatewayRefs(vs *networking.VirtualService) []string {
	refs := slices.Clone(vs.GetGateways())
	for _, r := range vs.GetHttp() {
		for _, m := range r.GetMatch() {
			refs = append(refs, m.GetGateways()...)
		}
	}
	for _, r := range vs.GetTls() {
		for _, m := range r.GetMatch() {
			refs = append(refs, m.GetGateways()...)
		}
	}
	for _, r := range vs.GetTcp() {
		for _, m := range r.GetMatch() {
			refs = append(refs, m.GetGateways()...)
		}
	}
	return refs
}

// destinations lists the destinations of a VirtualService's routes and mirrors.
func destinations(vs *networking.VirtualService) []*networking.Destination {
	var out []*networking.Destination
	for _, r := range vs.GetHttp() {
		for _, d := range r.GetRoute() {
			out = append(out, d.GetDestination())
		}
		if r.GetMirror() != nil {
			out = append(out, r.GetMirror())
		}
		for _, m := range r.GetMirrors() {
			out = append(out, m.GetDestination())
		}
	}
	for _, r := range vs.GetTls() {
		for _, d := range r.GetRoute() {
			out = append(out, d.GetDestination())
		}
	}
	for _, r := range vs.GetTcp() {
		for _, d := range r.GetRoute() {
			out = append(out, d.GetDestination())
		}
	}
	return out
}

// hasSubset reports whether the DestinationRule that applies to host, the one for the
// host itself or else for the most specific wildcard covering it, defines the subset.
func (idx *index) hasSubset(host, subset string) bool {
	best, ok := mesh.MostSpecificHost(host, idx.drHosts)
	return ok && idx.subsets[best][subset]
}
