package stats

import (
	"slices"
	"sync"
	"sync/atomic"
)

// identity is what every stat knows about its name. The tag-extracted name and the
// tags are computed once, when the stat is created, so that scrapes never run the
// tag extractors.
type identity struct {
	name    string
	tagName string // name with the tag values removed, e.g. "cluster.upstream_rq_total"
	tags    []Tag
}

func newIdentity(name string, t *Tagger) identity {
	if t == nil {
		return identity{name: name, tagName: name}
	}
	tagName, tags := t.Extract(name)
	return identity{name: name, tagName: tagName, tags: tags}
}

// tagExtractedName returns the name without tag values; stats built outside a
// store have no tags, so their name is returned unchanged.
func (id *identity) tagExtractedName() string {
	if id.tagName == "" {
		return id.name
	}
	return id.tagName
}

// Counter is a monotonically increasing count. Methods are safe for concurrent use.
type Counter struct {
	v    atomic.Uint64
	used atomic.Bool
	identity
}

// Name returns the counter's full name.
func (c *Counter) Name() string { return c.name }

// TagExtractedName returns the name with Envoy's tag values removed, such as
// "cluster.upstream_rq_total"; Prometheus output uses it as the metric name.
func (c *Counter) TagExtractedName() string { return c.tagExtractedName() }

// Tags returns a copy of the tags extracted from the counter's name.
func (c *Counter) Tags() []Tag { return slices.Clone(c.tags) }

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) {
	c.v.Add(n)
	if !c.used.Load() {
		c.used.Store(true)
	}
}

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Used reports whether the counter was ever incremented.
func (c *Counter) Used() bool { return c.used.Load() }

// Gauge is a value that goes up and down. Methods are safe for concurrent use.
type Gauge struct {
	v    atomic.Int64
	used atomic.Bool
	identity
}

// Name returns the gauge's full name.
func (g *Gauge) Name() string { return g.name }

// TagExtractedName returns the name with Envoy's tag values removed.
func (g *Gauge) TagExtractedName() string { return g.tagExtractedName() }

// Tags returns a copy of the tags extracted from the gauge's name.
func (g *Gauge) Tags() []Tag { return slices.Clone(g.tags) }

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// Add adds n, which may be negative.
func (g *Gauge) Add(n int64) {
	g.v.Add(n)
	g.markUsed()
}

// Set sets the value.
func (g *Gauge) Set(n int64) {
	g.v.Store(n)
	g.markUsed()
}

func (g *Gauge) markUsed() {
	if !g.used.Load() {
		g.used.Store(true)
	}
}

// Value returns the current value.
func (g *Gauge) Value() int64 { return g.v.Load() }

// Used reports whether the gauge was ever set.
func (g *Gauge) Used() bool { return g.used.Load() }

// TextReadout is a string-valued stat, such as cluster_manager.cds.version_text.
type TextReadout struct {
	mu   sync.Mutex
	v    string
	used atomic.Bool
	identity
}

// Name returns the readout's full name.
func (t *TextReadout) Name() string { return t.name }

// TagExtractedName returns the name with Envoy's tag values removed.
func (t *TextReadout) TagExtractedName() string { return t.tagExtractedName() }

// Tags returns a copy of the tags extracted from the readout's name.
func (t *TextReadout) Tags() []Tag { return slices.Clone(t.tags) }

// Set sets the value.
func (t *TextReadout) Set(v string) {
	t.mu.Lock()
	t.v = v
	t.mu.Unlock()
	t.used.Store(true)
}

// Value returns the value.
func (t *TextReadout) Value() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.v
}

// Used reports whether the readout was ever set.
func (t *TextReadout) Used() bool { return t.used.Load() }
