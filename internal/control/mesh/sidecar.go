package mesh

import (
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
)

// SidecarFor returns the Sidecar resource that applies to a node, or nil, chosen as
// Istio does: in the node's namespace, the oldest Sidecar whose workloadSelector matches
// the node's labels; else the namespace's Sidecar without a selector (the oldest if
// several); else the root namespace's Sidecar without a selector. Gateways (Router
// nodes) have none: Sidecar resources do not apply to them.
func (s *Snapshot) SidecarFor(node *Node) *config.Config {
	if node.Type == Router {
		return nil
	}
	ix := s.idx()
	for _, c := range ix.sidecars[node.Namespace] {
		sel := c.Spec.(*networking.Sidecar).GetWorkloadSelector().GetLabels()
		if len(sel) == 0 || LabelsMatch(sel, node.Labels) {
			return &c
		}
	}
	for _, c := range ix.sidecars[s.Mesh.RootNamespace] {
		if len(c.Spec.(*networking.Sidecar).GetWorkloadSelector().GetLabels()) == 0 {
			return &c
		}
	}
	return nil
}

// Scope is what one node may see: the services and VirtualServices exported to its
// namespace and, for sidecars with a Sidecar resource, imported by its egress hosts.
// Scoping is what keeps a sidecar's config proportional to what it talks to.
type Scope struct {
	// Sidecar is the Sidecar resource that applies, or nil (everything visible is imported).
	Sidecar *config.Config
	// Namespace is the node's namespace.
	Namespace string
	egress    []egressHost
	snap      *Snapshot
}

// egressHost is one "namespace/dnsName" of a Sidecar's egress listeners.
type egressHost struct {
	namespace string // "*", or a namespace ("." resolved to the node's)
	host      string // "*" or a DNS name, maybe a wildcard
}

// ScopeFor returns the scope of a node. The egress hosts of all of the Sidecar's
// egress listeners are combined; "./host" means the node's namespace, "*/host" any
// namespace, and "~/host" nothing.
func (s *Snapshot) ScopeFor(node *Node) *Scope {
	sc := &Scope{Sidecar: s.SidecarFor(node), Namespace: node.Namespace, snap: s}
	if sc.Sidecar == nil {
		return sc
	}
	for _, e := range sc.Sidecar.Spec.(*networking.Sidecar).GetEgress() {
		for _, h := range e.GetHosts() {
			ns, host, ok := strings.Cut(h, "/")
			if !ok || ns == "~" {
				continue
			}
			if ns == "." {
				ns = node.Namespace
			}
			sc.egress = append(sc.egress, egressHost{namespace: ns, host: host})
		}
	}
	return sc
}

// imports reports whether an object in namespace with one of hosts is imported by the
// Sidecar's egress hosts.
func (sc *Scope) imports(namespace string, hosts ...string) bool {
	if sc.Sidecar == nil {
		return true
	}
	for _, e := range sc.egress {
		if e.namespace != "*" && e.namespace != namespace {
			continue
		}
		for _, h := range hosts {
			if e.host == "*" || HostMatches(e.host, h) {
				return true
			}
		}
	}
	return false
}

// ImportsService reports whether the node sees a service: exported to its namespace
// and, with a Sidecar, matching an egress host in the service's namespace.
func (sc *Scope) ImportsService(svc *Service) bool {
	return Visible(svc, sc.Namespace) && sc.imports(svc.Namespace, svc.Hostname)
}

// Services returns the services the node sees, sorted by hostname.
func (sc *Scope) Services() []*Service {
	var out []*Service
	for _, svc := range sc.snap.ServiceList {
		if sc.ImportsService(svc) {
			out = append(out, svc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out
}

// VirtualServices returns the mesh-bound VirtualServices the node sees, oldest first:
// exported to its namespace and, with a Sidecar, in a namespace of an egress host with
// a host that matches it.
func (sc *Scope) VirtualServices() []config.Config {
	node := &Node{Namespace: sc.Namespace}
	var out []config.Config
	for _, c := range sc.snap.VirtualServices(node, MeshGateway) {
		if sc.imports(c.Namespace, sc.snap.VirtualServiceHosts(&c)...) {
			out = append(out, c)
		}
	}
	return out
}
