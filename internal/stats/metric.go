package stats

import (
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing count. Methods are safe for concurrent use.
type Counter struct {
	v    atomic.Uint64
	used atomic.Bool
	name string
}

// Name returns the counter's full name.
func (c *Counter) Name() string { return c.name }

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
	name string
}

// Name returns the gauge's full name.
func (g *Gauge) Name() string { return g.name }

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
	name string
}

// Name returns the readout's full name.
func (t *TextReadout) Name() string { return t.name }

// Set sets the value.
func (t *TextReadout) Set(v string) {
	t.mu.Lock()
	t.v = v
	t.mu.Unlock()
}

// Value returns the value.
func (t *TextReadout) Value() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.v
}
