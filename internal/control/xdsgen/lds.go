package xdsgen

import (
	"sort"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// outListener collects what one outbound listener (an address and port) serves.
type outListener struct {
	addr    string
	port    uint32
	http    bool            // services declared HTTP: the port's routes
	sniffed bool            // services whose protocol is sniffed: routes for HTTP, TCP otherwise
	tcp     []*mesh.Service // opaque TCP services, the first one wins
	tls     []*mesh.Service // TLS services without a VIP, told apart by SNI
}

// sidecarListeners returns virtualOutbound, virtualInbound and an outbound listener per
// service port, as Istio lays them out: 0.0.0.0_<port> for HTTP (and for TCP or TLS
// services without a VIP), <vip>_<port> for TCP services with one. The per-port
// listeners do not bind; virtualOutbound hands connections to them by original
// destination.
func (g *gen) sidecarListeners() ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	if g.node.NoCapture {
		return g.noCaptureListeners()
	}
	out := []Resource{
		{Name: virtualOutboundName, Message: g.virtualOutbound()},
		{Name: virtualInboundName, Message: g.virtualInbound()},
	}
	routes := map[uint32]*routev3.RouteConfiguration{}
	for _, ol := range g.outboundPlan() {
		if (ol.http || ol.sniffed) && routes[ol.port] == nil {
			rc, err := g.sidecarRouteConfig(ol.port)
			if err != nil {
				return nil, err
			}
			routes[ol.port] = rc
		}
		l, err := g.outboundListener(ol, routes[ol.port])
		if err != nil {
			return nil, err
		}
		if l != nil {
			out = append(out, Resource{Name: l.GetName(), Message: l})
		}
	}
	return out, nil
}

// outboundPlan decides which listener serves each visible service port.
func (g *gen) outboundPlan() []*outListener {
	byKey := map[string]*outListener{}
	var order []*outListener
	get := func(addr string, port uint32) *outListener {
		key := listenerName(addr, port)
		if l, ok := byKey[key]; ok {
			return l
		}
		l := &outListener{addr: addr, port: port}
		byKey[key] = l
		order = append(order, l)
		return l
	}
	for _, svc := range g.sc.services {
		vip := vipOf(svc)
		for _, p := range svc.Ports {
			switch {
			case p.Protocol == mesh.UDP:
			case p.Protocol.IsHTTP():
				get(wildcardAddress, p.Number).http = true
			case sniffed(p.Protocol) && vip != "":
				l := get(vip, p.Number)
				l.sniffed, l.tcp = true, append(l.tcp, svc)
			case sniffed(p.Protocol):
				get(wildcardAddress, p.Number).sniffed = true
			case vip != "":
				l := get(vip, p.Number)
				l.tcp = append(l.tcp, svc)
			case p.Protocol == mesh.TLS || p.Protocol == mesh.HTTPS:
				l := get(wildcardAddress, p.Number)
				l.tls = append(l.tls, svc)
			default:
				l := get(wildcardAddress, p.Number)
				l.tcp = append(l.tcp, svc)
			}
		}
	}
	sort.Slice(order, func(i, j int) bool {
		return listenerName(order[i].addr, order[i].port) < listenerName(order[j].addr, order[j].port)
	})
	return order
}

// outboundListener builds one planned listener.
func (g *gen) outboundListener(ol *outListener, rc *routev3.RouteConfiguration) (*listenerv3.Listener, error) {
	name := listenerName(ol.addr, ol.port)
	l := &listenerv3.Listener{
		Name:             name,
		Address:          socketAddress(ol.addr, ol.port),
		BindToPort:       wrapperspb.Bool(false),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
	}
	var httpChain *listenerv3.FilterChain
	if rc != nil {
		hm := httpManager{statPrefix: "outbound_" + name, rc: rc, inline: g.opts.InlineRoutes, fault: usesFault(rc)}
		httpChain = &listenerv3.FilterChain{Name: name, Filters: []*listenerv3.Filter{hm.filter()}}
	}
	if httpChain != nil && !ol.sniffed && len(ol.tcp) == 0 && len(ol.tls) == 0 {
		l.FilterChains = []*listenerv3.FilterChain{httpChain}
		return l, nil
	}
	if httpChain != nil {
		httpChain.FilterChainMatch = &listenerv3.FilterChainMatch{TransportProtocol: "raw_buffer", ApplicationProtocols: httpProtocols}
		l.FilterChains = append(l.FilterChains, httpChain)
		l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspectorFilter(), httpInspectorFilter()}
	}
	tlsChains, err := g.tlsChains(ol)
	if err != nil {
		return nil, err
	}
	if len(tlsChains) > 0 {
		l.FilterChains = append(l.FilterChains, tlsChains...)
		if l.ListenerFilters == nil {
			l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspectorFilter()}
		}
	}
	def, err := g.tcpDefaultChain(ol)
	if err != nil {
		return nil, err
	}
	if len(l.FilterChains) == 0 {
		def.Name = name
		l.FilterChains = []*listenerv3.FilterChain{def}
		return l, nil
	}
	l.DefaultFilterChain = def
	return l, nil
}

// tcpDefaultChain takes what no other chain of the listener takes: the first TCP
// service (through its VirtualService's tcp routes), else the passthrough or black
// hole cluster as outboundTrafficPolicy says.
func (g *gen) tcpDefaultChain(ol *outListener) (*listenerv3.FilterChain, error) {
	if len(ol.tcp) > 0 {
		svc := ol.tcp[0]
		targets, err := g.tcpTargets(svc, ol.port)
		if err != nil {
			return nil, err
		}
		return &listenerv3.FilterChain{Name: "tcp", Filters: []*listenerv3.Filter{
			weightedTCPProxy(outboundCluster(ol.port, "", svc.Hostname), targets)}}, nil
	}
	cluster := passthroughCluster
	if !g.sc.allowAny {
		cluster = blackHoleCluster
	}
	return &listenerv3.FilterChain{Name: "PassthroughFilterChain", Filters: []*listenerv3.Filter{tcpProxy(cluster, cluster)}}, nil
}

// virtualOutbound is the listener iptables sends outbound connections to. It hands
// each connection to the listener for its original destination; what no listener
// takes goes to the passthrough cluster (ALLOW_ANY) or the black hole (REGISTRY_ONLY).
// Connections to 15001 itself would loop and are dropped.
func (g *gen) virtualOutbound() *listenerv3.Listener {
	def := passthroughCluster
	if !g.sc.allowAny {
		def = blackHoleCluster
	}
	return &listenerv3.Listener{
		Name:             virtualOutboundName,
		Address:          socketAddress(wildcardAddress, virtualOutboundPort),
		UseOriginalDst:   wrapperspb.Bool(true),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		ListenerFilters:  []*listenerv3.ListenerFilter{originalDst()},
		FilterChains: []*listenerv3.FilterChain{{
			Name:             "virtualOutbound-blackhole",
			FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: u32(virtualOutboundPort)},
			Filters:          []*listenerv3.Filter{tcpProxy(blackHoleCluster, blackHoleCluster)},
		}},
		DefaultFilterChain: &listenerv3.FilterChain{
			Name:    "PassthroughFilterChain",
			Filters: []*listenerv3.Filter{tcpProxy(def, def)},
		},
	}
}
