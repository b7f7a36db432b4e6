package memory

import (
	"context"
	"reflect"
	"sort"
	"sync"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// Registry holds services and endpoints set programmatically. It is safe for
// concurrent use.
type Registry struct {
	name string

	mu        sync.RWMutex
	services  map[string]*mesh.Service
	endpoints map[string]map[uint32][]*mesh.Endpoint
	handlers  []func(registry.Event)
}

var _ registry.Registry = (*Registry)(nil)

// New returns an empty registry called name.
func New(name string) *Registry {
	return &Registry{name: name, services: map[string]*mesh.Service{}, endpoints: map[string]map[uint32][]*mesh.Endpoint{}}
}

// Name returns the registry's name.
func (r *Registry) Name() string { return r.name }

// Services returns every service, sorted by hostname.
func (r *Registry) Services() []*mesh.Service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*mesh.Service, 0, len(r.services))
	for _, s := range r.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out
}

// Endpoints returns the endpoints of a service port.
func (r *Registry) Endpoints(host string, port uint32) []*mesh.Endpoint {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.endpoints[host][port]
}

// Subscribe adds a change handler.
func (r *Registry) Subscribe(h func(registry.Event)) {
	r.mu.Lock()
	r.handlers = append(r.handlers, h)
	r.mu.Unlock()
}

// Run does nothing but wait: the owner drives the registry.
func (r *Registry) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// HasSynced is always true.
func (r *Registry) HasSynced() bool { return true }

// SetService adds or replaces a service.
func (r *Registry) SetService(s *mesh.Service) {
	r.mu.Lock()
	old := r.services[s.Hostname]
	r.services[s.Hostname] = s
	r.mu.Unlock()
	if old == nil || !reflect.DeepEqual(old, s) {
		r.notify(registry.Event{Kind: registry.ServicesChanged, Hosts: []string{s.Hostname}})
	}
}

// DeleteService removes a service and its endpoints.
func (r *Registry) DeleteService(host string) {
	r.mu.Lock()
	_, ok := r.services[host]
	delete(r.services, host)
	delete(r.endpoints, host)
	r.mu.Unlock()
	if ok {
		r.notify(registry.Event{Kind: registry.ServicesChanged, Hosts: []string{host}})
	}
}

// SetEndpoints replaces the endpoints of a service port.
func (r *Registry) SetEndpoints(host string, port uint32, eps []*mesh.Endpoint) {
	r.mu.Lock()
	old := r.endpoints[host][port]
	if r.endpoints[host] == nil {
		r.endpoints[host] = map[uint32][]*mesh.Endpoint{}
	}
	r.endpoints[host][port] = eps
	r.mu.Unlock()
	if !reflect.DeepEqual(old, eps) {
		r.notify(registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{host}})
	}
}

func (r *Registry) notify(ev registry.Event) {
	r.mu.RLock()
	hs := append([]func(registry.Event){}, r.handlers...)
	r.mu.RUnlock()
	for _, h := range hs {
		h(ev)
	}
}
