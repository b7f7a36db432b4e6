package route

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Provider holds the current table of one route configuration delivered by RDS. The
// connection managers that name it read it per request; the xDS client replaces it.
type Provider struct {
	name  string
	table atomic.Pointer[Table]
	// ready is closed when the first table arrives.
	ready     chan struct{}
	readyOnce sync.Once
}

// Name returns the route configuration's name.
func (p *Provider) Name() string { return p.name }

// Table returns the current table, or nil before the first one arrived.
func (p *Provider) Table() *Table { return p.table.Load() }

// Set installs a new table.
func (p *Provider) Set(t *Table) {
	p.table.Store(t)
	p.readyOnce.Do(func() { close(p.ready) })
}

// Ready is closed once a table has arrived (listener warming waits for it).
func (p *Provider) Ready() <-chan struct{} { return p.ready }

// Providers is the set of RDS route configurations a proxy subscribes to, by name.
type Providers struct {
	mu sync.Mutex
	m  map[string]*Provider
}

// NewProviders returns an empty set.
func NewProviders() *Providers { return &Providers{m: map[string]*Provider{}} }

// Get returns the provider for name, creating it (empty) on first use.
func (ps *Providers) Get(name string) *Provider {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[name]
	if p == nil {
		p = &Provider{name: name, ready: make(chan struct{})}
		ps.m[name] = p
	}
	return p
}

// Names lists the route configurations asked for, sorted.
func (ps *Providers) Names() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]string, 0, len(ps.m))
	for n := range ps.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All returns every provider, by name.
func (ps *Providers) All() map[string]*Provider {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]*Provider, len(ps.m))
	for n, p := range ps.m {
		out[n] = p
	}
	return out
}
