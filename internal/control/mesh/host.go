package mesh

import (
	"net/netip"
	"strings"
)

// Hostnames in Istio config are exact ("reviews.default.svc.cluster.local"), wildcard
// ("*.example.com", "*"), or short ("reviews", resolved in the config's namespace). A
// wildcard "*.example.com" matches "a.example.com" and "a.b.example.com", not
// "example.com".

// HostMatches reports whether two hosts can name the same thing: equal, or one is a
// wildcard whose suffix the other ends with (Istio's host.Name.Matches). It is
// symmetric: HostMatches("*.example.com", "a.example.com") and the reverse are true.
func HostMatches(a, b string) bool {
	aw, bw := isWildcard(a), isWildcard(b)
	switch {
	case aw && bw:
		if len(a) < len(b) {
			return strings.HasSuffix(b[1:], a[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	case aw:
		return strings.HasSuffix(b, a[1:])
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}

// HostSubsetOf reports whether every name h matches is also matched by pattern (Istio's
// host.Name.SubsetOf): "a.example.com" and "*.a.example.com" are subsets of
// "*.example.com", but "*.example.com" is not a subset of "a.example.com".
func HostSubsetOf(h, pattern string) bool {
	if isWildcard(h) {
		return isWildcard(pattern) && strings.HasSuffix(h[1:], pattern[1:])
	}
	if isWildcard(pattern) {
		return strings.HasSuffix(h, pattern[1:])
	}
	return h == pattern
}

func isWildcard(h string) bool { return strings.HasPrefix(h, "*") }

// ResolveHost turns a short host from config in namespace into a fully qualified one,
// as Istio does: "reviews" in "default" becomes "reviews.default.svc.cluster.local".
// Hosts with a dot, "*" and IP addresses are returned unchanged.
func ResolveHost(host, namespace, domainSuffix string) string {
	if host == "" || host == "*" || strings.Contains(host, ".") {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	out := host + "." + namespace
	if domainSuffix != "" {
		out += ".svc." + domainSuffix
	}
	return out
}

// ResolveHost resolves a short host from config in namespace with the snapshot's
// domain suffix; see the package function ResolveHost.
func (s *Snapshot) ResolveHost(host, namespace string) string {
	return ResolveHost(host, namespace, s.Mesh.DomainSuffix)
}

// MostSpecificHost returns the pattern that matches host best, as Istio picks among
// config for a host: the pattern equal to host, else the longest wildcard that host is
// a subset of. ok is false when none matches.
func MostSpecificHost(host string, patterns []string) (best string, ok bool) {
	for _, p := range patterns {
		if p == host {
			return p, true
		}
	}
	for _, p := range patterns {
		if isWildcard(p) && HostSubsetOf(host, p) && (!ok || len(p) > len(best)) {
			best, ok = p, true
		}
	}
	return best, ok
}
