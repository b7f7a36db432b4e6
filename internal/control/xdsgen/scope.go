package xdsgen

import (
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// scope is what one node can see: the services exported to its namespace and, for
// sidecars, admitted by its Sidecar resource's egress hosts. This is what keeps a
// sidecar's config (and memory) proportional to what it talks to, not to the mesh.
type scope struct {
	services []*mesh.Service // sorted by hostname
	byHost   map[string]*mesh.Service
	sidecar  *config.Config // the Sidecar that applies, or nil
	allowAny bool           // outboundTrafficPolicy ALLOW_ANY
	err      error          // an unsupported Sidecar field
}

func newScope(g *gen) *scope {
	sc := &scope{byHost: map[string]*mesh.Service{}, allowAny: g.snap.Mesh.OutboundAllowAny}
	var egress []string
	if g.node.Type != mesh.Router {
		sc.sidecar = g.sidecarFor()
	}
	if sc.sidecar != nil {
		spec := sc.sidecar.Spec.(*networking.Sidecar)
		sc.err = checkIstio(*sc.sidecar)
		for _, e := range spec.GetEgress() {
			egress = append(egress, e.GetHosts()...)
		}
		if p := spec.GetOutboundTrafficPolicy(); p != nil {
			sc.allowAny = p.GetMode() == networking.OutboundTrafficPolicy_ALLOW_ANY
		}
	}
	for _, svc := range g.snap.ServiceList {
		if !mesh.ExportedTo(svc.ExportTo, svc.Namespace, g.node.Namespace) {
			continue
		}
		if sc.sidecar != nil && !egressAdmits(egress, svc, g.node.Namespace) {
			continue
		}
		sc.services = append(sc.services, svc)
		sc.byHost[svc.Hostname] = svc
	}
	sort.Slice(sc.services, func(i, j int) bool { return sc.services[i].Hostname < sc.services[j].Hostname })
	return sc
}

// sidecarFor returns the Sidecar resource that applies to the node: one in its
// namespace whose workloadSelector matches its labels, else the one in its namespace
// without a selector, else the root namespace's one without a selector.
func (g *gen) sidecarFor() *config.Config {
	var nsDefault, rootDefault *config.Config
	list := g.snap.List(config.Sidecar)
	for i := range list {
		c := &list[i]
		spec, ok := c.Spec.(*networking.Sidecar)
		if !ok {
			continue
		}
		sel := spec.GetWorkloadSelector().GetLabels()
		switch {
		case c.Namespace == g.node.Namespace && len(sel) > 0:
			if mesh.LabelsMatch(sel, g.node.Labels) {
				return c
			}
		case c.Namespace == g.node.Namespace && nsDefault == nil:
			nsDefault = c
		case c.Namespace == g.rootNamespace() && len(sel) == 0 && rootDefault == nil:
			rootDefault = c
		}
	}
	if nsDefault != nil {
		return nsDefault
	}
	return rootDefault
}

func (g *gen) rootNamespace() string {
	if ns := g.snap.Mesh.RootNamespace; ns != "" {
		return ns
	}
	return "istio-system"
}

// egressAdmits reports whether one of a Sidecar's egress hosts ("ns/dnsName") admits
// the service. In the namespace part "." is the node's namespace (also for a
// root-namespace Sidecar), "*" any, "~" none; the name part is "*", "*.suffix" or exact.
func egressAdmits(hosts []string, svc *mesh.Service, nodeNS string) bool {
	for _, h := range hosts {
		ns, name, ok := strings.Cut(h, "/")
		if !ok {
			ns, name = "*", h
		}
		switch ns {
		case "~":
			continue
		case ".":
			ns = nodeNS
		}
		if ns != "*" && ns != svc.Namespace {
			continue
		}
		if hostMatches(name, svc.Hostname) {
			return true
		}
	}
	return false
}

// service returns the visible service with the hostname, or nil.
func (sc *scope) service(host string) *mesh.Service { return sc.byHost[host] }
