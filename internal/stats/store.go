package stats

import (
	"sort"
	"strings"
	"sync"
)

// Store owns every stat of one proxy (or control plane). Lookups take a lock and are
// meant for config time; the stats they return are safe for concurrent use.
type Store struct {
	tagger *Tagger

	mu         sync.RWMutex
	counters   map[string]*Counter
	gauges     map[string]*Gauge
	histograms map[string]*Histogram
	texts      map[string]*TextReadout
}

// NewStore returns an empty store that extracts tags with Envoy's default tag
// extractors.
func NewStore() *Store { return NewStoreWithTagger(DefaultTagger()) }

// NewStoreWithTagger returns an empty store that extracts tags with t, for a
// bootstrap with its own stats_config. A nil t extracts no tags.
func NewStoreWithTagger(t *Tagger) *Store {
	return &Store{
		tagger:     t,
		counters:   make(map[string]*Counter),
		gauges:     make(map[string]*Gauge),
		histograms: make(map[string]*Histogram),
		texts:      make(map[string]*TextReadout),
	}
}

// Counter returns the counter called name, creating it on first use.
func (s *Store) Counter(name string) *Counter {
	return lookup(s, s.counters, name, func(id identity) *Counter { return &Counter{identity: id} })
}

// Gauge returns the gauge called name, creating it on first use.
func (s *Store) Gauge(name string) *Gauge {
	return lookup(s, s.gauges, name, func(id identity) *Gauge { return &Gauge{identity: id} })
}

// Histogram returns the histogram called name, creating it with unit on first use.
func (s *Store) Histogram(name string, unit Unit) *Histogram {
	return lookup(s, s.histograms, name, func(id identity) *Histogram { return newHistogram(id, unit) })
}

// TextReadout returns the text readout called name, creating it on first use.
func (s *Store) TextReadout(name string) *TextReadout {
	return lookup(s, s.texts, name, func(id identity) *TextReadout { return &TextReadout{identity: id} })
}

// lookup returns m[name], creating it on a miss. Tags are extracted before the
// write lock is taken, so that config-time creation does not stall readers.
func lookup[T any](s *Store, m map[string]*T, name string, mk func(identity) *T) *T {
	s.mu.RLock()
	v, ok := m[name]
	s.mu.RUnlock()
	if ok {
		return v
	}
	fresh := mk(newIdentity(name, s.tagger))
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := m[name]; ok {
		return v
	}
	m[name] = fresh
	return fresh
}

// Scope returns a view of the store that prefixes every name with prefix. A prefix
// normally ends in ".".
func (s *Store) Scope(prefix string) Scope { return Scope{store: s, prefix: prefix} }

// ResetCounters sets every counter to zero (admin /reset_counters).
func (s *Store) ResetCounters() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.counters {
		c.v.Store(0)
	}
}

// Flush closes the current histogram interval of every histogram, so that interval
// quantiles and buckets describe the samples recorded since the previous Flush. The
// proxy calls it once per stats flush interval (Envoy's stats_flush_interval, 5s by
// default). It is safe to call concurrently with Record and with the writers.
func (s *Store) Flush() {
	s.mu.RLock()
	hs := make([]*Histogram, 0, len(s.histograms))
	for _, h := range s.histograms {
		hs = append(hs, h)
	}
	s.mu.RUnlock()
	for _, h := range hs {
		h.Flush()
	}
}

// DeletePrefix removes every stat whose name starts with prefix, so that the memory of
// a removed cluster or listener is returned. Stats already handed out keep working but
// are no longer listed.
func (s *Store) DeletePrefix(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	deletePrefix(s.counters, prefix)
	deletePrefix(s.gauges, prefix)
	deletePrefix(s.histograms, prefix)
	deletePrefix(s.texts, prefix)
}

func deletePrefix[T any](m map[string]*T, prefix string) {
	for name := range m {
		if strings.HasPrefix(name, prefix) {
			delete(m, name)
		}
	}
}

// Snapshot is a point-in-time list of every stat, each kind sorted by name.
type Snapshot struct {
	Counters   []*Counter
	Gauges     []*Gauge
	Histograms []*Histogram
	Texts      []*TextReadout
}

// Snapshot lists every stat in the store.
func (s *Store) Snapshot() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Snapshot{
		Counters:   sorted(s.counters),
		Gauges:     sorted(s.gauges),
		Histograms: sorted(s.histograms),
		Texts:      sorted(s.texts),
	}
}

func sorted[T any](m map[string]*T) []*T {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*T, len(names))
	for i, n := range names {
		out[i] = m[n]
	}
	return out
}

// Scope is a name prefix over a store. The zero Scope is not usable; get one from
// Store.Scope.
type Scope struct {
	store  *Store
	prefix string
}

// Store returns the store behind the scope.
func (sc Scope) Store() *Store { return sc.store }

// Prefix returns the scope's name prefix.
func (sc Scope) Prefix() string { return sc.prefix }

// Scope returns a nested scope.
func (sc Scope) Scope(prefix string) Scope {
	return Scope{store: sc.store, prefix: sc.prefix + prefix}
}

// Counter returns the counter prefix+name.
func (sc Scope) Counter(name string) *Counter { return sc.store.Counter(sc.prefix + name) }

// Gauge returns the gauge prefix+name.
func (sc Scope) Gauge(name string) *Gauge { return sc.store.Gauge(sc.prefix + name) }

// Histogram returns the histogram prefix+name.
func (sc Scope) Histogram(name string, unit Unit) *Histogram {
	return sc.store.Histogram(sc.prefix+name, unit)
}

// TextReadout returns the text readout prefix+name.
func (sc Scope) TextReadout(name string) *TextReadout {
	return sc.store.TextReadout(sc.prefix + name)
}
