package xdsgen

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
)

// gatewayRoutes returns the gateway's route configurations: http.<port> per plaintext
// HTTP port and https.<port>.<portName>.<gateway>.<namespace> per terminated server.
func (g *gen) gatewayRoutes() ([]Resource, error) {
	byPort, ports, err := g.gatewayServers()
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, port := range ports {
		servers := byPort[port]
		kind, err := portKind(servers)
		if err != nil {
			return nil, err
		}
		if kind == plainHTTP {
			rc, err := g.gatewayRouteConfig(httpRouteName(port), port, servers)
			if err != nil {
				return nil, err
			}
			out = append(out, Resource{Name: rc.GetName(), Message: rc})
			continue
		}
		for _, s := range servers {
			if k, _ := s.kind(); k != terminated {
				continue
			}
			rc, err := g.gatewayRouteConfig(s.httpsRouteName(), port, []server{s})
			if err != nil {
				return nil, err
			}
			out = append(out, Resource{Name: rc.GetName(), Message: rc})
		}
	}
	return out, nil
}

// gatewayRouteConfig builds the routes of gateway servers: a virtual host per host
// where a bound VirtualService's hosts meet a server's hosts (the more specific of the
// two), with the routes of every such VirtualService, oldest first. Ports are ignored
// in host matching, as clients reach gateways on any port. With no routes at all, a
// catch-all answers 404.
func (g *gen) gatewayRouteConfig(name string, port uint32, servers []server) (*routev3.RouteConfiguration, error) {
	hs := &gatewayHosts{rc: &routev3.RouteConfiguration{Name: name, ValidateClusters: wrapperspb.Bool(false), IgnorePortInHostMatching: true},
		port: port, byHost: map[string]*routev3.VirtualHost{}, added: map[string]bool{}}
	for _, s := range servers {
		for _, vs := range g.vsFor(s.name).all {
			if err := g.check(vs); err != nil {
				return nil, err
			}
			if err := hs.add(g, s, vs); err != nil {
				return nil, err
			}
		}
	}
	if len(hs.rc.VirtualHosts) == 0 {
		hs.rc.VirtualHosts = []*routev3.VirtualHost{{Name: "blackhole:" + portString(port), Domains: []string{"*"}, Routes: []*routev3.Route{{
			Name:   "default",
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 404}},
		}}}}
	}
	return hs.rc, nil
}

// gatewayHosts collects a gateway route configuration's virtual hosts.
type gatewayHosts struct {
	rc     *routev3.RouteConfiguration
	port   uint32
	byHost map[string]*routev3.VirtualHost
	added  map[string]bool // host + VirtualService: a VirtualService adds its routes once per host
}

// add appends the routes of vs, as server s binds it, to the virtual hosts of the
// hosts where they meet.
func (hs *gatewayHosts) add(g *gen, s server, vs config.Config) error {
	var routes []*routev3.Route
	translated := false
	for _, host := range g.boundHosts(vs.Spec.(*networking.VirtualService).GetHosts(), vs.Namespace, s) {
		key := host + "|" + vs.Namespace + "/" + vs.Name
		if hs.added[key] {
			continue
		}
		hs.added[key] = true
		if !translated {
			var err error
			if routes, err = g.newRouteCtx(vs, hs.port, s.name).httpRoutes(); err != nil {
				return err
			}
			translated = true
		}
		if len(routes) == 0 {
			continue
		}
		vh := hs.byHost[host]
		if vh == nil {
			vh = &routev3.VirtualHost{Name: hostPort(host, hs.port), Domains: []string{host}}
			hs.byHost[host] = vh
			hs.rc.VirtualHosts = append(hs.rc.VirtualHosts, vh)
		}
		if s.srv.GetTls().GetHttpsRedirect() {
			vh.RequireTls = routev3.VirtualHost_ALL
		}
		vh.Routes = append(vh.Routes, routes...)
	}
	return nil
}

// boundHosts returns, for a VirtualService's hosts, where each meets the server's hosts.
func (g *gen) boundHosts(vsHosts []string, vsNS string, s server) []string {
	var out []string
	for _, h := range vsHosts {
		vsHost := g.resolveHost(h, vsNS)
		for _, sh := range s.hostsFor(vsNS) {
			if host, ok := hostsIntersect(sh, vsHost); ok && !slices.Contains(out, host) {
				out = append(out, host)
			}
		}
	}
	return out
}
