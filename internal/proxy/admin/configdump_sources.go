package admin

import (
	"fmt"
	"sort"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// Clusters and listeners that implement these (optional) methods report when they
// were last updated and the xDS version they came with. Without them, last_updated is
// the proxy's start time, when static resources are built, and version_info is empty.
type (
	lastUpdater interface{ LastUpdated() time.Time }
	versioned   interface{ VersionInfo() string }
)

func (s *Server) updated(resource any) *timestamppb.Timestamp {
	if lu, ok := resource.(lastUpdater); ok {
		if t := lu.LastUpdated(); !t.IsZero() {
			return timestamppb.New(t)
		}
	}
	return timestamppb.New(s.d.Start)
}

func versionOf(resource any) string {
	if v, ok := resource.(versioned); ok {
		return v.VersionInfo()
	}
	return ""
}

func (s *Server) bootstrapDump(func(string) bool) (proto.Message, error) {
	b := &bootstrapv3.Bootstrap{}
	if s.d.Bootstrap != nil {
		b = proto.CloneOf(s.d.Bootstrap)
	}
	return &adminv3.BootstrapConfigDump{Bootstrap: b, LastUpdated: timestamppb.New(s.d.Start)}, nil
}

// clustersDump lists the clusters: from the bootstrap as static_clusters, from xDS
// as dynamic_active_clusters. Weft swaps a cluster in when it is built, so it has no
// warming clusters.
func (s *Server) clustersDump(match func(string) bool) (proto.Message, error) {
	d := &adminv3.ClustersConfigDump{}
	for _, c := range s.clusters() {
		if !match(c.Name()) {
			continue
		}
		a, err := anypb.New(c.Config())
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", c.Name(), err)
		}
		if c.AddedViaAPI() {
			d.DynamicActiveClusters = append(d.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{
				VersionInfo: versionOf(c), Cluster: a, LastUpdated: s.updated(c),
			})
			continue
		}
		d.StaticClusters = append(d.StaticClusters, &adminv3.ClustersConfigDump_StaticCluster{Cluster: a, LastUpdated: s.updated(c)})
	}
	return d, nil
}

// listenersDump lists the listeners: static_listeners, and dynamic_listeners in
// their active state.
func (s *Server) listenersDump(match func(string) bool) (proto.Message, error) {
	d := &adminv3.ListenersConfigDump{}
	for _, l := range s.listeners() {
		if !match(l.Name()) {
			continue
		}
		a, err := anypb.New(l.Config())
		if err != nil {
			return nil, fmt.Errorf("listener %q: %w", l.Name(), err)
		}
		if l.AddedViaAPI() {
			d.DynamicListeners = append(d.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{
				Name: l.Name(),
				ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{
					VersionInfo: versionOf(l), Listener: a, LastUpdated: s.updated(l),
				},
			})
			continue
		}
		d.StaticListeners = append(d.StaticListeners, &adminv3.ListenersConfigDump_StaticListener{Listener: a, LastUpdated: s.updated(l)})
	}
	return d, nil
}

// routesDump lists the route configs given inline to the HTTP connection managers
// of the listeners' filter chains, as Envoy lists its static route configs, and those
// received by RDS as dynamic ones.
func (s *Server) routesDump(match func(string) bool) (proto.Message, error) {
	d := &adminv3.RoutesConfigDump{}
	if err := s.dynamicRoutes(d, match); err != nil {
		return nil, err
	}
	for _, l := range s.listeners() {
		chains := l.Config().GetFilterChains()
		if dc := l.Config().GetDefaultFilterChain(); dc != nil {
			chains = append(chains[:len(chains):len(chains)], dc)
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				name, rc, err := inlineRoutes(f)
				if err != nil {
					return nil, fmt.Errorf("listener %q: %w", l.Name(), err)
				}
				if rc == nil || !match(name) {
					continue
				}
				d.StaticRouteConfigs = append(d.StaticRouteConfigs, &adminv3.RoutesConfigDump_StaticRouteConfig{
					RouteConfig: rc, LastUpdated: s.updated(l),
				})
			}
		}
	}
	return d, nil
}

// inlineRoutes returns the name and the Any-packed inline route_config of an HTTP
// connection manager filter; nil for any other filter.
func inlineRoutes(f *listenerv3.Filter) (string, *anypb.Any, error) {
	tc := f.GetTypedConfig()
	if tc == nil || !tc.MessageIs(&hcmv3.HttpConnectionManager{}) {
		return "", nil, nil
	}
	h := &hcmv3.HttpConnectionManager{}
	if err := tc.UnmarshalTo(h); err != nil {
		return "", nil, fmt.Errorf("filter %q: %w", f.GetName(), err)
	}
	rc := h.GetRouteConfig()
	if rc == nil {
		return "", nil, nil
	}
	a, err := anypb.New(rc)
	if err != nil {
		return "", nil, fmt.Errorf("filter %q: route_config: %w", f.GetName(), err)
	}
	return rc.GetName(), a, nil
}

// scopedRoutesDump is always empty: weft has no scoped RDS. Envoy dumps the tracker
// whenever the HTTP connection manager is linked in, so weft does too.
func scopedRoutesDump(func(string) bool) (proto.Message, error) {
	return &adminv3.ScopedRoutesConfigDump{}, nil
}

// secretsDump lists the bootstrap's static secrets. Secrets from SDS are not listed:
// the secret manager does not report them.
func (s *Server) secretsDump(match func(string) bool) (proto.Message, error) {
	d := &adminv3.SecretsConfigDump{}
	for _, sec := range s.d.Bootstrap.GetStaticResources().GetSecrets() {
		if !match(sec.GetName()) {
			continue
		}
		a, err := anypb.New(sec)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", sec.GetName(), err)
		}
		d.StaticSecrets = append(d.StaticSecrets, &adminv3.SecretsConfigDump_StaticSecret{
			Name: sec.GetName(), Secret: a, LastUpdated: timestamppb.New(s.d.Start),
		})
	}
	return d, nil
}

// endpointsDump lists each cluster's hosts as a ClusterLoadAssignment named after
// its EDS service name, or the cluster: static_endpoint_configs for bootstrap
// clusters, dynamic_endpoint_configs for clusters from xDS.
func (s *Server) endpointsDump(match func(string) bool) (proto.Message, error) {
	d := &adminv3.EndpointsConfigDump{}
	for _, c := range s.clusters() {
		name := edsServiceName(c)
		if name == "" {
			name = c.Name()
		}
		if !match(name) {
			continue
		}
		a, err := anypb.New(loadAssignment(c, name))
		if err != nil {
			return nil, fmt.Errorf("cluster %q: endpoints: %w", c.Name(), err)
		}
		if c.AddedViaAPI() {
			d.DynamicEndpointConfigs = append(d.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{
				VersionInfo: versionOf(c), EndpointConfig: a, LastUpdated: s.updated(c),
			})
			continue
		}
		d.StaticEndpointConfigs = append(d.StaticEndpointConfigs, &adminv3.EndpointsConfigDump_StaticEndpointConfig{
			EndpointConfig: a, LastUpdated: s.updated(c),
		})
	}
	return d, nil
}

// localityKey groups a cluster's hosts into LocalityLbEndpoints.
type localityKey struct {
	priority uint32
	locality upstream.Locality
}

// loadAssignment rebuilds a cluster's current membership as Envoy dumps it: hosts
// grouped by priority and locality, each with its weight, health and an empty
// health_check_config.
func loadAssignment(c *upstream.Cluster, name string) *endpointv3.ClusterLoadAssignment {
	factor := uint32(140)
	if f := c.Config().GetLoadAssignment().GetPolicy().GetOverprovisioningFactor(); f != nil {
		factor = f.GetValue()
	}
	cla := &endpointv3.ClusterLoadAssignment{
		ClusterName: name,
		Policy:      &endpointv3.ClusterLoadAssignment_Policy{OverprovisioningFactor: wrapperspb.UInt32(factor)},
	}
	groups := map[localityKey]*endpointv3.LocalityLbEndpoints{}
	for _, h := range hostsOf(c) {
		k := localityKey{h.Priority(), h.Locality()}
		g := groups[k]
		if g == nil {
			loc := h.Locality()
			g = &endpointv3.LocalityLbEndpoints{
				Locality: &corev3.Locality{Region: loc.Region, Zone: loc.Zone, SubZone: loc.SubZone},
				Priority: h.Priority(),
			}
			groups[k] = g
			cla.Endpoints = append(cla.Endpoints, g)
		}
		g.LbEndpoints = append(g.LbEndpoints, lbEndpoint(h))
	}
	return cla
}

func lbEndpoint(h *upstream.Host) *endpointv3.LbEndpoint {
	health := corev3.HealthStatus_HEALTHY
	switch f := h.Health(); {
	case f.Unhealthy():
		health = corev3.HealthStatus_UNHEALTHY
	case f.Degraded():
		health = corev3.HealthStatus_DEGRADED
	}
	return &endpointv3.LbEndpoint{
		HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address:           socketAddress(h.Address()),
			Hostname:          h.Hostname(),
			HealthCheckConfig: &endpointv3.Endpoint_HealthCheckConfig{},
		}},
		HealthStatus:        health,
		LoadBalancingWeight: wrapperspb.UInt32(h.Weight()),
	}
}

// dynamicRoutes adds the route configurations received by RDS.
func (s *Server) dynamicRoutes(d *adminv3.RoutesConfigDump, match func(string) bool) error {
	if s.d.Routes == nil {
		return nil
	}
	all := s.d.Routes.All()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := all[n].Table()
		if t == nil || !match(n) {
			continue
		}
		rc, err := anypb.New(t.Config())
		if err != nil {
			return err
		}
		d.DynamicRouteConfigs = append(d.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{
			RouteConfig: rc, LastUpdated: timestamppb.New(t.Created()),
		})
	}
	return nil
}
