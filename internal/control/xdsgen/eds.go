package xdsgen

import (
	"net/netip"
	"sort"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// endpoints returns a ClusterLoadAssignment for every EDS cluster the node has: the
// ready endpoints of the service port, those of a subset filtered by its labels,
// grouped by locality with their weights.
func (g *gen) endpoints(names []string) ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	// With names, only the services they name are generated (the rest would be dropped).
	var hosts map[string]bool
	if names != nil {
		hosts = make(map[string]bool, len(names))
		for _, n := range names {
			h, ok := mesh.OutboundClusterHost(n)
			if !ok {
				hosts = nil // a name of another form: generate everything
				break
			}
			hosts[h] = true
		}
	}
	var out []Resource
	for _, svc := range g.sc.services {
		if svc.Resolution != mesh.ClientSideLB || (hosts != nil && !hosts[svc.Hostname]) {
			continue
		}
		dr := g.destinationRule(svc)
		var spec *networking.DestinationRule
		if dr != nil {
			spec, _ = dr.Spec.(*networking.DestinationRule)
		}
		for _, port := range svc.Ports {
			subsets := []*subsetRef{nil}
			for i, s := range spec.GetSubsets() {
				subsets = append(subsets, &subsetRef{s, i})
			}
			for _, sub := range subsets {
				if !g.node.Proxyless && mergePolicy(spec, sub, port.Number).lb.GetSimple() == networking.LoadBalancerSettings_PASSTHROUGH {
					continue // an ORIGINAL_DST cluster has no endpoints
				}
				name := outboundCluster(port.Number, sub.name(), svc.Hostname)
				cla := &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: localityEndpoints(g.endpointsFor(svc, port.Number, sub))}
				if g.node.Proxyless {
					grpcLocalities(cla)
				}
				out = append(out, Resource{Name: name, Message: cla})
			}
		}
	}
	return out, nil
}

// endpointsFor returns the ready endpoints of a service port, of a subset when sub is
// set. EDS clusters take IP addresses only; DNS clusters take names too.
func (g *gen) endpointsFor(svc *mesh.Service, port uint32, sub *subsetRef) []*mesh.Endpoint {
	var out []*mesh.Endpoint
	for _, ep := range g.snap.EndpointsOf(svc.Hostname, port) {
		if !ep.Healthy {
			continue // as Istio, not-ready endpoints are not sent
		}
		if sub != nil && !mesh.LabelsMatch(sub.s.GetLabels(), ep.Labels) {
			continue
		}
		if svc.Resolution == mesh.ClientSideLB {
			if _, err := netip.ParseAddr(ep.Address); err != nil {
				continue // the registry's job to reject; an EDS host must be an IP
			}
		}
		out = append(out, ep)
	}
	return out
}

// localityEndpoints groups endpoints by locality, sorted, each locality weighted by the
// sum of its endpoints' weights (as Istio does).
func localityEndpoints(eps []*mesh.Endpoint) []*endpointv3.LocalityLbEndpoints {
	byLoc := map[mesh.Locality][]*mesh.Endpoint{}
	var locs []mesh.Locality
	for _, ep := range eps {
		if _, ok := byLoc[ep.Locality]; !ok {
			locs = append(locs, ep.Locality)
		}
		byLoc[ep.Locality] = append(byLoc[ep.Locality], ep)
	}
	sort.Slice(locs, func(i, j int) bool { return localityKey(locs[i]) < localityKey(locs[j]) })
	out := make([]*endpointv3.LocalityLbEndpoints, 0, len(locs))
	for _, loc := range locs {
		group := byLoc[loc]
		sort.Slice(group, func(i, j int) bool {
			if group[i].Address != group[j].Address {
				return group[i].Address < group[j].Address
			}
			return group[i].Port < group[j].Port
		})
		lle := &endpointv3.LocalityLbEndpoints{}
		if loc != (mesh.Locality{}) {
			lle.Locality = &corev3.Locality{Region: loc.Region, Zone: loc.Zone, SubZone: loc.SubZone}
		}
		var total uint32
		for _, ep := range group {
			w := max(ep.Weight, 1)
			total += w
			lle.LbEndpoints = append(lle.LbEndpoints, lbEndpoint(ep.Address, ep.Port, w))
		}
		lle.LoadBalancingWeight = u32(total)
		out = append(out, lle)
	}
	return out
}

func localityKey(l mesh.Locality) string { return l.Region + "/" + l.Zone + "/" + l.SubZone }

// lbEndpoint is one healthy host; weight 0 leaves the weight unset.
func lbEndpoint(addr string, port, weight uint32) *endpointv3.LbEndpoint {
	ep := &endpointv3.LbEndpoint{
		HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(addr, port)}},
		HealthStatus:   corev3.HealthStatus_HEALTHY,
	}
	if weight > 0 {
		ep.LoadBalancingWeight = u32(weight)
	}
	return ep
}
