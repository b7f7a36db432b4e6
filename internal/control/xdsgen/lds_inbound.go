package xdsgen

import (
	"slices"
	"sort"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// inboundPort is a port of the node's own workload: the port the application listens
// on, and the protocol of the service port it serves.
type inboundPort struct {
	port     uint32
	protocol mesh.Protocol
	service  *mesh.Service
}

// inboundPorts finds the node's workload: services in its namespace whose selector its
// labels match (as Istio finds a pod's service targets, ready or not, so the inbound
// listener exists before the endpoint is published), and endpoints at one of the node's
// IPs (workload entries, services without selectors). Each application port appears once,
// with the first service (by hostname) serving it.
func (g *gen) inboundPorts() []inboundPort {
	seen := map[uint32]bool{}
	var out []inboundPort
	add := func(port uint32, proto mesh.Protocol, svc *mesh.Service) {
		if port != 0 && !seen[port] {
			seen[port] = true
			out = append(out, inboundPort{port: port, protocol: proto, service: svc})
		}
	}
	for _, svc := range g.snap.ServiceList {
		for _, p := range svc.Ports {
			if svc.Namespace == g.node.Namespace && len(svc.Selector) > 0 && mesh.LabelsMatch(svc.Selector, g.node.Labels) {
				add(targetOf(p), p.Protocol, svc)
			}
			if len(g.node.IPs) == 0 {
				continue
			}
			for _, ep := range g.snap.EndpointsOf(svc.Hostname, p.Number) {
				if slices.Contains(g.node.IPs, ep.Address) {
					add(ep.Port, p.Protocol, svc)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out
}

func targetOf(p mesh.Port) uint32 {
	if p.TargetPort != 0 {
		return p.TargetPort
	}
	return p.Number
}

// virtualInbound is the listener iptables sends inbound connections to: one filter
// chain per application port (HTTP through a connection manager, the rest through
// tcp_proxy, sniffed ports both), a chain that refuses connections to 15006 itself, and
// passthrough chains for ports no service declares.
func (g *gen) virtualInbound() *listenerv3.Listener {
	l := &listenerv3.Listener{
		Name:             virtualInboundName,
		Address:          socketAddress(wildcardAddress, virtualInboundPort),
		TrafficDirection: corev3.TrafficDirection_INBOUND,
		ListenerFilters:  []*listenerv3.ListenerFilter{originalDst(), tlsInspectorFilter(), httpInspectorFilter()},
		FilterChains: []*listenerv3.FilterChain{{
			Name:             "virtualInbound-blackhole",
			FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: u32(virtualInboundPort)},
			Filters:          []*listenerv3.Filter{tcpProxy(blackHoleCluster, blackHoleCluster)},
		}},
	}
	for _, in := range g.inboundPorts() {
		l.FilterChains = append(l.FilterChains, g.inboundChains(in)...)
	}
	rc := &routev3.RouteConfiguration{Name: inboundPassthroughCluster, VirtualHosts: []*routev3.VirtualHost{{
		Name: inboundPassthroughCluster, Domains: []string{"*"},
		Routes: []*routev3.Route{forwardRoute("default", inboundPassthroughCluster)},
	}}}
	l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
		Name:             "virtualInbound-catchall-http",
		FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: "raw_buffer", ApplicationProtocols: httpProtocols},
		Filters:          []*listenerv3.Filter{httpManager{statPrefix: inboundPassthroughCluster, rc: rc, inline: true}.filter()},
	})
	l.DefaultFilterChain = &listenerv3.FilterChain{
		Name:    "virtualInbound-catchall-tcp",
		Filters: []*listenerv3.Filter{tcpProxy(inboundPassthroughCluster, inboundPassthroughCluster)},
	}
	return l
}

// inboundChains serves one application port. Inbound routes are always inline, as in
// Istio: one virtual host, every request to the local application.
func (g *gen) inboundChains(in inboundPort) []*listenerv3.FilterChain {
	cluster := inboundCluster(in.port)
	name := listenerName(wildcardAddress, in.port)
	rc := &routev3.RouteConfiguration{Name: cluster, VirtualHosts: []*routev3.VirtualHost{{
		Name: "inbound|http|" + portString(in.port), Domains: []string{"*"},
		Routes: []*routev3.Route{forwardRoute("default", cluster)},
	}}}
	httpChain := func(m *listenerv3.FilterChainMatch) *listenerv3.FilterChain {
		return &listenerv3.FilterChain{Name: name, FilterChainMatch: m,
			Filters: []*listenerv3.Filter{httpManager{statPrefix: "inbound_" + name, rc: rc, inline: true}.filter()}}
	}
	tcpChain := func(m *listenerv3.FilterChainMatch, name string) *listenerv3.FilterChain {
		return &listenerv3.FilterChain{Name: name, FilterChainMatch: m, Filters: []*listenerv3.Filter{tcpProxy(cluster, cluster)}}
	}
	switch {
	case in.protocol.IsHTTP():
		return []*listenerv3.FilterChain{httpChain(&listenerv3.FilterChainMatch{DestinationPort: u32(in.port)})}
	case sniffed(in.protocol):
		// Chains match criterion by criterion without backtracking, as in Envoy: plaintext
		// that is not HTTP needs its own raw_buffer chain, TLS (passed through) another.
		return []*listenerv3.FilterChain{
			httpChain(&listenerv3.FilterChainMatch{DestinationPort: u32(in.port), TransportProtocol: "raw_buffer", ApplicationProtocols: httpProtocols}),
			tcpChain(&listenerv3.FilterChainMatch{DestinationPort: u32(in.port), TransportProtocol: "raw_buffer"}, name+"-tcp"),
			tcpChain(&listenerv3.FilterChainMatch{DestinationPort: u32(in.port)}, name+"-passthrough"),
		}
	}
	return []*listenerv3.FilterChain{tcpChain(&listenerv3.FilterChainMatch{DestinationPort: u32(in.port)}, name)}
}

// forwardRoute sends every request to cluster, with no timeout (as Istio's defaults).
func forwardRoute(name, cluster string) *routev3.Route {
	return &routev3.Route{
		Name:  name,
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
			Timeout:          dur(0),
		}},
	}
}
