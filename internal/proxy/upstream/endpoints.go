package upstream

import (
	"fmt"
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func init() {
	config.Support(&endpointv3.ClusterLoadAssignment{}, "cluster_name", "endpoints", "policy")
	config.Support(&endpointv3.ClusterLoadAssignment_Policy{}, "overprovisioning_factor")
	config.Support(&endpointv3.LocalityLbEndpoints{}, "locality", "lb_endpoints", "load_balancing_weight", "priority")
	config.Support(&endpointv3.LbEndpoint{}, "endpoint", "health_status", "load_balancing_weight", "metadata")
	config.Support(&endpointv3.Endpoint{}, "address", "hostname")
	config.Support(&corev3.Locality{}, "region", "zone", "sub_zone")
	config.Support(&corev3.Metadata{}, "filter_metadata")
}

// endpoint is one configured endpoint; host is an IP literal or, for DNS clusters, a name.
type endpoint struct {
	host     string
	port     uint16
	hostname string
	hashKey  string // the "envoy.lb" hash_key metadata
	weight   uint32
	priority uint32
	locality Locality
	// localityWeight is the locality's load_balancing_weight (0: not set); it counts only
	// with locality-weighted load balancing.
	localityWeight uint32
	health         Health
}

func (ep endpoint) addrPort() (netip.AddrPort, error) {
	ip, err := netip.ParseAddr(ep.host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q is not an IP address", ep.host)
	}
	return netip.AddrPortFrom(ip.Unmap(), ep.port), nil
}

// parseEndpoints flattens a ClusterLoadAssignment.
func parseEndpoints(cla *endpointv3.ClusterLoadAssignment) ([]endpoint, error) {
	var out []endpoint
	for i, lle := range cla.GetEndpoints() {
		loc := Locality{Region: lle.GetLocality().GetRegion(), Zone: lle.GetLocality().GetZone(), SubZone: lle.GetLocality().GetSubZone()}
		locWeight := lle.GetLoadBalancingWeight().GetValue()
		for j, le := range lle.GetLbEndpoints() {
			ep := le.GetEndpoint()
			if ep == nil {
				return nil, fmt.Errorf("endpoints[%d].lb_endpoints[%d]: only endpoint is supported (not endpoint_name)", i, j)
			}
			host, port, err := config.SocketAddress(ep.GetAddress())
			if err != nil {
				return nil, fmt.Errorf("endpoints[%d].lb_endpoints[%d].endpoint.address: %w", i, j, err)
			}
			w := uint32(1)
			if le.GetLoadBalancingWeight() != nil {
				w = le.GetLoadBalancingWeight().GetValue()
			}
			hashKey := le.GetMetadata().GetFilterMetadata()["envoy.lb"].GetFields()["hash_key"].GetStringValue()
			out = append(out, endpoint{
				host: host, port: port, hostname: ep.GetHostname(), hashKey: hashKey, weight: w,
				priority: lle.GetPriority(), locality: loc, localityWeight: locWeight, health: edsHealth(le.GetHealthStatus()),
			})
		}
	}
	return out, nil
}

// edsHealth maps an EDS health status to host health flags.
func edsHealth(s corev3.HealthStatus) Health {
	switch s {
	case corev3.HealthStatus_UNHEALTHY, corev3.HealthStatus_DRAINING, corev3.HealthStatus_TIMEOUT:
		return FailedEDSHealth
	case corev3.HealthStatus_DEGRADED:
		return DegradedEDSHealth
	}
	return 0
}
