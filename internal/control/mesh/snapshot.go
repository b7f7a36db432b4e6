package mesh

import (
	"github.com/weftmesh/weft/internal/control/config"
)

// Snapshot is everything the generators read, at one moment. It is immutable: a change
// builds a new snapshot, and connected nodes are pushed from it.
type Snapshot struct {
	// Version identifies the snapshot (and becomes the xDS version_info).
	Version string
	// Services by hostname; a hostname defined twice keeps the oldest definition.
	Services map[string]*Service
	// ServiceList is Services sorted by hostname.
	ServiceList []*Service
	// Endpoints by hostname, then service port number.
	Endpoints map[string]map[uint32][]*Endpoint
	// Config by kind, each list sorted by namespace then name.
	Config map[config.Kind][]config.Config
	Mesh   MeshConfig

	// index serves the lookups (DestinationRule, VirtualServices, SidecarFor, ...);
	// see BuildIndex.
	index *index
}

// MeshConfig is the part of Istio's MeshConfig weft honours.
type MeshConfig struct {
	// RootNamespace holds mesh-wide config (Sidecar, PeerAuthentication): "istio-system".
	RootNamespace string
	// TrustDomain of workload identities: "cluster.local".
	TrustDomain string
	// OutboundAllowAny is outboundTrafficPolicy ALLOW_ANY (true, the default) or
	// REGISTRY_ONLY (false).
	OutboundAllowAny bool
	// DomainSuffix is the cluster DNS suffix: "cluster.local".
	DomainSuffix string
	// ConnectTimeout is the default cluster connect_timeout (10 s in Istio).
	ConnectTimeoutMillis int64
}

// DefaultMeshConfig returns Istio's defaults.
func DefaultMeshConfig() MeshConfig {
	return MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", OutboundAllowAny: true,
		DomainSuffix: "cluster.local", ConnectTimeoutMillis: 10000}
}

// EndpointsOf returns the endpoints of a service port.
func (s *Snapshot) EndpointsOf(host string, port uint32) []*Endpoint {
	return s.Endpoints[host][port]
}

// List returns the config objects of a kind.
func (s *Snapshot) List(kind config.Kind) []config.Config { return s.Config[kind] }
