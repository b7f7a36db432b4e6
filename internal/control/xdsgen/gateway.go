package xdsgen

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
)

// server is one Gateway server that selects the node.
type server struct {
	gw   config.Config
	srv  *networking.Server
	i    int    // index in spec.servers
	name string // the gateway as VirtualServices name it: "ns/name"
}

func (s server) path() string { return fmt.Sprintf("spec.servers[%d]", s.i) }

// kind is how a gateway port serves its connections.
type serverKind int

const (
	plainHTTP   serverKind = iota // HTTP, HTTP2, GRPC: a connection manager
	terminated                    // HTTPS (or TLS) with SIMPLE or MUTUAL: TLS ends here, then HTTP
	passthrough                   // TLS or HTTPS with PASSTHROUGH: routed by SNI, bytes untouched
	opaqueTCP                     // TCP and other opaque protocols
)

// kind classifies a server by its port protocol and TLS mode.
func (s server) kind() (serverKind, error) {
	proto := strings.ToUpper(s.srv.GetPort().GetProtocol())
	switch proto {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB":
		return plainHTTP, nil
	case "HTTPS", "TLS":
		switch s.srv.GetTls().GetMode() {
		case networking.ServerTLSSettings_PASSTHROUGH:
			if s.srv.GetTls() == nil && proto == "HTTPS" {
				return 0, fieldErr(s.gw, s.path()+".tls", "required for HTTPS")
			}
			return passthrough, nil
		case networking.ServerTLSSettings_SIMPLE, networking.ServerTLSSettings_MUTUAL, networking.ServerTLSSettings_OPTIONAL_MUTUAL:
			return terminated, nil
		case networking.ServerTLSSettings_ISTIO_MUTUAL:
			return 0, fieldErr(s.gw, s.path()+".tls.mode", "ISTIO_MUTUAL needs workload certificates from a CA over SDS, which weft control does not serve yet")
		default:
			return 0, fieldErr(s.gw, s.path()+".tls.mode", "%s is not supported yet", s.srv.GetTls().GetMode())
		}
	case "TCP", "MONGO", "MYSQL", "REDIS":
		return opaqueTCP, nil
	}
	return 0, fieldErr(s.gw, s.path()+".port.protocol", "%q is not supported on gateways", s.srv.GetPort().GetProtocol())
}

// gatewayServers returns the servers of the Gateways that select the node, by port.
func (g *gen) gatewayServers() (map[uint32][]server, []uint32, error) {
	byPort := map[uint32][]server{}
	var ports []uint32
	for _, gw := range g.gateways() {
		if err := g.check(gw); err != nil {
			return nil, nil, err
		}
		for i, srv := range gw.Spec.(*networking.Gateway).GetServers() {
			s := server{gw: gw, srv: srv, i: i, name: gw.Namespace + "/" + gw.Name}
			n := srv.GetPort().GetNumber()
			if n == 0 {
				return nil, nil, fieldErr(gw, s.path()+".port.number", "required")
			}
			if _, ok := byPort[n]; !ok {
				ports = append(ports, n)
			}
			byPort[n] = append(byPort[n], s)
		}
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	return byPort, ports, nil
}

// portKind checks that a port's servers can share one listener: all plaintext HTTP,
// all TCP, or TLS servers (terminated and passthrough) told apart by SNI.
func portKind(servers []server) (serverKind, error) {
	first, err := servers[0].kind()
	if err != nil {
		return 0, err
	}
	for _, s := range servers[1:] {
		k, err := s.kind()
		if err != nil {
			return 0, err
		}
		tlsBoth := (k == terminated || k == passthrough) && (first == terminated || first == passthrough)
		if k != first && !tlsBoth {
			return 0, fieldErr(s.gw, s.path()+".port", "port %d is already served with another protocol by %s %s",
				s.srv.GetPort().GetNumber(), servers[0].name, servers[0].path())
		}
	}
	return first, nil
}

// hostsFor returns a server's hosts without their namespace part, and whether a
// VirtualService of namespace vsNS may bind to each.
func (s server) hostsFor(vsNS string) []string {
	var out []string
	for _, h := range s.srv.GetHosts() {
		ns, host, ok := strings.Cut(h, "/")
		if !ok {
			ns, host = "*", h
		}
		if ns == "." {
			ns = s.gw.Namespace
		}
		if ns == "*" || ns == vsNS {
			out = append(out, host)
		}
	}
	return out
}

// sniNames returns the server names a TLS server's filter chain matches; nil for "*".
func (s server) sniNames() []string {
	var out []string
	for _, h := range s.srv.GetHosts() {
		if _, host, ok := strings.Cut(h, "/"); ok {
			h = host
		}
		if h == "*" {
			return nil
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// httpsRouteName is Istio's route name for a terminated server:
// https.443.https.bookinfo-gateway.default.
func (s server) httpsRouteName() string {
	return fmt.Sprintf("https.%d.%s.%s.%s", s.srv.GetPort().GetNumber(), s.srv.GetPort().GetName(), s.gw.Name, s.gw.Namespace)
}

// httpRouteName is Istio's route name for a plaintext gateway port: http.8080.
func httpRouteName(port uint32) string { return "http." + portString(port) }
