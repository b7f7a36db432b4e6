package xdsgen

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// Proxyless gRPC clients (grpc-go's xds:/// resolver) get Istio's grpc generator
// shapes: an API listener per target "host:port" whose connection manager names, for
// RDS, the route configuration outbound|port||host; that configuration has the one
// virtual host of the service port; clusters are EDS clusters with a policy gRPC
// implements. The weft proxy never sees these.

// grpcListeners returns an API listener per visible service port, or per requested
// target when names are given (short names resolve in the node's namespace).
func (g *gen) grpcListeners(names []string) ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	var out []Resource
	if len(names) == 0 {
		for _, svc := range g.sc.services {
			for _, p := range svc.Ports {
				name := hostPort(svc.Hostname, p.Number)
				out = append(out, Resource{Name: name, Message: g.apiListener(name, svc, p.Number)})
			}
		}
		return out, nil
	}
	for _, name := range names {
		svc, port, ok := g.grpcTarget(name)
		if ok {
			out = append(out, Resource{Name: name, Message: g.apiListener(name, svc, port)})
		}
	}
	return out, nil
}

// grpcTarget resolves a listener name a gRPC client asked for: host[:port], the host
// a short name, name.namespace, name.namespace.svc or a full hostname. Without a port,
// the service must have exactly one.
func (g *gen) grpcTarget(name string) (*mesh.Service, uint32, bool) {
	host, portStr, err := net.SplitHostPort(name)
	if err != nil {
		host, portStr = name, ""
	}
	fqdn := host
	switch strings.Count(host, ".") {
	case 0:
		fqdn = host + "." + g.node.Namespace + ".svc." + g.suffix()
	case 1:
		fqdn = host + ".svc." + g.suffix()
	case 2:
		if strings.HasSuffix(host, ".svc") {
			fqdn = host + "." + g.suffix()
		}
	}
	svc := g.sc.service(fqdn)
	if svc == nil {
		return nil, 0, false
	}
	if portStr == "" {
		if len(svc.Ports) != 1 {
			return nil, 0, false
		}
		return svc, svc.Ports[0].Number, true
	}
	n, err := strconv.ParseUint(portStr, 10, 32)
	if err != nil || !hasPort(svc, uint32(n)) {
		return nil, 0, false
	}
	return svc, uint32(n), true
}

func (g *gen) apiListener(name string, svc *mesh.Service, port uint32) *listenerv3.Listener {
	addr := vipOf(svc)
	if addr == "" {
		addr = wildcardAddress
	}
	hcm := &hcmv3.HttpConnectionManager{
		HttpFilters: httpFilters(true),
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: adsSource(), RouteConfigName: outboundCluster(port, "", svc.Hostname),
		}},
	}
	return &listenerv3.Listener{
		Name:        name,
		Address:     socketAddress(addr, port),
		ApiListener: &listenerv3.ApiListener{ApiListener: toAny(hcm)},
	}
}

// grpcRoutes returns, per visible service port, the route configuration
// outbound|port||host with the service port's one virtual host.
func (g *gen) grpcRoutes() ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	var out []Resource
	for _, svc := range g.sc.services {
		for _, p := range svc.Ports {
			vh, err := g.serviceVirtualHost(svc, p.Number, g.serviceDomains(svc, p.Number), map[string]bool{})
			if err != nil {
				return nil, err
			}
			name := outboundCluster(p.Number, "", svc.Hostname)
			out = append(out, Resource{Name: name, Message: &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{vh}}})
		}
	}
	return out, nil
}

// grpcClusters returns the EDS clusters of visible services with known endpoints (gRPC
// resolves no DNS clusters and has no original-destination clusters), the default and
// one per subset, with the load balancer (ROUND_ROBIN unless the DestinationRule says
// otherwise, as Istio's grpc generator), circuit breakers and outlier detection: the
// parts of a DestinationRule gRPC implements.
func (g *gen) grpcClusters() ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	var out []Resource
	for _, svc := range g.sc.services {
		if svc.Resolution != mesh.ClientSideLB {
			continue
		}
		dr := g.destinationRule(svc)
		var spec *networking.DestinationRule
		if dr != nil {
			if err := g.check(*dr); err != nil {
				return nil, err
			}
			spec = dr.Spec.(*networking.DestinationRule)
		}
		for _, port := range svc.Ports {
			subsets := []*subsetRef{nil}
			for i, s := range spec.GetSubsets() {
				subsets = append(subsets, &subsetRef{s, i})
			}
			for _, sub := range subsets {
				full, err := g.serviceCluster(svc, port, dr, spec, sub)
				if err != nil {
					return nil, err
				}
				p := mergePolicy(spec, sub, port.Number)
				c, err := grpcCluster(full, p.lb)
				if err != nil {
					return nil, fieldErr(*dr, p.lbPath, "%s", err.Error())
				}
				out = append(out, Resource{Name: c.GetName(), Message: c})
			}
		}
	}
	return out, nil
}

// grpcCluster keeps what gRPC uses of a sidecar cluster, refusing load balancers gRPC
// does not implement.
func grpcCluster(full *clusterv3.Cluster, lb *networking.LoadBalancerSettings) (*clusterv3.Cluster, error) {
	c := &clusterv3.Cluster{
		Name:                 full.GetName(),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource(), ServiceName: full.GetName()},
		LbPolicy:             full.GetLbPolicy(),
		CircuitBreakers:      full.GetCircuitBreakers(),
		OutlierDetection:     full.GetOutlierDetection(),
	}
	if lb.GetSimple() == networking.LoadBalancerSettings_UNSPECIFIED && lb.GetConsistentHash() == nil {
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
	}
	if full.GetType() != clusterv3.Cluster_EDS {
		return nil, errors.New("PASSTHROUGH is not implemented by proxyless gRPC clients")
	}
	switch c.GetLbPolicy() {
	case clusterv3.Cluster_ROUND_ROBIN, clusterv3.Cluster_LEAST_REQUEST:
	case clusterv3.Cluster_RING_HASH:
		c.LbConfig = full.GetLbConfig()
	default:
		return nil, fmt.Errorf("%s is not implemented by proxyless gRPC clients (ROUND_ROBIN, LEAST_REQUEST and ringHash are)", c.GetLbPolicy())
	}
	return c, nil
}

// grpcLocalities gives every locality of an assignment an ID, empty when the endpoints
// have none: grpc-go rejects an EDS response with a locality without one (Envoy takes
// a missing locality as the empty one).
func grpcLocalities(cla *endpointv3.ClusterLoadAssignment) {
	for _, lle := range cla.GetEndpoints() {
		if lle.GetLocality() == nil {
			lle.Locality = &corev3.Locality{}
		}
	}
}
