package kube

import (
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// state is the registry's content at one moment. It is never changed once swapped in;
// an update copies the maps and replaces the hosts it rebuilt.
type state struct {
	services  []*mesh.Service // sorted by hostname
	byHost    map[string]*mesh.Service
	endpoints map[string]map[uint32][]*mesh.Endpoint // by hostname, then service port
}

func emptyState() *state {
	return &state{byHost: map[string]*mesh.Service{}, endpoints: map[string]map[uint32][]*mesh.Endpoint{}}
}

// update takes the queued changes, rebuilds the services they touch, swaps the new
// state in and tells the handlers what changed.
func (r *Registry) update() {
	keys := r.affected(r.queue.take())
	if len(keys) == 0 {
		return
	}
	r.mu.RLock()
	prev := r.st
	r.mu.RUnlock()
	next := &state{services: prev.services, byHost: maps.Clone(prev.byHost), endpoints: maps.Clone(prev.endpoints)}
	var svcHosts, epHosts []string
	for _, key := range sortedKeys(keys) {
		switch r.rebuild(key, prev, next) {
		case registry.ServicesChanged:
			svcHosts = append(svcHosts, hostOfKey(key, r.domain))
		case registry.EndpointsChanged:
			epHosts = append(epHosts, hostOfKey(key, r.domain))
		}
	}
	if len(svcHosts) == 0 && len(epHosts) == 0 {
		return
	}
	if len(svcHosts) > 0 {
		next.services = slices.Collect(maps.Values(next.byHost))
		sort.Slice(next.services, func(i, j int) bool { return next.services[i].Hostname < next.services[j].Hostname })
	}
	r.mu.Lock()
	r.st = next
	handlers := slices.Clone(r.handlers)
	r.mu.Unlock()
	ev := registry.Event{Kind: registry.EndpointsChanged, Hosts: epHosts}
	if len(svcHosts) > 0 {
		ev = registry.Event{Kind: registry.ServicesChanged, Hosts: append(svcHosts, epHosts...)}
		sort.Strings(ev.Hosts)
	}
	r.log.Debug("kubernetes registry changed", "kind", ev.Kind, "hosts", len(ev.Hosts))
	for _, h := range handlers {
		h(ev)
	}
}

// noChange is rebuild's answer when nothing changed.
const noChange registry.EventKind = -1

// rebuild converts one service ("namespace/name") from the informers into next, and
// says what changed compared with prev.
func (r *Registry) rebuild(key string, prev, next *state) registry.EventKind {
	ns, name, _ := strings.Cut(key, "/")
	host := hostname(name, ns, r.domain)
	svc, err := r.in.services.Services(ns).Get(name)
	if err != nil {
		r.refs.set(key, refs{})
		if _, ok := prev.byHost[host]; !ok {
			return noChange
		}
		delete(next.byHost, host)
		delete(next.endpoints, host)
		return registry.ServicesChanged
	}
	ms := convertService(svc, r.domain)
	eps, rf := r.endpointsOf(svc, ms)
	r.refs.set(key, rf)
	kind := noChange
	switch ps := prev.byHost[host]; {
	case ps == nil || !reflect.DeepEqual(*ps, *ms):
		kind = registry.ServicesChanged
	case !reflect.DeepEqual(prev.endpoints[host], eps):
		kind = registry.EndpointsChanged
		ms = ps // the service is the same: keep the old value
	default:
		return noChange
	}
	next.byHost[host] = ms
	next.endpoints[host] = eps
	return kind
}

// affected returns the keys of the services a batch of changes may touch.
func (r *Registry) affected(w work) map[string]bool {
	out := map[string]bool{}
	if w.all {
		svcs, _ := r.in.services.List(labels.Everything())
		for _, s := range svcs {
			out[s.Namespace+"/"+s.Name] = true
		}
		r.mu.RLock()
		for _, s := range r.st.services {
			out[s.Namespace+"/"+nameOfHost(s.Hostname)] = true
		}
		r.mu.RUnlock()
		return out
	}
	maps.Copy(out, w.services)
	r.refs.servicesOf(out, w.pods, w.nodes)
	for ns := range w.namespaces {
		svcs, _ := r.in.services.Services(ns).List(labels.Everything())
		for _, s := range svcs {
			out[s.Namespace+"/"+s.Name] = true
		}
	}
	return out
}

// hostOfKey returns the hostname of a service key.
func hostOfKey(key, domain string) string {
	ns, name, _ := strings.Cut(key, "/")
	return hostname(name, ns, domain)
}

// nameOfHost returns the service name in a hostname: Kubernetes service names have
// no dots.
func nameOfHost(host string) string {
	name, _, _ := strings.Cut(host, ".")
	return name
}
