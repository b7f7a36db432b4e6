package kube

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"istio.io/client-go/pkg/clientset/versioned"
	"istio.io/client-go/pkg/informers/externalversions"
	"k8s.io/client-go/tools/cache"

	"github.com/weftmesh/weft/internal/control/config"
)

// Store is a config.Store over the Istio CRDs of a cluster. Objects that fail
// config.Validate are left out (an update that makes a served object invalid deletes
// it from the store) and reported by Errors; StatusWriter writes them back to the
// objects. Kinds whose CRD the API server does not serve are skipped, and looked for
// again every recheck period.
type Store struct {
	client  versioned.Interface
	log     *slog.Logger
	recheck time.Duration

	emitMu sync.Mutex // serializes changes with their handler calls, so events arrive in order

	mu        sync.RWMutex
	byKey     map[string]config.Config
	lists     map[config.Kind][]config.Config // sorted; a kind is absent when stale
	rejected  map[string]*config.ValidationError
	informers map[config.Kind]cache.SharedIndexInformer
	handlers  []func(config.Event)
	seen      map[string]string        // key -> resource version upsert last took
	watchers  map[int]func(key string) // told of every object change, for status
	nextWatch int

	synced atomic.Bool
}

var _ config.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger for rejected objects and missing CRDs (discarded unless
// set).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithCRDRecheck sets how often the store looks again for CRDs the API server did not
// serve (30 s unless set).
func WithCRDRecheck(d time.Duration) Option { return func(s *Store) { s.recheck = d } }

// New returns a store over the cluster client. Nothing is read until Run.
func New(client versioned.Interface, opts ...Option) *Store {
	s := &Store{client: client, log: slog.New(slog.DiscardHandler), recheck: 30 * time.Second,
		byKey: map[string]config.Config{}, lists: map[config.Kind][]config.Config{},
		rejected: map[string]*config.ValidationError{}, seen: map[string]string{},
		watchers: map[int]func(string){}, informers: map[config.Kind]cache.SharedIndexInformer{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// List returns the valid objects of a kind, sorted by namespace then name.
func (s *Store) List(kind config.Kind) []config.Config {
	s.mu.RLock()
	l, ok := s.lists[kind]
	s.mu.RUnlock()
	if ok {
		return slices.Clone(l)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.lists[kind]; ok {
		return slices.Clone(l)
	}
	for _, c := range s.byKey {
		if c.Kind == kind {
			l = append(l, c)
		}
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].Namespace != l[j].Namespace {
			return l[i].Namespace < l[j].Namespace
		}
		return l[i].Name < l[j].Name
	})
	s.lists[kind] = l
	return slices.Clone(l)
}

// Subscribe adds a handler called after every change, in order, from an informer's
// goroutine. Handlers must not block.
func (s *Store) Subscribe(handler func(config.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = append(s.handlers, handler)
}

// HasSynced reports whether the informers of every served kind have listed the
// cluster once.
func (s *Store) HasSynced() bool { return s.synced.Load() }

// Errors returns the objects currently rejected, sorted by kind, namespace and name.
func (s *Store) Errors() []*config.ValidationError {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.rejected))
	for k := range s.rejected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*config.ValidationError, len(keys))
	for i, k := range keys {
		out[i] = s.rejected[k]
	}
	return out
}

// Run discovers which Istio CRDs the API server serves, starts their informers, and
// keeps the store current until ctx ends. It retries discovery until it succeeds, and
// looks for missing CRDs every recheck period. It returns nil when ctx ends.
func (s *Store) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	factory := externalversions.NewSharedInformerFactory(s.client, 0)
	defer factory.Shutdown() // after cancel: waits for the informers' goroutines
	defer cancel()
	served, ok := s.discoverUntilServed(ctx)
	if !ok {
		return nil
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.start(ctx, factory, served)...) {
		return nil
	}
	for _, ki := range s.missing() {
		s.log.Warn("istio CRD not served; kind skipped until it is", "kind", ki.kind, "version", ki.groupVersion)
	}
	s.synced.Store(true)
	tick := time.NewTicker(s.recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if missing := s.missing(); len(missing) > 0 {
				if served, err := s.discover(missing); err == nil && len(served) > 0 {
					s.start(ctx, factory, served)
				}
			}
		}
	}
}

// discoverUntilServed retries discovery every few seconds until the API server
// answers; false if ctx ended first.
func (s *Store) discoverUntilServed(ctx context.Context) ([]kindInfo, bool) {
	delay := 500 * time.Millisecond
	for {
		served, err := s.discover(kinds)
		if err == nil {
			return served, true
		}
		s.log.Warn("istio CRD discovery failed; retrying", "error", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// start makes and starts the informers of the kinds, and returns their HasSynced.
func (s *Store) start(ctx context.Context, factory externalversions.SharedInformerFactory, served []kindInfo) []cache.InformerSynced {
	var synced []cache.InformerSynced
	for _, ki := range served {
		inf := ki.informer(factory)
		_ = inf.SetTransform(stripManagedFields)
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: s.upsert, UpdateFunc: func(_, obj any) { s.upsert(obj) }, DeleteFunc: s.remove,
		}); err != nil {
			s.log.Error("istio informer", "kind", ki.kind, "error", err)
			continue
		}
		s.mu.Lock()
		s.informers[ki.kind] = inf
		s.mu.Unlock()
		synced = append(synced, inf.HasSynced)
		s.log.Info("watching istio config", "kind", ki.kind, "version", ki.groupVersion)
	}
	factory.Start(ctx.Done())
	return synced
}

// missing returns the kinds without an informer.
func (s *Store) missing() []kindInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []kindInfo
	for _, ki := range kinds {
		if _, ok := s.informers[ki.kind]; !ok {
			out = append(out, ki)
		}
	}
	return out
}

// splitKey splits "Kind/namespace/name".
func splitKey(key string) (kind config.Kind, nsName string) {
	k, rest, _ := strings.Cut(key, "/")
	return config.Kind(k), rest
}
