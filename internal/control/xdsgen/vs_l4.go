package xdsgen

import (
	"fmt"
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// tcpTargets returns where a TCP service port's connections go: the destinations of
// the first tcp route of its VirtualService that applies, else its default cluster.
func (g *gen) tcpTargets(svc *mesh.Service, port uint32) ([]weighted, error) {
	if vs := g.meshVirtualService(svc); vs != nil {
		if err := g.check(*vs); err != nil {
			return nil, err
		}
		rc := g.newRouteCtx(*vs, port, meshGateway)
		targets, ok, err := rc.tcpRoute()
		if err != nil || ok {
			return targets, err
		}
	}
	return []weighted{{name: outboundCluster(port, "", svc.Hostname)}}, nil
}

// tcpRoute returns the destinations of the first tcp route that applies.
func (rc *routeCtx) tcpRoute() ([]weighted, bool, error) {
	for i, tr := range rc.spec.GetTcp() {
		applies := len(tr.GetMatch()) == 0
		for _, m := range tr.GetMatch() {
			applies = applies || rc.l4Applies(m.GetPort(), m.GetGateways(), m.GetSourceLabels(), m.GetSourceNamespace())
		}
		if !applies {
			continue
		}
		targets, err := rc.l4Destinations(tr.GetRoute(), fmt.Sprintf("spec.tcp[%d]", i))
		return targets, true, rc.fail(err)
	}
	return nil, false, nil
}

// l4Destinations resolves the destinations of a tcp or tls route.
func (rc *routeCtx) l4Destinations(rds []*networking.RouteDestination, path string) ([]weighted, error) {
	if len(rds) == 0 {
		return nil, &policyErr{path + ".route", "at least one destination is required"}
	}
	var out []weighted
	for i, rd := range rds {
		p := fmt.Sprintf("%s.route[%d]", path, i)
		if rd.GetWeight() < 0 {
			return nil, &policyErr{p + ".weight", "must not be negative"}
		}
		d, err := rc.destination(rd.GetDestination(), p+".destination")
		if err != nil {
			return nil, err
		}
		if len(rds) == 1 || rd.GetWeight() > 0 {
			out = append(out, weighted{name: d.cluster, weight: uint32(rd.GetWeight())})
		}
	}
	if len(out) == 0 {
		return nil, &policyErr{path + ".route", "several destinations need weights"}
	}
	return out, nil
}

// tlsChains builds the SNI-matched chains of an outbound listener: for each TLS service
// the tls routes of its VirtualService, or a chain for its own hostname. A server name
// already taken by an earlier chain is left out.
func (g *gen) tlsChains(ol *outListener) ([]*listenerv3.FilterChain, error) {
	seen := map[string]bool{}
	var out []*listenerv3.FilterChain
	candidates := append(append([]*mesh.Service(nil), ol.tls...), ol.tcp...)
	for _, svc := range candidates {
		var chains []*listenerv3.FilterChain
		if vs := g.meshVirtualService(svc); vs != nil {
			if err := g.check(*vs); err != nil {
				return nil, err
			}
			var err error
			if chains, err = g.newRouteCtx(*vs, ol.port, meshGateway).sniChains(seen, nil); err != nil {
				return nil, err
			}
		}
		if len(chains) == 0 && isTLSCandidate(ol, svc) && !seen[svc.Hostname] {
			seen[svc.Hostname] = true
			cluster := outboundCluster(ol.port, "", svc.Hostname)
			chains = append(chains, &listenerv3.FilterChain{
				Name:             svc.Hostname,
				FilterChainMatch: &listenerv3.FilterChainMatch{ServerNames: []string{svc.Hostname}},
				Filters:          []*listenerv3.Filter{tcpProxy(cluster, cluster)},
			})
		}
		out = append(out, chains...)
	}
	return out, nil
}

func isTLSCandidate(ol *outListener, svc *mesh.Service) bool {
	for _, s := range ol.tls {
		if s == svc {
			return true
		}
	}
	return false
}

// sniChains translates spec.tls: one chain per applicable match, matching its SNI hosts
// (those allow admits, when it is set).
func (rc *routeCtx) sniChains(seen map[string]bool, allow func(sni string) bool) ([]*listenerv3.FilterChain, error) {
	var out []*listenerv3.FilterChain
	for i, tr := range rc.spec.GetTls() {
		path := fmt.Sprintf("spec.tls[%d]", i)
		for j, m := range tr.GetMatch() {
			if !rc.l4Applies(m.GetPort(), m.GetGateways(), m.GetSourceLabels(), m.GetSourceNamespace()) {
				continue
			}
			if len(m.GetSniHosts()) == 0 {
				return nil, fieldErr(rc.vs, fmt.Sprintf("%s.match[%d].sniHosts", path, j), "required")
			}
			var names []string
			for _, h := range m.GetSniHosts() {
				h = strings.ToLower(h)
				if !seen[h] && (allow == nil || allow(h)) {
					seen[h] = true
					names = append(names, h)
				}
			}
			if len(names) == 0 {
				continue
			}
			targets, err := rc.l4Destinations(tr.GetRoute(), path)
			if err != nil {
				return nil, rc.fail(err)
			}
			out = append(out, &listenerv3.FilterChain{
				Name:             fmt.Sprintf("%s/%s.tls[%d].match[%d]", rc.vs.Namespace, rc.vs.Name, i, j),
				FilterChainMatch: &listenerv3.FilterChainMatch{ServerNames: names},
				Filters:          []*listenerv3.Filter{weightedTCPProxy(targets[0].name, targets)},
			})
		}
	}
	return out, nil
}
