package config

import (
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateGateway checks a Gateway: servers with ports, hosts and TLS settings that fit
// the protocol, and port names unique across servers.
func validateGateway(fe *fieldErrors, gw *networking.Gateway) {
	if len(gw.Servers) == 0 {
		fe.add("spec.servers", "at least one server is required")
	}
	names := map[string]int{}
	for i, s := range gw.Servers {
		sp := index("spec.servers", i)
		if s == nil {
			fe.add(sp, "must not be null")
			continue
		}
		validateServer(fe, sp, s)
		if s.Port == nil || s.Port.Name == "" {
			continue
		}
		if first, dup := names[s.Port.Name]; dup {
			fe.add(field(sp, "port.name"), "duplicate port name %q (also spec.servers[%d])", s.Port.Name, first)
		} else {
			names[s.Port.Name] = i
		}
	}
	validateSelectorLabels(fe, "spec.selector", gw.Selector)
}

// validateServer checks one gateway server.
func validateServer(fe *fieldErrors, p string, s *networking.Server) {
	if len(s.Hosts) == 0 {
		fe.add(field(p, "hosts"), "at least one host is required")
	}
	for i, h := range s.Hosts {
		fe.check(index(field(p, "hosts"), i), checkNamespacedHost(h, true))
	}
	unix := strings.HasPrefix(s.Bind, "unix://")
	if s.Bind != "" && !unix && !isIP(s.Bind) {
		fe.add(field(p, "bind"), "%q is not an IP address or unix:// path", s.Bind)
	}
	portOK := validateServerPort(fe, field(p, "port"), s.Port, unix)
	validateServerTLS(fe, field(p, "tls"), s.Tls)
	if !portOK {
		return
	}
	switch proto := s.Port.Protocol; {
	case isTLSProtocol(proto) && s.Tls == nil:
		fe.add(field(p, "tls"), "is required for %s servers", proto)
	case !isTLSProtocol(proto) && s.Tls != nil && !isHTTPProtocol(proto):
		fe.add(field(p, "tls"), "cannot be set for %s servers", proto)
	case isHTTPProtocol(proto) && s.Tls != nil && (s.Tls.Mode != networking.ServerTLSSettings_PASSTHROUGH ||
		s.Tls.ServerCertificate != "" || s.Tls.PrivateKey != "" || s.Tls.CaCertificates != ""):
		fe.add(field(p, "tls"), "plain text %s servers can only set httpsRedirect", proto)
	}
}

// validateServerPort checks a server's port and reports whether it is usable.
func validateServerPort(fe *fieldErrors, p string, port *networking.Port, unix bool) bool {
	if port == nil {
		fe.add(p, "is required")
		return false
	}
	before := len(*fe)
	switch {
	case port.Protocol == "":
		fe.add(field(p, "protocol"), "is required")
	default:
		fe.check(field(p, "protocol"), checkProtocol(port.Protocol))
	}
	if port.Number != 0 || !unix {
		fe.check(field(p, "number"), checkPort(port.Number))
	}
	if port.Name == "" {
		fe.add(field(p, "name"), "is required")
	}
	if port.TargetPort != 0 {
		fe.add(field(p, "targetPort"), "has no effect on gateways")
	}
	return len(*fe) == before
}

// validateServerTLS checks a server's TLS settings against its mode.
func validateServerTLS(fe *fieldErrors, p string, t *networking.ServerTLSSettings) {
	if t == nil {
		return
	}
	hasCred := t.CredentialName != "" || len(t.CredentialNames) > 0
	switch t.Mode {
	case networking.ServerTLSSettings_ISTIO_MUTUAL:
		if t.ServerCertificate != "" || t.PrivateKey != "" || t.CaCertificates != "" || hasCred {
			fe.add(p, "ISTIO_MUTUAL cannot have serverCertificate, privateKey, caCertificates or credentialName")
		}
	case networking.ServerTLSSettings_SIMPLE, networking.ServerTLSSettings_MUTUAL, networking.ServerTLSSettings_OPTIONAL_MUTUAL:
		if hasCred || len(t.TlsCertificates) > 0 {
			return
		}
		if t.ServerCertificate == "" {
			fe.add(field(p, "serverCertificate"), "is required for %s TLS", t.Mode)
		}
		if t.PrivateKey == "" {
			fe.add(field(p, "privateKey"), "is required for %s TLS", t.Mode)
		}
		if t.Mode != networking.ServerTLSSettings_SIMPLE && t.CaCertificates == "" {
			fe.add(field(p, "caCertificates"), "is required for %s TLS", t.Mode)
		}
	}
}

// checkNamespacedHost checks a "namespace/dnsName" host of a Sidecar egress listener or
// a Gateway server. Gateways also take a bare dnsName (meaning "*/dnsName") and IPs.
func checkNamespacedHost(h string, gateway bool) error {
	ns, name, ok := strings.Cut(h, "/")
	if !ok {
		if !gateway {
			return errorf("host %q must be of the form namespace/dnsName", h)
		}
		return checkHostPart(h, gateway)
	}
	if ns == "" || name == "" {
		return errorf("host %q: namespace and dnsName must not be empty", h)
	}
	if ns != "*" && ns != "." && (gateway || ns != "~") && !isDNSLabel(ns) {
		return errorf("host %q: %q is not a namespace, \".\" or \"*\"", h, ns)
	}
	return checkHostPart(name, gateway)
}

// checkHostPart checks the dnsName of a namespaced host: "*", a wildcard domain or an
// FQDN (short names are not allowed), with no partial wildcards.
func checkHostPart(name string, gateway bool) error {
	if gateway && isIP(name) {
		return nil
	}
	if name != "*" && !strings.Contains(name, ".") {
		return errorf("%q is a short name; use a fully qualified name such as %s.default.svc.cluster.local", name, name)
	}
	if err := checkWildcardDomain(name); err != nil {
		return err
	}
	return checkPartialWildcard(name)
}
