package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// convertService maps a Kubernetes Service to a mesh service, as Istio does: a
// ClusterIP service is load balanced over its endpoints (EDS) at its cluster IPs; a
// headless one (clusterIP None) is passthrough; an ExternalName one is a mesh-external
// DNS service. The networking.istio.io/exportTo annotation sets its visibility.
func convertService(svc *corev1.Service, domain string) *mesh.Service {
	ms := &mesh.Service{
		Hostname:     hostname(svc.Name, svc.Namespace, domain),
		Namespace:    svc.Namespace,
		Labels:       svc.Labels,
		Selector:     svc.Spec.Selector,
		CreationTime: svc.CreationTimestamp.UTC(),
		Source:       "Service " + svc.Namespace + "/" + svc.Name,
		ExportTo:     exportTo(svc.Annotations[annotationExportTo]),
	}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		ms.Resolution, ms.MeshExternal = mesh.DNSLB, true
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		ms.Resolution = mesh.Passthrough
	default:
		ms.Resolution = mesh.ClientSideLB
		ms.Addresses = clusterIPs(svc)
	}
	for _, p := range svc.Spec.Ports {
		ms.Ports = append(ms.Ports, convertPort(p))
	}
	return ms
}

// hostname is a service's fully qualified name.
func hostname(name, namespace, domain string) string {
	return name + "." + namespace + ".svc." + domain
}

// clusterIPs returns a service's virtual IPs (both families when dual-stack).
func clusterIPs(svc *corev1.Service) []string {
	var out []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, ip)
		}
	}
	if len(out) == 0 && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		out = append(out, svc.Spec.ClusterIP)
	}
	return out
}

// exportTo reads the exportTo annotation: namespaces, "." or "*", comma separated.
func exportTo(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// convertPort maps a service port. A numeric targetPort is kept; a named one is
// resolved per endpoint from the EndpointSlice.
func convertPort(p corev1.ServicePort) mesh.Port {
	mp := mesh.Port{Name: p.Name, Number: uint32(p.Port), Protocol: portProtocol(p)}
	if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal > 0 {
		mp.TargetPort = uint32(p.TargetPort.IntVal)
	}
	return mp
}

// wellKnownPorts are taken as TCP when neither appProtocol nor the port name says
// otherwise, as Istio does: sniffing would break their server-first protocols.
var wellKnownPorts = map[int32]bool{25: true, 53: true, 3306: true, 27017: true}

// portProtocol selects a port's protocol as Istio does: UDP ports are UDP; otherwise
// appProtocol when set (kubernetes.io/h2c is HTTP2, kubernetes.io/ws and wss HTTP),
// else the port name; a name is read up to its first "-" ("http-web" is HTTP), except
// that "grpc-web..." is gRPC-Web. Unknown names are sniffed, except on well-known
// server-first ports, which are TCP.
func portProtocol(p corev1.ServicePort) mesh.Protocol {
	if p.Protocol == corev1.ProtocolUDP {
		return mesh.UDP
	}
	name := p.Name
	if p.AppProtocol != nil && *p.AppProtocol != "" {
		name = *p.AppProtocol
		switch name {
		case "kubernetes.io/h2c":
			return mesh.HTTP2
		case "kubernetes.io/ws", "kubernetes.io/wss":
			return mesh.HTTP
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "grpc-web") {
		return mesh.GRPCWeb
	}
	prefix, _, _ := strings.Cut(name, "-")
	proto := mesh.ParseProtocol(prefix)
	if proto == mesh.Unsupported && wellKnownPorts[p.Port] {
		return mesh.TCP
	}
	return proto
}
