package localmesh

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// meshService converts a Kubernetes Service with its ClusterIP, choosing each port's
// protocol from appProtocol or the port name's prefix, as Istio does.
func meshService(s Service, clusterIP netip.Addr, domain string) *mesh.Service {
	ms := &mesh.Service{
		Hostname:  s.Metadata.Name + "." + s.Metadata.Namespace + ".svc." + domain,
		Namespace: s.Metadata.Namespace, Addresses: []string{clusterIP.String()},
		Labels: s.Metadata.Labels, Selector: s.Spec.Selector, Source: "Service " + s.Metadata.Namespace + "/" + s.Metadata.Name,
	}
	for _, p := range s.Spec.Ports {
		proto := p.AppProtocol
		if proto == "" {
			proto, _, _ = strings.Cut(p.Name, "-")
		}
		mp := mesh.Port{Name: p.Name, Number: p.Port, Protocol: mesh.ParseProtocol(proto)}
		if t, ok := numericTarget(p.TargetPort); ok {
			mp.TargetPort = t
		}
		ms.Ports = append(ms.Ports, mp)
	}
	return ms
}

// numericTarget reads a numeric targetPort (a named one resolves per pod).
func numericTarget(v any) (uint32, bool) {
	switch t := v.(type) {
	case float64:
		return uint32(t), true
	case string:
		n, err := strconv.ParseUint(t, 10, 16)
		return uint32(n), err == nil
	}
	return 0, false
}

// targetPort resolves a service port's target port for a pod: the number, or a named
// container port, or the service port itself.
func targetPort(p ServicePort, pod *podRun) uint32 {
	if n, ok := numericTarget(p.TargetPort); ok && n != 0 {
		return n
	}
	if name, ok := p.TargetPort.(string); ok {
		for _, c := range pod.spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == name {
					return cp.ContainerPort
				}
			}
		}
	}
	return p.Port
}

// selects reports whether a service's selector picks a pod's labels.
func selects(selector, labels map[string]string) bool {
	return len(selector) > 0 && mesh.LabelsMatch(selector, labels)
}
