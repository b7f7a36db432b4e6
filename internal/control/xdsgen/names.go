package xdsgen

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// Names that operators know from Istio.
const (
	blackHoleCluster          = "BlackHoleCluster"
	passthroughCluster        = "PassthroughCluster"
	inboundPassthroughCluster = "InboundPassthroughCluster"
	virtualOutboundName       = "virtualOutbound"
	virtualInboundName        = "virtualInbound"
	virtualOutboundPort       = 15001
	virtualInboundPort        = 15006
	wildcardAddress           = "0.0.0.0"
	meshGateway               = "mesh"
)

// outboundCluster names the cluster for a service port and subset:
// outbound|9080|v1|reviews.default.svc.cluster.local.
func outboundCluster(port uint32, subset, host string) string {
	return "outbound|" + strconv.FormatUint(uint64(port), 10) + "|" + subset + "|" + host
}

// inboundCluster names the cluster for a port of the node's own workload: inbound|9080||.
func inboundCluster(port uint32) string {
	return "inbound|" + strconv.FormatUint(uint64(port), 10) + "||"
}

// listenerName is Istio's address_port listener name: 0.0.0.0_9080, 10.0.0.5_3306.
func listenerName(addr string, port uint32) string {
	return addr + "_" + strconv.FormatUint(uint64(port), 10)
}

func portString(port uint32) string { return strconv.FormatUint(uint64(port), 10) }

// hostPort joins a host and port: reviews.default.svc.cluster.local:9080.
func hostPort(host string, port uint32) string { return host + ":" + portString(port) }

// suffix is the cluster DNS suffix.
func (g *gen) suffix() string {
	if s := g.snap.Mesh.DomainSuffix; s != "" {
		return s
	}
	return "cluster.local"
}

// resolveHost turns a host written in Istio config of namespace ns into a fully
// qualified name: a short name "reviews" becomes reviews.<ns>.svc.<suffix>; names with
// a dot and wildcards stay as they are.
func (g *gen) resolveHost(host, ns string) string {
	if host == "" || host == "*" || strings.Contains(host, ".") {
		return host
	}
	return host + "." + ns + ".svc." + g.suffix()
}

// hostMatches reports whether pattern (exact, "*.suffix" or "*") matches host, which may
// itself be a wildcard that pattern covers.
func hostMatches(pattern, host string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:]) && host != pattern[2:]
	}
	return strings.EqualFold(pattern, host)
}

// hostsIntersect returns the more specific of a and b when one covers the other.
func hostsIntersect(a, b string) (string, bool) {
	switch {
	case hostMatches(a, b):
		return b, true
	case hostMatches(b, a):
		return a, true
	}
	return "", false
}

// shortNames returns the names a client in the node's namespace may use for a
// Kubernetes-style hostname: reviews, reviews.default, reviews.default.svc (the first
// only in the node's own namespace).
func (g *gen) shortNames(host string) []string {
	svcSuffix := ".svc." + g.suffix()
	base, ok := strings.CutSuffix(host, svcSuffix)
	if !ok || !strings.Contains(base, ".") {
		return nil
	}
	name, ns, _ := strings.Cut(base, ".")
	var out []string
	if ns == g.node.Namespace {
		out = append(out, name)
	}
	return append(out, base, base+".svc")
}

// serviceDomains returns a virtual host's domains for a service port: the hostname, its
// short names and its VIPs, each with and without the port.
func (g *gen) serviceDomains(svc *mesh.Service, port uint32) []string {
	names := append([]string{svc.Hostname}, g.shortNames(svc.Hostname)...)
	for _, a := range svc.Addresses {
		if ip, err := netip.ParseAddr(a); err == nil && !ip.IsUnspecified() {
			names = append(names, a)
		}
	}
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, hostPort(n, port))
	}
	return out
}

// vipOf returns the service's first usable virtual IP, or "".
func vipOf(svc *mesh.Service) string {
	for _, a := range svc.Addresses {
		if ip, err := netip.ParseAddr(a); err == nil && !ip.IsUnspecified() {
			return a
		}
	}
	return ""
}
