package config

import (
	"net"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateSidecar checks a Sidecar: something configured, egress hosts in
// namespace/dnsName form, one catch-all egress listener at the end, unique ports.
func validateSidecar(fe *fieldErrors, sc *networking.Sidecar) {
	if sc.WorkloadSelector != nil {
		validateSelectorLabels(fe, "spec.workloadSelector.labels", sc.WorkloadSelector.Labels)
	}
	if len(sc.Egress) == 0 && len(sc.Ingress) == 0 && sc.OutboundTrafficPolicy == nil && sc.InboundConnectionPool == nil {
		fe.add("spec", "at least one of egress, ingress, outboundTrafficPolicy or inboundConnectionPool is required")
		return
	}
	ports := map[uint32]bool{}
	for i, in := range sc.Ingress {
		validateSidecarIngress(fe, index("spec.ingress", i), in, ports)
	}
	validateConnectionPool(fe, "spec.inboundConnectionPool", sc.InboundConnectionPool)
	ports = map[uint32]bool{}
	for i, eg := range sc.Egress {
		p := index("spec.egress", i)
		if eg == nil {
			fe.add(p, "must not be null")
			continue
		}
		if eg.Port == nil && i != len(sc.Egress)-1 {
			fe.add(p, "the egress listener without a port must be the last one")
		}
		if eg.Port != nil {
			validateSidecarPort(fe, field(p, "port"), eg.Port, eg.Bind, ports)
		}
		if len(eg.Hosts) == 0 {
			fe.add(field(p, "hosts"), "at least one host is required")
		}
		for j, h := range eg.Hosts {
			fe.check(index(field(p, "hosts"), j), checkNamespacedHost(h, false))
		}
	}
	if tp := sc.OutboundTrafficPolicy; tp != nil && tp.EgressProxy != nil {
		if tp.Mode != networking.OutboundTrafficPolicy_ALLOW_ANY {
			fe.add("spec.outboundTrafficPolicy.egressProxy", "is only allowed with mode ALLOW_ANY")
		}
		validateDestination(fe, "spec.outboundTrafficPolicy.egressProxy", tp.EgressProxy)
	}
}

// validateSidecarIngress checks an ingress listener: a port and a default endpoint.
func validateSidecarIngress(fe *fieldErrors, p string, in *networking.IstioIngressListener, ports map[uint32]bool) {
	if in == nil {
		fe.add(p, "must not be null")
		return
	}
	if in.Port == nil {
		fe.add(field(p, "port"), "is required")
		return
	}
	validateSidecarPort(fe, field(p, "port"), in.Port, in.Bind, ports)
	if ep := in.DefaultEndpoint; ep != "" && !strings.HasPrefix(ep, "unix://") {
		host, port, err := net.SplitHostPort(ep)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil || perr != nil || checkPort(uint32(n)) != nil:
			fe.add(field(p, "defaultEndpoint"), "%q must be 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port> or unix://<path>", ep)
		case host != "" && host != "127.0.0.1" && host != "0.0.0.0" && host != "::1" && host != "::":
			fe.add(field(p, "defaultEndpoint"), "host %q must be 127.0.0.1, 0.0.0.0, ::1 or ::", host)
		}
	}
	validateConnectionPool(fe, field(p, "connectionPool"), in.ConnectionPool)
}

// validateSidecarPort checks a listener port: number (0 only with a unix socket bind),
// protocol, optional name, unique numbers.
func validateSidecarPort(fe *fieldErrors, p string, port *networking.SidecarPort, bind string, seen map[uint32]bool) {
	if port.Name != "" && !isDNSLabel(port.Name) {
		fe.add(field(p, "name"), "%q is not a valid port name (a DNS label)", port.Name)
	}
	fe.check(field(p, "protocol"), checkProtocol(port.Protocol))
	switch {
	case port.Number == 0 && !strings.HasPrefix(bind, "unix://"):
		fe.add(field(p, "number"), "port 0 needs a unix:// bind address")
	case port.Number != 0:
		fe.check(field(p, "number"), checkPort(port.Number))
		if seen[port.Number] {
			fe.add(field(p, "number"), "duplicate port %d", port.Number)
		}
		seen[port.Number] = true
	}
	if port.TargetPort != 0 {
		fe.add(field(p, "targetPort"), "has no effect on sidecars")
	}
	if bind != "" && !strings.HasPrefix(bind, "unix://") && !isIP(bind) {
		fe.add(strings.TrimSuffix(p, ".port")+".bind", "%q is not an IP address or unix:// path", bind)
	}
}
