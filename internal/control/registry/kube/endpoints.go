package kube

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// refBuilder collects the pods and nodes a service's endpoints came from.
type refBuilder struct {
	pods, nodes map[string]bool
}

func (b *refBuilder) add(set *map[string]bool, k string) {
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[k] = true
}

func (b *refBuilder) refs() refs {
	return refs{pods: sortedKeys(b.pods), nodes: sortedKeys(b.nodes)}
}

// endpointsOf builds a service's endpoints by service port, and says which pods and
// nodes they came from. An ExternalName service has one endpoint per port: the
// external name.
func (r *Registry) endpointsOf(svc *corev1.Service, ms *mesh.Service) (map[uint32][]*mesh.Endpoint, refs) {
	out := make(map[uint32][]*mesh.Endpoint, len(svc.Spec.Ports))
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		for _, p := range ms.Ports {
			out[p.Number] = []*mesh.Endpoint{{Address: svc.Spec.ExternalName, Port: p.Number, ServicePort: p.Number,
				Weight: 1, Healthy: true, Namespace: svc.Namespace, TLSMode: mesh.TLSModeDisabled}}
		}
		return out, refs{}
	}
	slices := r.in.slicesOf(svc.Namespace + "/" + svc.Name)
	sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
	var rb refBuilder
	for _, p := range svc.Spec.Ports {
		if eps := r.portEndpoints(svc.Namespace, p, slices, &rb); len(eps) > 0 {
			out[uint32(p.Port)] = eps
		}
	}
	return out, rb.refs()
}

// portEndpoints returns the endpoints of one service port from the slices, sorted by
// address and port. The EndpointSlice controller may list an address in two slices
// for a moment; the ready copy wins.
func (r *Registry) portEndpoints(ns string, p corev1.ServicePort, slices []*discoveryv1.EndpointSlice, rb *refBuilder) []*mesh.Endpoint {
	byAddr := map[string]*mesh.Endpoint{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue // FQDN slices: EDS takes addresses only
		}
		target, ok := slicePort(s, p)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			if len(e.Addresses) == 0 {
				continue
			}
			ep := r.endpoint(s.Namespace, e, target, uint32(p.Port), rb)
			k := ep.Address + "|" + strconv.FormatUint(uint64(ep.Port), 10)
			if prev, dup := byAddr[k]; dup && (prev.Healthy || !ep.Healthy) {
				continue
			}
			byAddr[k] = ep
		}
	}
	out := make([]*mesh.Endpoint, 0, len(byAddr))
	for _, ep := range byAddr {
		out = append(out, ep)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return out[i].Address < out[j].Address
		}
		return out[i].Port < out[j].Port
	})
	return out
}

// slicePort finds the target port of a service port in a slice: the slice port with
// the same name and protocol (an unnamed single port has the empty name).
func slicePort(s *discoveryv1.EndpointSlice, p corev1.ServicePort) (uint32, bool) {
	for _, sp := range s.Ports {
		name, proto := "", corev1.ProtocolTCP
		if sp.Name != nil {
			name = *sp.Name
		}
		if sp.Protocol != nil {
			proto = *sp.Protocol
		}
		want := p.Protocol
		if want == "" {
			want = corev1.ProtocolTCP
		}
		if name == p.Name && proto == want && sp.Port != nil && *sp.Port > 0 {
			return uint32(*sp.Port), true
		}
	}
	return 0, false
}

// endpoint converts one slice endpoint. Ready endpoints (ready unset or true) are
// healthy; the rest, not ready or terminating, are kept unhealthy, and the generators
// leave them out as Istio does. The pod behind it gives labels, workload name,
// identity and TLS mode; its node, the locality.
func (r *Registry) endpoint(ns string, e *discoveryv1.Endpoint, port, svcPort uint32, rb *refBuilder) *mesh.Endpoint {
	ep := &mesh.Endpoint{Address: e.Addresses[0], Port: port, ServicePort: svcPort, Weight: 1,
		Healthy: e.Conditions.Ready == nil || *e.Conditions.Ready, Namespace: ns, TLSMode: mesh.TLSModeDisabled}
	nodeName := ""
	if e.NodeName != nil {
		nodeName = *e.NodeName
	}
	var pod *corev1.Pod
	if ref := e.TargetRef; ref != nil && ref.Kind == "Pod" && ref.Name != "" {
		podNS := ref.Namespace
		if podNS == "" {
			podNS = ns
		}
		rb.add(&rb.pods, podNS+"/"+ref.Name)
		pod, _ = r.in.pods.Pods(podNS).Get(ref.Name)
	}
	if pod != nil {
		r.fromPod(ep, pod)
		if pod.Spec.NodeName != "" {
			nodeName = pod.Spec.NodeName
		}
	}
	if nodeName != "" {
		rb.add(&rb.nodes, nodeName)
	}
	ep.Locality = r.locality(pod, nodeName, e.Zone)
	ep.Network = r.network(pod, ns)
	return ep
}

// fromPod fills in what an endpoint takes from its pod.
func (r *Registry) fromPod(ep *mesh.Endpoint, pod *corev1.Pod) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	ep.Labels = pod.Labels
	ep.Workload = pod.Name
	ep.Namespace = pod.Namespace
	ep.ServiceAccount = mesh.SpiffeID(r.trustDomain, pod.Namespace, sa)
	if m := pod.Labels[labelTLSMode]; m != "" {
		ep.TLSMode = m
	}
}

// locality is the pod's istio-locality label ("region.zone.subzone") when set, else
// its node's topology labels, else the zone the slice gives.
func (r *Registry) locality(pod *corev1.Pod, nodeName string, zone *string) mesh.Locality {
	if pod != nil && pod.Labels[labelLocality] != "" {
		parts := strings.SplitN(pod.Labels[labelLocality], ".", 3)
		parts = append(parts, "", "")
		return mesh.Locality{Region: parts[0], Zone: parts[1], SubZone: parts[2]}
	}
	if nodeName != "" {
		if n, err := r.in.nodes.Get(nodeName); err == nil {
			return mesh.Locality{Region: n.Labels[labelRegion], Zone: n.Labels[labelZone], SubZone: n.Labels[labelSubZone]}
		}
	}
	if zone != nil {
		return mesh.Locality{Zone: *zone}
	}
	return mesh.Locality{}
}

// network is the pod's topology.istio.io/network label, else its namespace's.
func (r *Registry) network(pod *corev1.Pod, ns string) string {
	if pod != nil && pod.Labels[labelNetwork] != "" {
		return pod.Labels[labelNetwork]
	}
	if n, err := r.in.namespaces.Get(ns); err == nil {
		return n.Labels[labelNetwork]
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
