package xdsgen

import (
	"sort"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// sniffed reports whether a port's protocol is detected per connection (HTTP if the
// first bytes look like HTTP, else TCP).
func sniffed(p mesh.Protocol) bool { return p == mesh.Unsupported || p == "" }

// carriesHTTP reports whether a service port gets a virtual host in the port's routes.
func carriesHTTP(p mesh.Protocol) bool { return p.IsHTTP() || sniffed(p) }

// sidecarRoutes returns one route configuration per outbound HTTP port, named by port
// (a sidecar without capture: the one of its HTTP proxy).
func (g *gen) sidecarRoutes() ([]Resource, error) {
	if g.sc.err != nil {
		return nil, g.sc.err
	}
	if g.node.NoCapture {
		rc, err := g.httpProxyRouteConfig()
		if err != nil {
			return nil, err
		}
		return []Resource{{Name: rc.GetName(), Message: rc}}, nil
	}
	var out []Resource
	for _, port := range g.httpPorts() {
		rc, err := g.sidecarRouteConfig(port)
		if err != nil {
			return nil, err
		}
		out = append(out, Resource{Name: rc.GetName(), Message: rc})
	}
	return out, nil
}

// httpPorts returns the ports of visible services that carry HTTP, sorted.
func (g *gen) httpPorts() []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, svc := range g.sc.services {
		for _, p := range svc.Ports {
			if carriesHTTP(p.Protocol) && !seen[p.Number] {
				seen[p.Number] = true
				out = append(out, p.Number)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sidecarRouteConfig builds the routes of one outbound port: a virtual host per
// service with that port, then the catch-all for unknown hosts (allow_any to the
// passthrough cluster, or block_all under REGISTRY_ONLY).
func (g *gen) sidecarRouteConfig(port uint32) (*routev3.RouteConfiguration, error) {
	t, ok := g.routeTables[port]
	if !ok {
		t.rc, t.err = g.buildSidecarRouteConfig(port)
		g.routeTables[port] = t
	}
	return t.rc, t.err
}

// buildSidecarRouteConfig is sidecarRouteConfig, uncached. The table is shared by the
// listener that names it and the RDS resource: nothing changes it once built.
func (g *gen) buildSidecarRouteConfig(port uint32) (*routev3.RouteConfiguration, error) {
	rc := &routev3.RouteConfiguration{Name: portString(port), ValidateClusters: wrapperspb.Bool(false)}
	seen := map[string]bool{}
	for _, svc := range g.sc.services {
		p, ok := svc.Port(port)
		if !ok || !carriesHTTP(p.Protocol) {
			continue
		}
		vh, err := g.serviceVirtualHost(svc, port, g.serviceDomains(svc, port), seen)
		if err != nil {
			return nil, err
		}
		if vh != nil {
			rc.VirtualHosts = append(rc.VirtualHosts, vh)
		}
	}
	rc.VirtualHosts = append(rc.VirtualHosts, g.catchAllHost())
	return rc, nil
}

// serviceVirtualHost is a service port's virtual host: the routes of the VirtualService
// for the service, or a default route to its cluster. Domains already taken by an
// earlier virtual host are left out; nil when none is left.
func (g *gen) serviceVirtualHost(svc *mesh.Service, port uint32, candidates []string, seen map[string]bool) (*routev3.VirtualHost, error) {
	var domains []string
	for _, d := range candidates {
		if !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	if len(domains) == 0 {
		return nil, nil
	}
	vh := &routev3.VirtualHost{Name: hostPort(svc.Hostname, port), Domains: domains, IncludeRequestAttemptCount: true}
	if vs := g.meshVirtualService(svc); vs != nil {
		if err := g.check(*vs); err != nil {
			return nil, err
		}
		routes, err := g.newRouteCtx(*vs, port, meshGateway).httpRoutes()
		if err != nil {
			return nil, err
		}
		vh.Routes = routes
	}
	if len(vh.Routes) == 0 {
		vh.Routes = []*routev3.Route{g.defaultRoute(svc, port)}
	}
	return vh, nil
}

// defaultRoute sends everything to the service's default cluster with Istio's default
// retries and no timeout.
func (g *gen) defaultRoute(svc *mesh.Service, port uint32) *routev3.Route {
	r := forwardRoute("default", outboundCluster(port, "", svc.Hostname))
	act := r.GetRoute()
	if dr := g.destinationRule(svc); dr != nil {
		spec := dr.Spec.(*networking.DestinationRule)
		if hp := consistentHashPolicy(mergePolicy(spec, nil, port).lb.GetConsistentHash()); hp != nil {
			act.HashPolicy = []*routev3.RouteAction_HashPolicy{hp}
		}
	}
	act.RetryPolicy, _ = retryPolicy(nil, len(act.HashPolicy) > 0, "")
	return r
}

// catchAllHost takes requests for hosts the mesh does not know.
func (g *gen) catchAllHost() *routev3.VirtualHost {
	if g.sc.allowAny {
		return &routev3.VirtualHost{Name: "allow_any", Domains: []string{"*"},
			Routes: []*routev3.Route{forwardRoute("allow_any", passthroughCluster)}}
	}
	return &routev3.VirtualHost{Name: "block_all", Domains: []string{"*"}, Routes: []*routev3.Route{{
		Name:   "block_all",
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 502}},
	}}}
}
