package mesh

import (
	"strings"
	"time"
)

// Protocol is a service port's protocol, as Istio names them.
type Protocol string

// Protocols Istio knows. Unsupported or unset protocols are sniffed (HTTP if it looks
// like HTTP, else TCP).
const (
	HTTP        Protocol = "HTTP"
	HTTP2       Protocol = "HTTP2"
	GRPC        Protocol = "GRPC"
	GRPCWeb     Protocol = "GRPC-Web"
	HTTPS       Protocol = "HTTPS"
	TLS         Protocol = "TLS"
	TCP         Protocol = "TCP"
	Mongo       Protocol = "Mongo"
	Redis       Protocol = "Redis"
	MySQL       Protocol = "MySQL"
	UDP         Protocol = "UDP"
	Unsupported Protocol = "UnsupportedProtocol" // sniffed
)

// IsHTTP reports whether traffic on the port is HTTP of some kind (routes apply).
func (p Protocol) IsHTTP() bool {
	switch p {
	case HTTP, HTTP2, GRPC, GRPCWeb:
		return true
	}
	return false
}

// Port is one port of a service.
type Port struct {
	Name       string
	Number     uint32
	Protocol   Protocol
	TargetPort uint32 // 0: same as Number (ServiceEntry targetPort, Kubernetes targetPort)
}

// Resolution says how a service's endpoints are found, as ServiceEntry's resolution.
type Resolution int

// Resolutions.
const (
	// ClientSideLB: the endpoints are known (EDS).
	ClientSideLB Resolution = iota
	// DNSLB: each endpoint is a name resolved by the proxy (STRICT_DNS).
	DNSLB
	// DNSRoundRobinLB: one name resolved by the proxy (LOGICAL_DNS).
	DNSRoundRobinLB
	// Passthrough: the proxy sends to the original destination (ORIGINAL_DST).
	Passthrough
)

// Service is one service of the mesh: a Kubernetes Service or a ServiceEntry host.
type Service struct {
	// Hostname is the fully qualified name: reviews.default.svc.cluster.local.
	Hostname string
	// Namespace is where the service is defined.
	Namespace string
	// Addresses are the virtual IPs (ClusterIP, ServiceEntry addresses); may be empty.
	Addresses []string
	Ports     []Port
	// Resolution says how endpoints are found.
	Resolution Resolution
	// MeshExternal marks services outside the mesh (no sidecar, no mTLS).
	MeshExternal bool
	// ExportTo lists the namespaces that may see the service ("*" all, "." own);
	// empty means everywhere.
	ExportTo []string
	// Labels are the service's labels (Kubernetes Service or ServiceEntry labels).
	Labels map[string]string
	// Selector selects the workloads (WorkloadEntry, pods) behind the service.
	Selector map[string]string
	// CreationTime orders conflicting definitions: the oldest wins, as in Istio.
	CreationTime time.Time
	// Source names where the service came from ("ServiceEntry default/bookinfo", ...).
	Source string
	// SubjectAltNames are extra identities the service's endpoints may present
	// (ServiceEntry subjectAltNames), checked when originating mTLS to it.
	SubjectAltNames []string
}

// Port returns the port with the given number.
func (s *Service) Port(number uint32) (Port, bool) {
	for _, p := range s.Ports {
		if p.Number == number {
			return p, true
		}
	}
	return Port{}, false
}

// Endpoint is one workload address serving one port of a service.
type Endpoint struct {
	// Address is the workload's IP, or a DNS name for DNS-resolved services.
	Address string
	// Port is the port on the workload (the target port).
	Port uint32
	// ServicePort is the service port number the endpoint serves.
	ServicePort uint32
	Labels      map[string]string
	// ServiceAccount is the workload's identity (a SPIFFE URI or account name).
	ServiceAccount string
	Locality       Locality
	Network        string
	Weight         uint32
	// Healthy is false for endpoints that are not ready.
	Healthy bool
	// Namespace and Workload name the workload (WorkloadEntry or pod) for telemetry.
	Namespace string
	Workload  string
	// TLSMode says whether the endpoint takes Istio mutual TLS: "istio" (it has a
	// sidecar) or "disabled", as Istio's security.istio.io/tlsMode label.
	TLSMode string
}

// TLS modes of endpoints.
const (
	TLSModeIstio    = "istio"
	TLSModeDisabled = "disabled"
)

// Locality is a region/zone/sub-zone triple.
type Locality struct {
	Region, Zone, SubZone string
}

// OutboundClusterHost returns the service host of an outbound cluster name, as Istio
// names them ("outbound|9080|v1|reviews.default.svc.cluster.local").
func OutboundClusterHost(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "outbound|")
	if !ok {
		return "", false
	}
	for range 2 { // port, subset
		if _, rest, ok = strings.Cut(rest, "|"); !ok {
			return "", false
		}
	}
	return rest, rest != ""
}
