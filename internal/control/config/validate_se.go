package config

import (
	"path"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateServiceEntry checks a ServiceEntry the way Istio does: hosts, addresses,
// ports, and the rules that tie resolution to endpoints, hosts and addresses.
func validateServiceEntry(fe *fieldErrors, namespace string, se *networking.ServiceEntry) {
	if se.WorkloadSelector != nil && se.Endpoints != nil {
		fe.add("spec", "only one of workloadSelector and endpoints may be set")
	}
	if se.WorkloadSelector != nil {
		validateSelectorLabels(fe, "spec.workloadSelector.labels", se.WorkloadSelector.Labels)
	}
	if len(se.Hosts) == 0 {
		fe.add("spec.hosts", "at least one host is required")
	}
	for i, h := range se.Hosts {
		if h == "*" {
			fe.add(index("spec.hosts", i), `the wildcard host "*" is not allowed`)
			continue
		}
		fe.check(index("spec.hosts", i), checkWildcardDomain(h))
	}
	validateSEAddresses(fe, se)
	ports := validateSEPorts(fe, se.Ports)
	validateSEResolution(fe, se, ports)
	if se.Resolution != networking.ServiceEntry_NONE && len(se.Hosts) > 1 {
		for i, p := range se.Ports {
			if p != nil && !isHTTPProtocol(p.Protocol) && !isTLSProtocol(p.Protocol) {
				fe.add(index("spec.ports", i), "several hosts need HTTP or TLS ports to tell them apart, unless resolution is NONE")
				break
			}
		}
	}
	validateExportTo(fe, "spec.exportTo", namespace, se.ExportTo, true)
}

// validateSEAddresses checks addresses: IPs or CIDR blocks, CIDRs only for NONE and STATIC.
func validateSEAddresses(fe *fieldErrors, se *networking.ServiceEntry) {
	for i, a := range se.Addresses {
		p := index("spec.addresses", i)
		if err := checkIPOrCIDR(a); err != nil {
			fe.add(p, "%v", err)
			continue
		}
		if strings.Contains(a, "/") && se.Resolution != networking.ServiceEntry_NONE && se.Resolution != networking.ServiceEntry_STATIC {
			fe.add(p, "CIDR addresses are only allowed with resolution NONE or STATIC")
		}
	}
}

// validateSEPorts checks ports (unique names and numbers) and returns the port names.
func validateSEPorts(fe *fieldErrors, ports []*networking.ServicePort) map[string]bool {
	names := map[string]bool{}
	numbers := map[uint32]bool{}
	for i, port := range ports {
		p := index("spec.ports", i)
		if port == nil {
			fe.add(p, "must not be null")
			continue
		}
		switch {
		case names[port.Name]:
			fe.add(field(p, "name"), "duplicate port name %q", port.Name)
		case !isDNSLabel(port.Name):
			fe.add(field(p, "name"), "%q is not a valid port name (a DNS label)", port.Name)
		}
		if numbers[port.Number] {
			fe.add(field(p, "number"), "duplicate port number %d", port.Number)
		}
		names[port.Name], numbers[port.Number] = true, true
		fe.check(field(p, "number"), checkPort(port.Number))
		fe.check(field(p, "protocol"), checkProtocol(port.Protocol))
		if port.TargetPort != 0 {
			fe.check(field(p, "targetPort"), checkPort(port.TargetPort))
		}
	}
	return names
}

// validateSEResolution checks what each resolution needs: no endpoints for NONE, IP
// endpoints for STATIC, FQDN hosts (or endpoints) for DNS, at most one endpoint for
// DNS_ROUND_ROBIN.
func validateSEResolution(fe *fieldErrors, se *networking.ServiceEntry, ports map[string]bool) {
	switch se.Resolution {
	case networking.ServiceEntry_NONE:
		if len(se.Endpoints) > 0 {
			fe.add("spec.endpoints", "must be empty with resolution NONE")
		}
	case networking.ServiceEntry_STATIC:
		for i, ep := range se.Endpoints {
			validateWorkloadEntry(fe, index("spec.endpoints", i), ep, ports, false)
		}
	case networking.ServiceEntry_DNS, networking.ServiceEntry_DNS_ROUND_ROBIN:
		if len(se.Endpoints) == 0 {
			for i, h := range se.Hosts {
				if strings.HasPrefix(h, "*") {
					fe.add(index("spec.hosts", i), "wildcard hosts need endpoints with resolution %s", se.Resolution)
				}
			}
		}
		if se.Resolution == networking.ServiceEntry_DNS_ROUND_ROBIN && len(se.Endpoints) > 1 {
			fe.add("spec.endpoints", "at most one endpoint is allowed with resolution DNS_ROUND_ROBIN")
		}
		for i, ep := range se.Endpoints {
			validateWorkloadEntry(fe, index("spec.endpoints", i), ep, ports, true)
		}
	default:
		fe.add("spec.resolution", "unknown resolution %v", se.Resolution)
	}
}

// validateWorkloadEntry checks a WorkloadEntry, or an endpoint of a ServiceEntry (then
// servicePorts holds the entry's port names and dns says whether hostnames are allowed).
func validateWorkloadEntry(fe *fieldErrors, p string, we *networking.WorkloadEntry, servicePorts map[string]bool, dns bool) {
	if we == nil {
		fe.add(p, "must not be null")
		return
	}
	ap := field(p, "address")
	switch addr := we.Address; {
	case addr == "" && we.Network == "":
		fe.add(ap, "is required (unless network is set)")
	case strings.HasPrefix(addr, "unix://"):
		if sock := strings.TrimPrefix(addr, "unix://"); !strings.HasPrefix(sock, "@") && (!path.IsAbs(sock) || strings.HasSuffix(sock, "/")) {
			fe.add(ap, "%q is not an absolute path to a socket", sock)
		}
		if len(we.Ports) > 0 {
			fe.add(field(p, "ports"), "unix socket endpoints cannot have ports")
		}
	case addr == "" || isIP(addr):
	case !dns:
		fe.add(ap, "%q is not an IP address", addr)
	default:
		if checkFQDN(addr) != nil {
			fe.add(ap, "%q is not an IP address or a fully qualified domain name", addr)
		}
	}
	for _, name := range sortedKeys(we.Ports) {
		pp := key(field(p, "ports"), name)
		if servicePorts != nil && !servicePorts[name] {
			fe.add(pp, "port name %q is not a port of the service entry", name)
		}
		fe.check(pp, checkPort(we.Ports[name]))
	}
	validateLabelMap(fe, field(p, "labels"), we.Labels)
	if we.Locality != "" && strings.Count(we.Locality, "/") > 2 {
		fe.add(field(p, "locality"), "%q must be region/zone/subzone", we.Locality)
	}
}

// validateWorkloadGroup checks a WorkloadGroup: a template and valid labels.
func validateWorkloadGroup(fe *fieldErrors, wg *networking.WorkloadGroup) {
	if wg.Template == nil {
		fe.add("spec.template", "is required")
	}
	if wg.Metadata != nil {
		validateLabelMap(fe, "spec.metadata.labels", wg.Metadata.Labels)
	}
	for _, name := range sortedKeys(wg.Template.GetPorts()) {
		fe.check(key("spec.template.ports", name), checkPort(wg.Template.Ports[name]))
	}
}
