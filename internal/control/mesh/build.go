package mesh

import (
	"sort"

	"github.com/weftmesh/weft/internal/control/config"
)

// ServiceSource is the part of a service registry that Build reads;
// registry.Registry satisfies it. (This package cannot import registry, which imports it.)
type ServiceSource interface {
	// Services returns every service, sorted by hostname.
	Services() []*Service
	// Endpoints returns the endpoints of a service port.
	Endpoints(hostname string, port uint32) []*Endpoint
}

// Build makes a Snapshot of the stores' config and the registries' services at this
// moment. Config lists are merged by kind (an object in several stores is taken from
// the first) and sorted by namespace then name. Services are merged by hostname as in
// Istio: the oldest definition (CreationTime; then the earlier registry; then
// namespace) wins. The endpoints of a host are collected from every registry that
// defines the host in the winning definition's namespace, for the winner's ports, in
// registry order. Build reads the sources once and keeps what they return: registries
// must not change returned services or endpoints afterwards.
//
// Build is generic so that a []registry.Registry can be passed as it is.
func Build[S ServiceSource](version string, stores []config.Store, regs []S, mc MeshConfig) *Snapshot {
	snap := &Snapshot{Version: version, Mesh: mc, Config: buildConfig(stores)}
	type definition struct {
		svc *Service
		reg int
	}
	winners := map[string]definition{}
	defs := make([]map[string]*Service, len(regs))
	for i, r := range regs {
		defs[i] = map[string]*Service{}
		for _, svc := range r.Services() {
			defs[i][svc.Hostname] = svc
			if w, ok := winners[svc.Hostname]; !ok || replaces(svc, i, w.svc, w.reg) {
				winners[svc.Hostname] = definition{svc, i}
			}
		}
	}
	snap.Services = make(map[string]*Service, len(winners))
	snap.Endpoints = make(map[string]map[uint32][]*Endpoint, len(winners))
	for host, w := range winners {
		snap.Services[host] = w.svc
		snap.ServiceList = append(snap.ServiceList, w.svc)
		byPort := map[uint32][]*Endpoint{}
		for _, p := range w.svc.Ports {
			for i, r := range regs {
				if d, ok := defs[i][host]; ok && d.Namespace == w.svc.Namespace {
					byPort[p.Number] = append(byPort[p.Number], r.Endpoints(host, p.Number)...)
				}
			}
		}
		snap.Endpoints[host] = byPort
	}
	sort.Slice(snap.ServiceList, func(i, j int) bool { return snap.ServiceList[i].Hostname < snap.ServiceList[j].Hostname })
	snap.BuildIndex()
	return snap
}

// replaces reports whether service a, from registry ra, wins over b, from registry rb
// (rb <= ra): it is older, or as old, from the same registry and in an earlier namespace.
func replaces(a *Service, ra int, b *Service, rb int) bool {
	if !a.CreationTime.Equal(b.CreationTime) {
		return a.CreationTime.Before(b.CreationTime)
	}
	return ra == rb && a.Namespace < b.Namespace
}

// buildConfig merges the stores' config by kind.
func buildConfig(stores []config.Store) map[config.Kind][]config.Config {
	out := map[config.Kind][]config.Config{}
	for _, kind := range config.Kinds() {
		seen := map[string]bool{}
		var list []config.Config
		for _, st := range stores {
			for _, c := range st.List(kind) {
				if k := c.Key(); !seen[k] {
					seen[k] = true
					list = append(list, c)
				}
			}
		}
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Namespace != list[j].Namespace {
				return list[i].Namespace < list[j].Namespace
			}
			return list[i].Name < list[j].Name
		})
		if len(list) > 0 {
			out[kind] = list
		}
	}
	return out
}
