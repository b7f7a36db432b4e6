package mesh

import (
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
)

// index holds what the lookups of this package need, computed once per snapshot.
type index struct {
	// drs holds the destination rules of each namespace by resolved host.
	drs map[string]map[string]*drSet
	// drHosts lists the hosts of drs[namespace], for most-specific matching.
	drHosts map[string][]string
	// vss are the VirtualServices, oldest first.
	vss []config.Config
	// sidecars are the Sidecars of each namespace: with a workloadSelector first, each
	// group oldest first.
	sidecars map[string][]config.Config
}

// drSet is the destination rules of one namespace for one host: the rules with a
// workloadSelector, oldest first, and the rules without, merged into one.
type drSet struct {
	selected []config.Config
	merged   *config.Config
	exportTo []string // union of the merged rules' exportTo; empty means everywhere
}

// BuildIndex computes the lookup indexes of a snapshot. Build calls it; call it once
// on a Snapshot filled by hand, before sharing it. Without it the lookups still work,
// computing what they need on every call.
func (s *Snapshot) BuildIndex() { s.index = newIndex(s) }

// idx returns the snapshot's index, or a fresh one for a snapshot made by hand.
func (s *Snapshot) idx() *index {
	if s.index != nil {
		return s.index
	}
	return newIndex(s)
}

func newIndex(s *Snapshot) *index {
	ix := &index{drs: map[string]map[string]*drSet{}, drHosts: map[string][]string{}, sidecars: map[string][]config.Config{}}
	for _, c := range byAge(s.List(config.DestinationRule)) {
		ix.addDestinationRule(s, c)
	}
	for ns, sets := range ix.drs {
		for h := range sets {
			ix.drHosts[ns] = append(ix.drHosts[ns], h)
		}
		sort.Strings(ix.drHosts[ns])
	}
	ix.vss = byAge(s.List(config.VirtualService))
	var withSel, without []config.Config
	for _, c := range byAge(s.List(config.Sidecar)) {
		if len(c.Spec.(*networking.Sidecar).GetWorkloadSelector().GetLabels()) > 0 {
			withSel = append(withSel, c)
		} else {
			without = append(without, c)
		}
	}
	for _, c := range append(withSel, without...) {
		ix.sidecars[c.Namespace] = append(ix.sidecars[c.Namespace], c)
	}
	return ix
}

// byAge sorts config oldest first (then by namespace and name), Istio's order when
// several objects compete.
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

// addDestinationRule files a rule under its namespace and resolved host. Rules without
// a workloadSelector for the same host are merged as Istio merges them: the oldest
// rule's traffic policy (or the first one set), and every subset whose name is new.
func (ix *index) addDestinationRule(s *Snapshot, c config.Config) {
	spec, ok := c.Spec.(*networking.DestinationRule)
	if !ok {
		return
	}
	host := s.ResolveHost(spec.GetHost(), c.Namespace)
	if ix.drs[c.Namespace] == nil {
		ix.drs[c.Namespace] = map[string]*drSet{}
	}
	set := ix.drs[c.Namespace][host]
	if set == nil {
		set = &drSet{}
		ix.drs[c.Namespace][host] = set
	}
	if len(spec.GetWorkloadSelector().GetMatchLabels()) > 0 {
		set.selected = append(set.selected, c)
		return
	}
	if set.merged == nil {
		cp := c
		set.merged, set.exportTo = &cp, spec.GetExportTo()
		return
	}
	set.merge(spec)
}

// merge adds a younger rule without a workloadSelector to the set's merged rule.
func (set *drSet) merge(spec *networking.DestinationRule) {
	merged := proto.Clone(set.merged.Spec).(*networking.DestinationRule)
	have := map[string]bool{}
	for _, sub := range merged.Subsets {
		have[sub.GetName()] = true
	}
	for _, sub := range spec.GetSubsets() {
		if !have[sub.GetName()] {
			merged.Subsets = append(merged.Subsets, sub)
		}
	}
	if merged.TrafficPolicy == nil {
		merged.TrafficPolicy = spec.GetTrafficPolicy()
	}
	cp := *set.merged
	cp.Spec = merged
	set.merged = &cp
	if len(set.exportTo) > 0 && len(spec.GetExportTo()) > 0 {
		set.exportTo = append(append([]string(nil), set.exportTo...), spec.GetExportTo()...)
	} else {
		set.exportTo = nil
	}
}

// DestinationRule returns the DestinationRule that applies to traffic from node to
// hostname, or nil, chosen as Istio does:
//
//  1. the rules in the node's namespace (unless exported away from it);
//  2. else the rules in the service's namespace exported to the node's namespace;
//  3. else the rules in the root namespace exported to the node's namespace.
//
// In the first namespace with a rule for the host (an exact host before the longest
// matching wildcard), a rule with a workloadSelector that matches the node's labels
// (and is in the node's namespace) wins, oldest first; else the rules without a selector,
// merged (the oldest rule's name, its traffic policy or the first one set, and the
// subsets of all, the first of each name). node must not be nil; the result must not
// be changed.
func (s *Snapshot) DestinationRule(node *Node, hostname string) *config.Config {
	ix := s.idx()
	svcNS := ""
	if svc := s.Services[hostname]; svc != nil {
		svcNS = svc.Namespace
	}
	for i, ns := range []string{node.Namespace, svcNS, s.Mesh.RootNamespace} {
		if ns == "" || (i > 0 && ns == node.Namespace) {
			continue
		}
		var visible []string
		for _, h := range ix.drHosts[ns] {
			if ExportedTo(ix.drs[ns][h].exportTo, ns, node.Namespace) {
				visible = append(visible, h)
			}
		}
		if host, ok := MostSpecificHost(hostname, visible); ok {
			return ix.drs[ns][host].pick(node)
		}
	}
	return nil
}

// pick chooses within a namespace's rules for a host.
func (set *drSet) pick(node *Node) *config.Config {
	for i := range set.selected {
		c := &set.selected[i]
		sel := c.Spec.(*networking.DestinationRule).GetWorkloadSelector().GetMatchLabels()
		if c.Namespace == node.Namespace && LabelsMatch(sel, node.Labels) {
			return c
		}
	}
	return set.merged
}

// Subset returns the named subset of a DestinationRule, or nil.
func Subset(dr *config.Config, name string) *networking.Subset {
	if dr == nil {
		return nil
	}
	for _, sub := range dr.Spec.(*networking.DestinationRule).GetSubsets() {
		if sub.GetName() == name {
			return sub
		}
	}
	return nil
}

// MeshGateway is the gateway name VirtualServices use for sidecars.
const MeshGateway = "mesh"

// GatewayRef qualifies a gateway reference written in a VirtualService in namespace:
// "mesh" stays; "name" and "./name" become "namespace/name"; Istio's legacy
// "name.namespace.svc.cluster.local" becomes "namespace/name".
func GatewayRef(namespace, ref string) string {
	if ref == MeshGateway {
		return ref
	}
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		if ns == "." {
			ns = namespace
		}
		return ns + "/" + name
	}
	if name, rest, ok := strings.Cut(ref, "."); ok {
		ns, _, _ := strings.Cut(rest, ".")
		return ns + "/" + name
	}
	return namespace + "/" + ref
}

// GatewayName returns a Gateway's "namespace/name", the form GatewayRef gives.
func GatewayName(gw *config.Config) string { return gw.Namespace + "/" + gw.Name }

// VirtualServices returns the VirtualServices bound to gateway (MeshGateway for sidecars,
// or a Gateway's "namespace/name") that are visible from the node's namespace, oldest
// first: Istio's order of precedence when several define the same host. A
// VirtualService without gateways is bound to the mesh.
func (s *Snapshot) VirtualServices(node *Node, gateway string) []config.Config {
	var out []config.Config
	for _, c := range s.idx().vss {
		if ConfigVisible(&c, node.Namespace) && bindsTo(&c, gateway) {
			out = append(out, c)
		}
	}
	return out
}

// VirtualServicesForHost returns those of VirtualServices(node, gateway) with a host
// (resolved, see VirtualServiceHosts) that matches hostname, oldest first. Sidecars use
// the first; gateways merge the routes of all, in order.
func (s *Snapshot) VirtualServicesForHost(node *Node, gateway, hostname string) []config.Config {
	var out []config.Config
	for _, c := range s.VirtualServices(node, gateway) {
		for _, h := range s.VirtualServiceHosts(&c) {
			if HostMatches(h, hostname) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// VirtualServiceHosts returns a VirtualService's hosts with short names resolved in
// its namespace.
func (s *Snapshot) VirtualServiceHosts(vs *config.Config) []string {
	hosts := vs.Spec.(*networking.VirtualService).GetHosts()
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = s.ResolveHost(h, vs.Namespace)
	}
	return out
}

// bindsTo reports whether a VirtualService is bound to gateway.
func bindsTo(vs *config.Config, gateway string) bool {
	gws := vs.Spec.(*networking.VirtualService).GetGateways()
	if len(gws) == 0 {
		return gateway == MeshGateway
	}
	for _, g := range gws {
		if GatewayRef(vs.Namespace, g) == gateway {
			return true
		}
	}
	return false
}

// Gateways returns the Gateways whose selector matches the node's labels, from every
// namespace, sorted by namespace then name. A Gateway without a selector applies to
// every gateway node, as in Istio. Sidecar nodes get none.
func (s *Snapshot) Gateways(node *Node) []config.Config {
	if node.Type != Router {
		return nil
	}
	var out []config.Config
	for _, c := range s.List(config.Gateway) {
		if LabelsMatch(c.Spec.(*networking.Gateway).GetSelector(), node.Labels) {
			out = append(out, c)
		}
	}
	return out
}
