package serviceentry

import (
	"net/netip"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// state is the registry's content at one moment. It is never changed once built.
type state struct {
	services  []*mesh.Service // sorted by hostname
	byHost    map[string]*mesh.Service
	endpoints map[string]map[uint32][]*mesh.Endpoint // by hostname, then service port
}

// build converts ServiceEntries and WorkloadEntries into services and endpoints. A
// hostname defined by several ServiceEntries belongs to the oldest (then by namespace
// and name); entries for the same host in the winner's namespace add their endpoints on
// the winner's ports, as Istio shards endpoints by hostname and namespace.
func build(serviceEntries, workloadEntries []config.Config, trustDomain string) *state {
	st := &state{byHost: map[string]*mesh.Service{}, endpoints: map[string]map[uint32][]*mesh.Endpoint{}}
	wesByNS := map[string][]config.Config{}
	for _, c := range workloadEntries {
		wesByNS[c.Namespace] = append(wesByNS[c.Namespace], c)
	}
	for _, c := range byAge(serviceEntries) {
		se, ok := c.Spec.(*networking.ServiceEntry)
		if !ok {
			continue
		}
		for _, svc := range convertServices(c, se) {
			eps := convertEndpoints(c, se, svc.Hostname, wesByNS[c.Namespace], trustDomain)
			winner, taken := st.byHost[svc.Hostname]
			switch {
			case !taken:
				st.byHost[svc.Hostname] = svc
				st.services = append(st.services, svc)
				st.endpoints[svc.Hostname] = eps
			case winner.Namespace == svc.Namespace:
				for _, p := range winner.Ports {
					if add := eps[p.Number]; len(add) > 0 {
						st.endpoints[svc.Hostname][p.Number] = append(st.endpoints[svc.Hostname][p.Number], add...)
					}
				}
			}
		}
	}
	sort.Slice(st.services, func(i, j int) bool { return st.services[i].Hostname < st.services[j].Hostname })
	return st
}

// byAge orders config oldest first, then by namespace and name.
func byAge(list []config.Config) []config.Config {
	out := append([]config.Config(nil), list...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreationTime.Equal(out[j].CreationTime) {
			return out[i].CreationTime.Before(out[j].CreationTime)
		}
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// convertServices makes one service per host of a ServiceEntry.
func convertServices(c config.Config, se *networking.ServiceEntry) []*mesh.Service {
	ports := make([]mesh.Port, 0, len(se.Ports))
	for _, p := range se.Ports {
		ports = append(ports, mesh.Port{Name: p.Name, Number: p.Number, Protocol: mesh.ParseProtocol(p.Protocol), TargetPort: p.TargetPort})
	}
	var addrs []string
	for _, a := range se.Addresses {
		if pfx, err := netip.ParsePrefix(a); err == nil && pfx.Bits() == pfx.Addr().BitLen() {
			a = pfx.Addr().String() // a /32 or /128 is just an address
		}
		addrs = append(addrs, a)
	}
	out := make([]*mesh.Service, 0, len(se.Hosts))
	for _, h := range se.Hosts {
		out = append(out, &mesh.Service{
			Hostname:        h,
			Namespace:       c.Namespace,
			Addresses:       addrs,
			Ports:           ports,
			Resolution:      resolution(se.Resolution),
			MeshExternal:    se.Location == networking.ServiceEntry_MESH_EXTERNAL,
			ExportTo:        se.ExportTo,
			Labels:          c.Labels,
			Selector:        se.GetWorkloadSelector().GetLabels(),
			CreationTime:    c.CreationTime,
			Source:          "ServiceEntry " + c.Namespace + "/" + c.Name,
			SubjectAltNames: se.SubjectAltNames,
		})
	}
	return out
}

// resolution maps a ServiceEntry resolution to the service's.
func resolution(r networking.ServiceEntry_Resolution) mesh.Resolution {
	switch r {
	case networking.ServiceEntry_STATIC:
		return mesh.ClientSideLB
	case networking.ServiceEntry_DNS:
		return mesh.DNSLB
	case networking.ServiceEntry_DNS_ROUND_ROBIN:
		return mesh.DNSRoundRobinLB
	}
	return mesh.Passthrough
}

// convertEndpoints returns the endpoints of one host of a ServiceEntry, by service port:
// the inline endpoints; or the WorkloadEntries of its namespace that the
// workloadSelector picks; or, for DNS resolution with neither, the host itself.
func convertEndpoints(c config.Config, se *networking.ServiceEntry, host string, wes []config.Config, td string) map[uint32][]*mesh.Endpoint {
	out := map[uint32][]*mesh.Endpoint{}
	dns := se.Resolution == networking.ServiceEntry_DNS || se.Resolution == networking.ServiceEntry_DNS_ROUND_ROBIN
	for _, p := range se.Ports {
		switch {
		case len(se.Endpoints) == 0 && se.WorkloadSelector == nil && dns:
			target := p.Number
			if p.TargetPort > 0 {
				target = p.TargetPort
			}
			out[p.Number] = []*mesh.Endpoint{{Address: host, Port: target, ServicePort: p.Number, Weight: 1,
				Healthy: true, Namespace: c.Namespace, TLSMode: mesh.TLSModeDisabled}}
		case se.WorkloadSelector != nil:
			for _, w := range wes {
				we, ok := w.Spec.(*networking.WorkloadEntry)
				if ok && mesh.LabelsMatch(se.WorkloadSelector.Labels, we.Labels) {
					out[p.Number] = appendEndpoint(out[p.Number], we, p, w.Namespace, w.Name, td)
				}
			}
		default:
			for _, we := range se.Endpoints {
				out[p.Number] = appendEndpoint(out[p.Number], we, p, c.Namespace, "", td)
			}
		}
	}
	return out
}

// appendEndpoint converts a workload (a WorkloadEntry, or an inline endpoint) serving
// a service port. The port on the workload is its ports[port name], else the service
// port's targetPort, else the service port; unix sockets have none. Workloads without
// an address (reachable only through a network gateway) are left out.
func appendEndpoint(eps []*mesh.Endpoint, we *networking.WorkloadEntry, p *networking.ServicePort, ns, workload, td string) []*mesh.Endpoint {
	if we.Address == "" {
		return eps
	}
	target := p.Number
	switch {
	case strings.HasPrefix(we.Address, "unix://"):
		target = 0
	case we.Ports[p.Name] > 0:
		target = we.Ports[p.Name]
	case p.TargetPort > 0:
		target = p.TargetPort
	}
	ep := &mesh.Endpoint{Address: we.Address, Port: target, ServicePort: p.Number, Labels: we.Labels,
		Locality: parseLocality(we), Network: we.Network, Weight: we.Weight, Healthy: true,
		Namespace: ns, Workload: workload, TLSMode: mesh.TLSModeDisabled}
	if ep.Weight == 0 {
		ep.Weight = 1
	}
	if we.ServiceAccount != "" {
		ep.ServiceAccount = mesh.SpiffeID(td, ns, we.ServiceAccount)
		ep.TLSMode = mesh.TLSModeIstio
	}
	if m, ok := we.Labels["security.istio.io/tlsMode"]; ok {
		ep.TLSMode = m
	}
	return append(eps, ep)
}

// parseLocality reads "region/zone/subzone", or Istio's istio-locality label
// ("region.zone.subzone") when the field is empty.
func parseLocality(we *networking.WorkloadEntry) mesh.Locality {
	loc := we.Locality
	if loc == "" {
		loc = strings.ReplaceAll(we.Labels["istio-locality"], ".", "/")
	}
	parts := strings.SplitN(loc, "/", 3)
	var l mesh.Locality
	for i, v := range parts {
		switch i {
		case 0:
			l.Region = v
		case 1:
			l.Zone = v
		case 2:
			l.SubZone = v
		}
	}
	return l
}
