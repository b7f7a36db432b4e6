package xdsgen

import (
	"math"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// httpOptionsKey is where upstream HTTP protocol options live in a cluster.
const httpOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// dnsRefresh is Istio's default DNS refresh rate for DNS clusters.
const dnsRefresh = 60 * time.Second

// clusters returns the node's clusters: for each visible service port the default
// cluster and one per DestinationRule subset, then the fixed clusters.
func (g *gen) clusters() ([]Resource, error) {
	if g.node.Proxyless {
		return g.grpcClusters()
	}
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	var out []Resource
	for _, svc := range g.sc.services {
		cs, err := g.serviceClusters(svc)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, Resource{Name: c.GetName(), Message: c})
		}
	}
	out = append(out, Resource{Name: blackHoleCluster, Message: g.blackHole()})
	if g.node.Type == mesh.Router {
		return out, nil
	}
	out = append(out,
		Resource{Name: passthroughCluster, Message: g.originalDstCluster(passthroughCluster, true)},
		Resource{Name: inboundPassthroughCluster, Message: g.inboundPassthrough()})
	for _, in := range g.inboundPorts() {
		c := g.inboundClusterFor(in)
		out = append(out, Resource{Name: c.GetName(), Message: c})
	}
	return out, nil
}

// serviceClusters builds a service's clusters, with its DestinationRule applied.
func (g *gen) serviceClusters(svc *mesh.Service) ([]*clusterv3.Cluster, error) {
	dr := g.destinationRule(svc)
	var spec *networking.DestinationRule
	if dr != nil {
		if err := g.check(*dr); err != nil {
			return nil, err
		}
		spec = dr.Spec.(*networking.DestinationRule)
	}
	var out []*clusterv3.Cluster
	for _, port := range svc.Ports {
		c, err := g.serviceCluster(svc, port, dr, spec, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		for i, sub := range spec.GetSubsets() {
			sc, err := g.serviceCluster(svc, port, dr, spec, &subsetRef{sub, i})
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// subsetRef is a DestinationRule subset and its index in spec.subsets.
type subsetRef struct {
	s *networking.Subset
	i int
}

func (s *subsetRef) name() string {
	if s == nil {
		return ""
	}
	return s.s.GetName()
}

// serviceCluster builds the cluster of one service port and subset (nil: the default).
func (g *gen) serviceCluster(svc *mesh.Service, port mesh.Port, dr *config.Config, spec *networking.DestinationRule, sub *subsetRef) (*clusterv3.Cluster, error) {
	name := outboundCluster(port.Number, sub.name(), svc.Hostname)
	c := &clusterv3.Cluster{
		Name:            name,
		ConnectTimeout:  g.connectTimeout(),
		LbPolicy:        clusterv3.Cluster_LEAST_REQUEST,
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{defaultThresholds()}},
	}
	g.discovery(c, svc, port, sub)
	if port.Protocol == mesh.HTTP2 || port.Protocol == mesh.GRPC || port.Protocol == mesh.GRPCWeb {
		setH2(c)
	}
	if spec == nil {
		return c, nil
	}
	tp := mergePolicy(spec, sub, port.Number)
	if err := g.applyPolicy(c, svc, port, tp); err != nil {
		return nil, fieldErr(*dr, err.path, "%s", err.reason)
	}
	return c, nil
}

// discovery sets how the cluster finds its hosts, from the service's resolution.
func (g *gen) discovery(c *clusterv3.Cluster, svc *mesh.Service, port mesh.Port, sub *subsetRef) {
	switch svc.Resolution {
	case mesh.ClientSideLB:
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource(), ServiceName: c.GetName()}
	case mesh.DNSLB, mesh.DNSRoundRobinLB:
		t := clusterv3.Cluster_STRICT_DNS
		if svc.Resolution == mesh.DNSRoundRobinLB {
			t = clusterv3.Cluster_LOGICAL_DNS
		}
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: t}
		c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
		c.DnsRefreshRate = dur(dnsRefresh)
		c.LoadAssignment = g.dnsAssignment(c.GetName(), svc, port, sub, t == clusterv3.Cluster_LOGICAL_DNS)
	case mesh.Passthrough:
		setOriginalDst(c)
	}
}

func setOriginalDst(c *clusterv3.Cluster) {
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
	c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	c.EdsClusterConfig = nil
	c.LoadAssignment = nil
}

// dnsAssignment lists a DNS cluster's names: its endpoints (names or IPs) matching the
// subset, or the hostname itself when the service lists no endpoints at all. A
// LOGICAL_DNS cluster takes one name.
func (g *gen) dnsAssignment(name string, svc *mesh.Service, port mesh.Port, sub *subsetRef, logical bool) *endpointv3.ClusterLoadAssignment {
	eps := g.endpointsFor(svc, port.Number, sub)
	if len(g.snap.EndpointsOf(svc.Hostname, port.Number)) == 0 {
		target := port.TargetPort
		if target == 0 {
			target = port.Number
		}
		eps = []*mesh.Endpoint{{Address: svc.Hostname, Port: target, Healthy: true}}
	}
	if logical && len(eps) > 1 {
		eps = eps[:1]
	}
	return &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: localityEndpoints(eps)}
}

// connectTimeout is the mesh's default connect timeout (Istio: 10 s).
func (g *gen) connectTimeout() *durationpb.Duration {
	ms := g.snap.Mesh.ConnectTimeoutMillis
	if ms <= 0 {
		ms = 10000
	}
	return dur(time.Duration(ms) * time.Millisecond)
}

// defaultThresholds are Istio's circuit breakers: effectively unlimited, so that pod
// churn does not trip them before new endpoints arrive; DestinationRules lower them.
func defaultThresholds() *clusterv3.CircuitBreakers_Thresholds {
	return &clusterv3.CircuitBreakers_Thresholds{
		MaxConnections: u32(math.MaxUint32), MaxPendingRequests: u32(math.MaxUint32),
		MaxRequests: u32(math.MaxUint32), MaxRetries: u32(math.MaxUint32), TrackRemaining: true,
	}
}

// httpOptions returns the cluster's upstream HTTP protocol options, creating them.
func httpOptions(c *clusterv3.Cluster) *httpv3.HttpProtocolOptions {
	opts := &httpv3.HttpProtocolOptions{}
	if a, ok := c.GetTypedExtensionProtocolOptions()[httpOptionsKey]; ok {
		if err := a.UnmarshalTo(opts); err != nil {
			panic("xdsgen: own protocol options do not unmarshal: " + err.Error())
		}
	}
	return opts
}

// setHTTPOptions stores the options; without an upstream protocol chosen, HTTP/1.1.
func setHTTPOptions(c *clusterv3.Cluster, opts *httpv3.HttpProtocolOptions) {
	if opts.GetUpstreamProtocolOptions() == nil {
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
		}}
	}
	if c.TypedExtensionProtocolOptions == nil {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{}
	}
	c.TypedExtensionProtocolOptions[httpOptionsKey] = toAny(opts)
}

// setH2 makes the cluster speak HTTP/2 upstream.
func setH2(c *clusterv3.Cluster) {
	opts := httpOptions(c)
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
		return
	}
	opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
	}}
	setHTTPOptions(c, opts)
}

func (g *gen) blackHole() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 blackHoleCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       g.connectTimeout(),
	}
}

// originalDstCluster sends to each connection's original destination. The outbound
// passthrough speaks whatever HTTP version the client spoke.
func (g *gen) originalDstCluster(name string, downstreamProtocol bool) *clusterv3.Cluster {
	c := &clusterv3.Cluster{
		Name:            name,
		ConnectTimeout:  g.connectTimeout(),
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{defaultThresholds()}},
	}
	setOriginalDst(c)
	if downstreamProtocol {
		setHTTPOptions(c, &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}, Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
			},
		}})
	}
	return c
}

// inboundPassthrough forwards inbound connections to ports no service declares to the
// application at the original destination, from 127.0.0.6, which the capture rules let
// through; from the pod's own address the connection would be captured again.
func (g *gen) inboundPassthrough() *clusterv3.Cluster {
	c := g.originalDstCluster(inboundPassthroughCluster, false)
	c.UpstreamBindConfig = &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{
		Address: "127.0.0.6", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 0},
	}}
	return c
}

// appAddress is where the node's application listens.
func (g *gen) appAddress() string {
	if g.node.AppAddress != "" {
		return g.node.AppAddress
	}
	return "127.0.0.1"
}

// inboundClusterFor sends to the local application (on 127.0.0.1 unless the node
// names another address).
func (g *gen) inboundClusterFor(in inboundPort) *clusterv3.Cluster {
	name := inboundCluster(in.port)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       g.connectTimeout(),
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		CircuitBreakers:      &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{defaultThresholds()}},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{lbEndpoint(g.appAddress(), in.port, 0)},
		}}},
	}
	if in.protocol == mesh.HTTP2 || in.protocol == mesh.GRPC || in.protocol == mesh.GRPCWeb {
		setH2(c)
	}
	return c
}
