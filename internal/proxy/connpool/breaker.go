package connpool

import (
	"math"
	"sync/atomic"

	"github.com/weftmesh/weft/internal/stats"
)

// Thresholds are one priority's circuit-breaker limits.
type Thresholds struct {
	MaxConnections     int64
	MaxPendingRequests int64
	MaxRequests        int64
	MaxRetries         int64
	MaxConnectionPools int64
}

// DefaultThresholds are Envoy's defaults: 1024 connections, pending requests and
// requests, 3 concurrent retries, unlimited pools.
var DefaultThresholds = Thresholds{
	MaxConnections:     1024,
	MaxPendingRequests: 1024,
	MaxRequests:        1024,
	MaxRetries:         3,
	MaxConnectionPools: math.MaxInt64,
}

// Resource is one circuit-breaker resource: a count under a limit.
type Resource struct {
	max       int64
	cur       atomic.Int64
	open      atomic.Pointer[stats.Gauge] // 1 while the count is at the limit
	openName  string                      // the open gauge's name, made when first needed
	scope     *stats.Scope                // the breaker's
	remaining *stats.Gauge                // optional: limit minus count
}

// TryAcquire takes one unit unless the limit is reached.
func (r *Resource) TryAcquire() bool {
	n := r.cur.Add(1)
	if n > r.max {
		r.cur.Add(-1)
		return false
	}
	r.changed(n)
	return true
}

// Acquire takes one unit regardless of the limit (used where Envoy counts but does
// not refuse).
func (r *Resource) Acquire() { r.changed(r.cur.Add(1)) }

// Release returns one unit.
func (r *Resource) Release() { r.changed(r.cur.Add(-1)) }

// CanAcquire reports whether a unit is free.
func (r *Resource) CanAcquire() bool { return r.cur.Load() < r.max }

// Count returns the units in use.
func (r *Resource) Count() int64 { return r.cur.Load() }

// Max returns the limit.
func (r *Resource) Max() int64 { return r.max }

// Remaining returns the free units.
func (r *Resource) Remaining() int64 { return max(0, r.max-r.cur.Load()) }

func (r *Resource) changed(n int64) {
	if n == r.max || n == r.max-1 {
		if n >= r.max {
			r.openGauge().Set(1)
		} else if g := r.open.Load(); g != nil {
			g.Set(0)
		}
	}
	if r.remaining != nil {
		r.remaining.Set(max(0, r.max-n))
	}
}

// openGauge returns the open gauge, making it on first use.
func (r *Resource) openGauge() *stats.Gauge {
	if g := r.open.Load(); g != nil {
		return g
	}
	r.open.CompareAndSwap(nil, r.scope.Gauge(r.openName))
	return r.open.Load()
}

// Breaker is the circuit breaker of one cluster at one routing priority.
type Breaker struct {
	Connections Resource
	Pending     Resource
	Requests    Resource
	Retries     Resource
	Pools       Resource

	scope stats.Scope
}

// NewBreaker returns a breaker with thresholds t whose open-state gauges live under
// scope ("cluster.<name>.circuit_breakers.default."). With trackRemaining, the
// remaining_* gauges are kept too. With deferOpen, an open-state gauge is made the
// first time its resource reaches its limit (deferred stats creation: most clusters'
// breakers never do).
func NewBreaker(t Thresholds, scope stats.Scope, trackRemaining, deferOpen bool) *Breaker {
	b := &Breaker{scope: scope}
	set := func(r *Resource, max int64, open, remaining string) {
		r.max, r.openName, r.scope = max, open, &b.scope
		if !deferOpen {
			r.openGauge()
		}
		if trackRemaining {
			r.remaining = scope.Gauge(remaining)
			r.remaining.Set(max)
		}
	}
	set(&b.Connections, t.MaxConnections, "cx_open", "remaining_cx")
	set(&b.Pending, t.MaxPendingRequests, "rq_pending_open", "remaining_pending")
	set(&b.Requests, t.MaxRequests, "rq_open", "remaining_rq")
	set(&b.Retries, t.MaxRetries, "rq_retry_open", "remaining_retries")
	set(&b.Pools, t.MaxConnectionPools, "cx_pool_open", "remaining_cx_pools")
	return b
}
