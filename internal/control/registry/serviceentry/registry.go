package serviceentry

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// Registry serves the services and endpoints of the ServiceEntries and WorkloadEntries
// in a config store. It follows the store from Run. WorkloadGroups are templates for
// workloads that register themselves; they add no endpoints here.
type Registry struct {
	store       config.Store
	trustDomain string
	log         *slog.Logger
	changed     chan struct{} // a pending rebuild; capacity 1

	mu       sync.RWMutex
	st       *state
	handlers []func(registry.Event)

	synced atomic.Bool
}

var _ registry.Registry = (*Registry)(nil)

// Option configures a Registry.
type Option func(*Registry)

// WithTrustDomain sets the trust domain of workload identities ("cluster.local" unless
// set): a WorkloadEntry's serviceAccount sa in namespace ns becomes
// spiffe://<trust domain>/ns/<ns>/sa/<sa>.
func WithTrustDomain(td string) Option { return func(r *Registry) { r.trustDomain = td } }

// WithLogger sets the logger (discarded unless set).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// New returns a registry over store. It subscribes to the store at once; nothing is
// served until Run has read the store.
func New(store config.Store, opts ...Option) *Registry {
	r := &Registry{store: store, trustDomain: "cluster.local", log: slog.New(slog.DiscardHandler),
		changed: make(chan struct{}, 1), st: &state{byHost: map[string]*mesh.Service{}}}
	for _, o := range opts {
		o(r)
	}
	store.Subscribe(func(ev config.Event) {
		if Consumes(ev.Config.Kind) {
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}
	})
	return r
}

// ConfigStore returns the store the registry reads.
func (r *Registry) ConfigStore() config.Store { return r.store }

// Consumes reports whether objects of kind reach the mesh through the registry (its
// events, not the store's, say what their changes change).
func Consumes(kind config.Kind) bool {
	switch kind {
	case config.ServiceEntry, config.WorkloadEntry, config.WorkloadGroup:
		return true
	}
	return false
}

// Name returns "ServiceEntry".
func (r *Registry) Name() string { return "ServiceEntry" }

// Services returns every service, sorted by hostname. Callers must not change them.
func (r *Registry) Services() []*mesh.Service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.st.services)
}

// Endpoints returns the endpoints of a service port, in a stable order: inline endpoints
// as written, WorkloadEntries by namespace and name. Weight is at least 1, Healthy is
// always true (health from WorkloadEntry status is not available from files). Callers
// must not change them.
func (r *Registry) Endpoints(hostname string, port uint32) []*mesh.Endpoint {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.endpoints[hostname][port]
}

// Subscribe adds a handler called after every change, from Run's goroutine. Handlers
// must not block.
func (r *Registry) Subscribe(handler func(registry.Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers = append(r.handlers, handler)
}

// HasSynced reports whether the store has been read once.
func (r *Registry) HasSynced() bool { return r.synced.Load() }

// Run waits for the store to sync, reads it, and rebuilds after every change to
// ServiceEntries, WorkloadEntries or WorkloadGroups until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	if !r.waitForStore(ctx) {
		return nil
	}
	r.rebuild()
	r.synced.Store(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.changed:
			r.rebuild()
		}
	}
}

// waitForStore waits until the store has synced; false if ctx ended first.
func (r *Registry) waitForStore(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !r.store.HasSynced() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		case <-r.changed:
		}
	}
	return true
}

// rebuild converts the store's current content, swaps it in and tells the handlers
// what changed.
func (r *Registry) rebuild() {
	next := build(r.store.List(config.ServiceEntry), r.store.List(config.WorkloadEntry), r.trustDomain)
	r.mu.Lock()
	prev := r.st
	r.st = next
	handlers := slices.Clone(r.handlers)
	r.mu.Unlock()
	ev, ok := diff(prev, next)
	if !ok {
		return
	}
	r.log.Debug("service entry registry changed", "kind", ev.Kind, "hosts", len(ev.Hosts))
	for _, h := range handlers {
		h(ev)
	}
}

// diff compares two states. A host whose service was added, removed or changed makes a
// ServicesChanged event naming every affected host; when only endpoints changed, the
// event is EndpointsChanged with those hosts. Hosts are sorted.
func diff(prev, next *state) (registry.Event, bool) {
	hosts := map[string]bool{}
	for h := range prev.byHost {
		hosts[h] = true
	}
	for h := range next.byHost {
		hosts[h] = true
	}
	var services, endpoints []string
	for h := range hosts {
		ps, ns := prev.byHost[h], next.byHost[h]
		switch {
		case ps == nil || ns == nil || !reflect.DeepEqual(*ps, *ns):
			services = append(services, h)
		case !reflect.DeepEqual(prev.endpoints[h], next.endpoints[h]):
			endpoints = append(endpoints, h)
		}
	}
	switch {
	case len(services) > 0:
		all := append(services, endpoints...)
		sort.Strings(all)
		return registry.Event{Kind: registry.ServicesChanged, Hosts: all}, true
	case len(endpoints) > 0:
		sort.Strings(endpoints)
		return registry.Event{Kind: registry.EndpointsChanged, Hosts: endpoints}, true
	}
	return registry.Event{}, false
}
