package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
)

// Store is a config.Store held in memory. The zero value is not usable; use New.
type Store struct {
	validate bool

	emitMu sync.Mutex // serializes changes with their handler calls, so events arrive in order

	mu       sync.RWMutex
	byKey    map[string]config.Config
	version  int64
	handlers []func(config.Event)
}

var _ config.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithoutValidation makes Add and Update accept objects that config.Validate rejects.
func WithoutValidation() Option { return func(s *Store) { s.validate = false } }

// New returns an empty store. It is synced from the start.
func New(opts ...Option) *Store {
	s := &Store{validate: true, byKey: map[string]config.Config{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Add adds an object that is not in the store yet. It sets ResourceVersion, and
// CreationTime when zero.
func (s *Store) Add(c config.Config) error {
	return s.change(c, config.Added)
}

// Update replaces an object that is in the store. It sets ResourceVersion, and keeps the
// previous CreationTime when c's is zero.
func (s *Store) Update(c config.Config) error {
	return s.change(c, config.Updated)
}

// Delete removes an object.
func (s *Store) Delete(kind config.Kind, namespace, name string) error {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	k := (&config.Config{Kind: kind, Namespace: namespace, Name: name}).Key()
	s.mu.Lock()
	old, ok := s.byKey[k]
	if ok {
		delete(s.byKey, k)
	}
	handlers := slices.Clone(s.handlers)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete %s: not found", k)
	}
	emit(handlers, config.Event{Type: config.Deleted, Config: old})
	return nil
}

// change adds or updates an object and calls the handlers.
func (s *Store) change(c config.Config, typ config.EventType) error {
	if s.validate {
		if err := config.Validate(&c); err != nil {
			return fmt.Errorf("%s: %w", verb(typ), err)
		}
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	k := c.Key()
	s.mu.Lock()
	old, exists := s.byKey[k]
	switch {
	case typ == config.Added && exists:
		s.mu.Unlock()
		return fmt.Errorf("add %s: already exists", k)
	case typ == config.Updated && !exists:
		s.mu.Unlock()
		return fmt.Errorf("update %s: not found", k)
	}
	if c.CreationTime.IsZero() {
		c.CreationTime = old.CreationTime
		if !exists {
			c.CreationTime = time.Now()
		}
	}
	s.version++
	c.ResourceVersion = strconv.FormatInt(s.version, 10)
	s.byKey[k] = c
	handlers := slices.Clone(s.handlers)
	s.mu.Unlock()
	emit(handlers, config.Event{Type: typ, Config: c})
	return nil
}

func verb(typ config.EventType) string {
	if typ == config.Added {
		return "add"
	}
	return "update"
}

func emit(handlers []func(config.Event), ev config.Event) {
	for _, h := range handlers {
		h(ev)
	}
}

// List returns the objects of a kind, sorted by namespace then name.
func (s *Store) List(kind config.Kind) []config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []config.Config
	for _, c := range s.byKey {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Subscribe adds a handler called after every change, from the goroutine that made it.
// Handlers must not block.
func (s *Store) Subscribe(handler func(config.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = append(s.handlers, handler)
}

// Run does nothing until ctx ends: the store has nothing to watch.
func (s *Store) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// HasSynced is always true.
func (s *Store) HasSynced() bool { return true }
