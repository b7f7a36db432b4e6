package kube

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// Registry serves the services and endpoints of a Kubernetes cluster. It is safe for
// concurrent use; Run feeds it from the API server.
type Registry struct {
	client      kubernetes.Interface
	domain      string
	trustDomain string
	log         *slog.Logger

	queue *queue
	// in is the informers' view; set by Run before the informers start.
	in *informerSet
	// refs is which pods and nodes each service's endpoints came from; only Run's
	// goroutine touches it.
	refs *refIndex

	mu       sync.RWMutex
	st       *state
	handlers []func(registry.Event)

	synced atomic.Bool
}

var _ registry.Registry = (*Registry)(nil)

// Option configures a Registry.
type Option func(*Registry)

// WithDomainSuffix sets the cluster's DNS suffix ("cluster.local" unless set): Service
// reviews in namespace default is reviews.default.svc.<suffix>.
func WithDomainSuffix(d string) Option { return func(r *Registry) { r.domain = d } }

// WithTrustDomain sets the trust domain of workload identities ("cluster.local" unless
// set): a pod running as service account sa in namespace ns is
// spiffe://<trust domain>/ns/<ns>/sa/<sa>.
func WithTrustDomain(td string) Option { return func(r *Registry) { r.trustDomain = td } }

// WithLogger sets the logger (discarded unless set).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// New returns a registry over a cluster. Nothing is read until Run.
func New(client kubernetes.Interface, opts ...Option) *Registry {
	r := &Registry{client: client, domain: "cluster.local", trustDomain: "cluster.local",
		log: slog.New(slog.DiscardHandler), queue: newQueue(), refs: newRefIndex(), st: emptyState()}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Name returns "Kubernetes".
func (r *Registry) Name() string { return "Kubernetes" }

// Services returns every service, sorted by hostname. Callers must not change them.
func (r *Registry) Services() []*mesh.Service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.st.services)
}

// Endpoints returns the endpoints of a service port (the service port number), sorted
// by address and port; not-ready endpoints are there with Healthy false. Callers must
// not change them.
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

// HasSynced reports whether the informers have listed the cluster and the registry
// has been built from it once.
func (r *Registry) HasSynced() bool { return r.synced.Load() }

// Run starts the informers, waits until they have listed the cluster, builds the
// registry, and then applies changes until ctx ends. It returns nil when ctx ends,
// and an error only when it cannot start.
func (r *Registry) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactory(r.client, 0)
	defer factory.Shutdown() // after cancel: waits for the informers' goroutines
	defer cancel()
	in, err := newInformerSet(factory, r.queue)
	if err != nil {
		return fmt.Errorf("kubernetes registry: %w", err)
	}
	r.in = in
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), in.hasSynced...) {
		return nil // ctx ended
	}
	r.queue.markAll()
	r.update()
	r.synced.Store(true)
	r.log.Info("kubernetes registry synced", "services", len(r.Services()))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.queue.signal:
			r.update()
		}
	}
}
