package xdsgen

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A sidecar without capture (INTERCEPTION_MODE NONE) has no iptables to bring it
// traffic, so it gets no virtual listeners. Its application sends requests to an
// explicit HTTP proxy on the node's address, port 15001, whose routes hold every HTTP
// service port the node sees (told apart by the port in the Host header); the mesh
// reaches the application through a listener per application port on the node's
// address. Plain TCP services are not reachable through the proxy.

// httpProxyPort is the explicit HTTP proxy's port on the node's address.
const httpProxyPort = 15001

// httpProxyRoutes names the explicit HTTP proxy's route configuration.
const httpProxyRoutes = "http_proxy"

// noCaptureListeners returns the HTTP proxy listener and the inbound listeners.
func (g *gen) noCaptureListeners() ([]Resource, error) {
	addr := g.node.IPs[0]
	rc, err := g.httpProxyRouteConfig()
	if err != nil {
		return nil, err
	}
	name := listenerName(addr, httpProxyPort)
	hm := httpManager{statPrefix: "outbound_" + name, rc: rc, inline: g.opts.InlineRoutes, fault: usesFault(rc)}
	out := []Resource{{Name: name, Message: &listenerv3.Listener{
		Name:             name,
		Address:          socketAddress(addr, httpProxyPort),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		FilterChains:     []*listenerv3.FilterChain{{Name: name, Filters: []*listenerv3.Filter{hm.filter()}}},
	}}}
	for _, in := range g.inboundPorts() {
		name := listenerName(addr, in.port)
		l := &listenerv3.Listener{
			Name:             name,
			Address:          socketAddress(addr, in.port),
			BindToPort:       wrapperspb.Bool(true),
			TrafficDirection: corev3.TrafficDirection_INBOUND,
			FilterChains:     g.inboundChains(in),
		}
		if sniffed(in.protocol) {
			l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspectorFilter(), httpInspectorFilter()}
		}
		out = append(out, Resource{Name: name, Message: l})
	}
	return out, nil
}

// httpProxyRouteConfig holds the virtual hosts of every HTTP port in one table. A
// proxied request names its port in the Host header unless it is 80, so the domains
// are the service's names with the port, and the bare names for port 80 only.
func (g *gen) httpProxyRouteConfig() (*routev3.RouteConfiguration, error) {
	rc := &routev3.RouteConfiguration{Name: httpProxyRoutes, ValidateClusters: wrapperspb.Bool(false)}
	seen := map[string]bool{}
	for _, port := range g.httpPorts() {
		suffix := ":" + portString(port)
		for _, svc := range g.sc.services {
			p, ok := svc.Port(port)
			if !ok || !carriesHTTP(p.Protocol) {
				continue
			}
			var domains []string
			for _, d := range g.serviceDomains(svc, port) {
				if port == 80 || strings.HasSuffix(d, suffix) {
					domains = append(domains, d)
				}
			}
			vh, err := g.serviceVirtualHost(svc, port, domains, seen)
			if err != nil {
				return nil, err
			}
			if vh != nil {
				rc.VirtualHosts = append(rc.VirtualHosts, vh)
			}
		}
	}
	// No original destination to pass through to: hosts outside the mesh are refused.
	rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{Name: "block_all", Domains: []string{"*"}, Routes: []*routev3.Route{{
		Name:   "block_all",
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 502}},
	}}})
	return rc, nil
}
