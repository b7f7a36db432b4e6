package config

import (
	"fmt"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateVirtualService checks a VirtualService: hosts, gateways, and every route.
func validateVirtualService(fe *fieldErrors, namespace string, vs *networking.VirtualService) {
	appliesToMesh := len(vs.Gateways) == 0
	for i, g := range vs.Gateways {
		if g == "mesh" {
			appliesToMesh = true
		}
		fe.check(index("spec.gateways", i), checkGatewayRef(g))
	}
	validateVSHosts(fe, vs.Hosts, appliesToMesh)
	if len(vs.Http)+len(vs.Tcp)+len(vs.Tls) == 0 {
		fe.add("spec", "at least one of http, tcp or tls routes is required")
	}
	for i, r := range vs.Http {
		validateHTTPRoute(fe, index("spec.http", i), r)
	}
	for i, r := range vs.Tls {
		validateTLSRoute(fe, index("spec.tls", i), r, vs.Hosts)
	}
	for i, r := range vs.Tcp {
		validateTCPRoute(fe, index("spec.tcp", i), r)
	}
	validateExportTo(fe, "spec.exportTo", namespace, vs.ExportTo, false)
}

// validateVSHosts checks a VirtualService's hosts: present, well formed (short names,
// FQDNs, wildcards, IPs), "*" only for gateways, and no two overlapping.
func validateVSHosts(fe *fieldErrors, hosts []string, appliesToMesh bool) {
	if len(hosts) == 0 {
		fe.add("spec.hosts", "at least one host is required (delegate virtual services are not supported)")
		return
	}
	valid := true
	for i, h := range hosts {
		p := index("spec.hosts", i)
		if isIP(h) {
			continue
		}
		if err := checkWildcardDomain(h); err != nil {
			fe.add(p, "%v", err)
			valid = false
		} else if h == "*" && appliesToMesh {
			fe.add(p, `wildcard host "*" is not allowed for virtual services that apply to the mesh`)
			valid = false
		}
	}
	if !valid {
		return
	}
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			if hostsOverlap(hosts[i], hosts[j]) {
				fe.add(index("spec.hosts", j), "host %q overlaps spec.hosts[%d] (%q)", hosts[j], i, hosts[i])
			}
		}
	}
}

// checkGatewayRef checks a gateway reference: "mesh", "name", "namespace/name", or the
// legacy "name.namespace.svc.cluster.local".
func checkGatewayRef(ref string) error {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		if err := checkFQDN(ref); err != nil {
			return fmt.Errorf("invalid gateway reference: %w", err)
		}
		return nil
	}
	if !isDNSLabel(ns) || !isDNSLabel(name) {
		return fmt.Errorf("invalid gateway reference %q: want namespace/name with DNS labels", ref)
	}
	return nil
}

// validateDestination checks a route destination: a host that is not "*", a subset
// name and a port.
func validateDestination(fe *fieldErrors, p string, d *networking.Destination) {
	if d == nil {
		fe.add(p, "is required")
		return
	}
	switch {
	case d.Host == "":
		fe.add(field(p, "host"), "is required")
	case d.Host == "*":
		fe.add(field(p, "host"), `must not be the wildcard "*"`)
	default:
		fe.check(field(p, "host"), checkWildcardDomain(d.Host))
	}
	if d.Subset != "" && !isDNSLabel(d.Subset) {
		fe.add(field(p, "subset"), "%q is not a valid subset name (a DNS label)", d.Subset)
	}
	if d.Port != nil {
		fe.check(field(p, "port.number"), checkPort(d.Port.Number))
	}
}

// checkWeights checks the weights of a route's destinations. As in Istio, weights are
// relative (a destination gets weight/sum of the traffic), so they need not add up to
// 100, but none may be negative and, with several destinations, they may not all be 0.
func checkWeights(fe *fieldErrors, p string, weights []int32) {
	var total int64
	for i, w := range weights {
		if w < 0 {
			fe.add(field(index(p, i), "weight"), "weight %d must not be negative", w)
		}
		total += int64(w)
	}
	if len(weights) > 1 && total == 0 {
		fe.add(p, "the weights of the %d destinations sum to 0", len(weights))
	}
}

// validateTCPRoute checks a tcp route: matches and at least one destination.
func validateTCPRoute(fe *fieldErrors, p string, r *networking.TCPRoute) {
	if r == nil {
		fe.add(p, "must not be null")
		return
	}
	for i, m := range r.Match {
		mp := index(field(p, "match"), i)
		if m == nil {
			fe.add(mp, "must not be null")
			continue
		}
		validateL4Match(fe, mp, m.Port, m.DestinationSubnets, m.SourceLabels, m.Gateways, m.SourceNamespace)
	}
	validateRouteDestinations(fe, field(p, "route"), r.Route)
}

// validateTLSRoute checks a tls route: matches with SNI hosts that the virtual service's
// hosts cover, and at least one destination.
func validateTLSRoute(fe *fieldErrors, p string, r *networking.TLSRoute, vsHosts []string) {
	if r == nil {
		fe.add(p, "must not be null")
		return
	}
	if len(r.Match) == 0 {
		fe.add(field(p, "match"), "at least one match is required")
	}
	for i, m := range r.Match {
		mp := index(field(p, "match"), i)
		if m == nil {
			fe.add(mp, "must not be null")
			continue
		}
		validateSNIHosts(fe, field(mp, "sniHosts"), m.SniHosts, vsHosts)
		validateL4Match(fe, mp, m.Port, m.DestinationSubnets, m.SourceLabels, m.Gateways, m.SourceNamespace)
	}
	validateRouteDestinations(fe, field(p, "route"), r.Route)
}

// validateSNIHosts checks the SNI hosts of a tls match.
func validateSNIHosts(fe *fieldErrors, p string, snis, vsHosts []string) {
	if len(snis) == 0 {
		fe.add(p, "at least one SNI host is required")
	}
	for i, sni := range snis {
		if err := checkWildcardDomain(sni); err != nil {
			fe.add(index(p, i), "%v", err)
			continue
		}
		covered := false
		for _, h := range vsHosts {
			covered = covered || hostSubsetOf(sni, h)
		}
		if !covered {
			fe.add(index(p, i), "SNI host %q is not covered by the virtual service's hosts [%s]", sni, strings.Join(vsHosts, ", "))
		}
	}
}

// validateL4Match checks the fields tcp and tls matches share.
func validateL4Match(fe *fieldErrors, p string, port uint32, subnets []string, labels map[string]string,
	gateways []string, sourceNamespace string,
) {
	if port != 0 {
		fe.check(field(p, "port"), checkPort(port))
	}
	for i, s := range subnets {
		fe.check(index(field(p, "destinationSubnets"), i), checkIPOrCIDR(s))
	}
	validateLabelMap(fe, field(p, "sourceLabels"), labels)
	for i, g := range gateways {
		fe.check(index(field(p, "gateways"), i), checkGatewayRef(g))
	}
	if sourceNamespace != "" && !isDNSLabel(sourceNamespace) {
		fe.add(field(p, "sourceNamespace"), "%q is not a namespace", sourceNamespace)
	}
}

// validateRouteDestinations checks the destinations of a tcp or tls route.
func validateRouteDestinations(fe *fieldErrors, p string, ds []*networking.RouteDestination) {
	if len(ds) == 0 {
		fe.add(p, "at least one destination is required")
		return
	}
	weights := make([]int32, len(ds))
	for i, d := range ds {
		if d == nil {
			fe.add(index(p, i), "must not be null")
			continue
		}
		validateDestination(fe, field(index(p, i), "destination"), d.Destination)
		weights[i] = d.Weight
	}
	checkWeights(fe, p, weights)
}
