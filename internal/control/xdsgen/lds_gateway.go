package xdsgen

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// gatewayListeners returns one listener per port of the Gateway servers that select the
// node: plaintext HTTP through a connection manager (routes http.<port>), TLS ports
// with a chain per server by SNI (terminated then HTTP, or passed through by the tls
// routes of bound VirtualServices), TCP ports by their tcp routes.
func (g *gen) gatewayListeners() ([]Resource, error) {
	byPort, ports, err := g.gatewayServers()
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, port := range ports {
		l, err := g.gatewayListener(port, byPort[port])
		if err != nil {
			return nil, err
		}
		if l != nil {
			out = append(out, Resource{Name: l.GetName(), Message: l})
		}
	}
	return out, nil
}

func (g *gen) gatewayListener(port uint32, servers []server) (*listenerv3.Listener, error) {
	kind, err := portKind(servers)
	if err != nil {
		return nil, err
	}
	listen := g.gatewayTargetPort(port)
	name := listenerName(wildcardAddress, listen)
	l := &listenerv3.Listener{Name: name, Address: socketAddress(wildcardAddress, listen), TrafficDirection: corev3.TrafficDirection_OUTBOUND}
	switch kind {
	case plainHTTP:
		rc, err := g.gatewayRouteConfig(httpRouteName(port), port, servers)
		if err != nil {
			return nil, err
		}
		hm := httpManager{statPrefix: "outbound_" + name, rc: rc, inline: g.opts.InlineRoutes, fault: usesFault(rc), gateway: true}
		l.FilterChains = []*listenerv3.FilterChain{{Name: name, Filters: []*listenerv3.Filter{hm.filter()}}}
	case opaqueTCP:
		chain, err := g.gatewayTCPChain(port, servers)
		if err != nil || chain == nil {
			return nil, err
		}
		l.FilterChains = []*listenerv3.FilterChain{chain}
	default:
		if l.FilterChains, err = g.gatewayTLSChains(port, servers); err != nil {
			return nil, err
		}
		l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspectorFilter()}
	}
	if len(l.FilterChains) == 0 {
		return nil, nil
	}
	return l, nil
}

// gatewayTLSChains builds the chains of a TLS port, refusing two servers that claim
// the same server names.
func (g *gen) gatewayTLSChains(port uint32, servers []server) ([]*listenerv3.FilterChain, error) {
	var out []*listenerv3.FilterChain
	claimed := map[string]server{}
	seen := map[string]bool{}
	for _, s := range servers {
		key := strings.Join(s.sniNames(), ",")
		if prev, ok := claimed[key]; ok {
			return nil, fieldErr(s.gw, s.path()+".hosts", "port %d: these hosts are already served by %s %s", port, prev.name, prev.path())
		}
		claimed[key] = s
		if k, _ := s.kind(); k == terminated {
			chain, err := g.terminatedChain(port, s)
			if err != nil {
				return nil, err
			}
			out = append(out, chain)
			continue
		}
		chains, err := g.passthroughChains(port, s, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, chains...)
	}
	return out, nil
}

// terminatedChain ends TLS with the server's certificate files and serves HTTP with
// the server's own routes.
func (g *gen) terminatedChain(port uint32, s server) (*listenerv3.FilterChain, error) {
	ctx, err := downstreamTLS(s)
	if err != nil {
		return nil, err
	}
	rc, err := g.gatewayRouteConfig(s.httpsRouteName(), port, []server{s})
	if err != nil {
		return nil, err
	}
	hm := httpManager{statPrefix: "outbound_" + listenerName(wildcardAddress, port), rc: rc, inline: g.opts.InlineRoutes, fault: usesFault(rc), gateway: true}
	chain := &listenerv3.FilterChain{
		Name:            s.httpsRouteName(),
		Filters:         []*listenerv3.Filter{hm.filter()},
		TransportSocket: &corev3.TransportSocket{Name: tlsSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}},
	}
	if names := s.sniNames(); len(names) > 0 {
		chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: names}
	}
	return chain, nil
}

// tlsVersions maps Istio's TLS versions to Envoy's.
var tlsVersions = map[networking.ServerTLSSettings_TLSProtocol]tlsv3.TlsParameters_TlsProtocol{
	networking.ServerTLSSettings_TLS_AUTO: tlsv3.TlsParameters_TLS_AUTO,
	networking.ServerTLSSettings_TLSV1_0:  tlsv3.TlsParameters_TLSv1_0,
	networking.ServerTLSSettings_TLSV1_1:  tlsv3.TlsParameters_TLSv1_1,
	networking.ServerTLSSettings_TLSV1_2:  tlsv3.TlsParameters_TLSv1_2,
	networking.ServerTLSSettings_TLSV1_3:  tlsv3.TlsParameters_TLSv1_3,
}

// downstreamTLS is a terminated server's TLS: its certificate and key files, and for
// MUTUAL (required) or OPTIONAL_MUTUAL client certificates checked against its CA file.
func downstreamTLS(s server) (*tlsv3.DownstreamTlsContext, error) {
	t := s.srv.GetTls()
	if t.GetServerCertificate() == "" || t.GetPrivateKey() == "" {
		return nil, fieldErr(s.gw, s.path()+".tls", "serverCertificate and privateKey file paths are required "+
			"(credentialName needs SDS, which weft control does not serve yet)")
	}
	common := &tlsv3.CommonTlsContext{
		TlsCertificates: []*tlsv3.TlsCertificate{{CertificateChain: fileSource(t.GetServerCertificate()), PrivateKey: fileSource(t.GetPrivateKey())}},
		AlpnProtocols:   []string{"h2", "http/1.1"},
	}
	if t.GetMinProtocolVersion() != 0 || t.GetMaxProtocolVersion() != 0 || len(t.GetCipherSuites()) > 0 {
		common.TlsParams = &tlsv3.TlsParameters{
			TlsMinimumProtocolVersion: tlsVersions[t.GetMinProtocolVersion()],
			TlsMaximumProtocolVersion: tlsVersions[t.GetMaxProtocolVersion()],
			CipherSuites:              t.GetCipherSuites(),
		}
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: common}
	if t.GetMode() == networking.ServerTLSSettings_SIMPLE {
		return ctx, nil
	}
	if t.GetCaCertificates() == "" {
		return nil, fieldErr(s.gw, s.path()+".tls.caCertificates", "required for %s", t.GetMode())
	}
	common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
		TrustedCa:                 fileSource(t.GetCaCertificates()),
		MatchTypedSubjectAltNames: sanMatchers(t.GetSubjectAltNames()),
		VerifyCertificateSpki:     t.GetVerifyCertificateSpki(),
		VerifyCertificateHash:     t.GetVerifyCertificateHash(),
	}}
	ctx.RequireClientCertificate = wrapperspb.Bool(t.GetMode() == networking.ServerTLSSettings_MUTUAL)
	return ctx, nil
}

// passthroughChains routes a PASSTHROUGH server's connections by SNI, through the tls
// routes of the VirtualServices bound to its gateway, within the server's hosts.
func (g *gen) passthroughChains(port uint32, s server, seen map[string]bool) ([]*listenerv3.FilterChain, error) {
	var out []*listenerv3.FilterChain
	for _, vs := range g.vsFor(s.name).all {
		if err := g.check(vs); err != nil {
			return nil, err
		}
		hosts := s.hostsFor(vs.Namespace)
		allow := func(sni string) bool {
			for _, h := range hosts {
				if hostMatches(h, sni) {
					return true
				}
			}
			return false
		}
		chains, err := g.newRouteCtx(vs, port, s.name).sniChains(seen, allow)
		if err != nil {
			return nil, err
		}
		out = append(out, chains...)
	}
	return out, nil
}

// gatewayTCPChain forwards a TCP port by the first applicable tcp route of a
// VirtualService bound to one of its servers whose hosts meet the server's; nil when
// none routes it.
func (g *gen) gatewayTCPChain(port uint32, servers []server) (*listenerv3.FilterChain, error) {
	for _, s := range servers {
		for _, vs := range g.vsFor(s.name).all {
			if err := g.check(vs); err != nil {
				return nil, err
			}
			if !g.bindsHosts(vs, s) {
				continue
			}
			targets, ok, err := g.newRouteCtx(vs, port, s.name).tcpRoute()
			if err != nil {
				return nil, err
			}
			if ok {
				return &listenerv3.FilterChain{Name: listenerName(wildcardAddress, port),
					Filters: []*listenerv3.Filter{weightedTCPProxy(targets[0].name, targets)}}, nil
			}
		}
	}
	return nil, nil
}

// bindsHosts reports whether one of vs's hosts meets one of the server's hosts.
func (g *gen) bindsHosts(vs config.Config, s server) bool {
	for _, h := range vs.Spec.(*networking.VirtualService).GetHosts() {
		for _, sh := range s.hostsFor(vs.Namespace) {
			if _, ok := hostsIntersect(sh, g.resolveHost(h, vs.Namespace)); ok {
				return true
			}
		}
	}
	return false
}

// gatewayTargetPort maps a Gateway server's port, which Istio reads as a port of the
// gateway's Service, to the port the gateway workload listens on: the targetPort of a
// service selecting the gateway node whose port matches (80 -> 8080 for Istio's
// ingress gateway). Without such a service the port is used as is.
func (g *gen) gatewayTargetPort(port uint32) uint32 {
	for _, svc := range g.snap.ServiceList {
		if len(svc.Selector) == 0 || !mesh.LabelsMatch(svc.Selector, g.node.Labels) {
			continue
		}
		if p, ok := svc.Port(port); ok && p.TargetPort != 0 {
			return p.TargetPort
		}
	}
	return port
}
