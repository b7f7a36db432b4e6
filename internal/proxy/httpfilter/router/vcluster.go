package router

import (
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/stats"
)

// vclusterStats are a virtual cluster's stats, as Envoy keeps them:
// vhost.<virtual host>.vcluster.<virtual cluster>.upstream_rq_*.
type vclusterStats struct {
	total, completed, timeout       *stats.Counter
	retry, retrySuccess, retryLimit *stats.Counter
	xx                              [5]*stats.Counter
	time                            *stats.Histogram
	scope                           stats.Scope
	byCode                          atomic.Pointer[[500]atomic.Pointer[stats.Counter]]
}

// vclusterFor returns the stats of the request's virtual cluster, made on first use;
// nil when its virtual host has no virtual clusters.
func (r *Router) vclusterFor(s *httpfilter.Stream, rt *route.Entry) *vclusterStats {
	vc := rt.VirtualCluster(&s.Request)
	if vc == nil {
		return nil
	}
	if v, ok := vc.Stats.Load().(*vclusterStats); ok {
		return v
	}
	sc := r.store.Scope("vhost." + rt.VirtualHost().Name() + ".vcluster." + vc.Name() + ".")
	v := &vclusterStats{
		total: sc.Counter("upstream_rq_total"), completed: sc.Counter("upstream_rq_completed"),
		timeout: sc.Counter("upstream_rq_timeout"), retry: sc.Counter("upstream_rq_retry"),
		retrySuccess: sc.Counter("upstream_rq_retry_success"), retryLimit: sc.Counter("upstream_rq_retry_limit_exceeded"),
		time: sc.Histogram("upstream_rq_time", stats.Milliseconds), scope: sc,
	}
	for i := range v.xx {
		v.xx[i] = sc.Counter("upstream_rq_" + string(rune('1'+i)) + "xx")
	}
	vc.Stats.CompareAndSwap(nil, v) // a loser's stats are the same counters
	return vc.Stats.Load().(*vclusterStats)
}

// record charges a finished request to its virtual cluster.
func (v *vclusterStats) record(info *streaminfo.Info, start time.Time) {
	if v == nil {
		return
	}
	if info.Attempts > 1 {
		v.retry.Add(uint64(info.Attempts - 1))
	}
	switch {
	case info.Flags&streaminfo.UpstreamRetryLimitExceeded != 0:
		v.retryLimit.Inc()
	case info.Attempts > 1 && info.ResponseCode < 500:
		v.retrySuccess.Inc()
	}
	if info.Flags&streaminfo.UpstreamRequestTimeout != 0 {
		v.timeout.Inc()
	}
	code := info.ResponseCode
	if code < 100 || code > 599 {
		return
	}
	v.completed.Inc()
	v.xx[code/100-1].Inc()
	v.codeCounter(code).Inc()
	v.time.Record(uint64(time.Since(start).Milliseconds()))
}

func (v *vclusterStats) codeCounter(code int) *stats.Counter {
	codes := v.byCode.Load()
	if codes == nil {
		v.byCode.CompareAndSwap(nil, new([500]atomic.Pointer[stats.Counter]))
		codes = v.byCode.Load()
	}
	slot := &codes[code-100]
	if c := slot.Load(); c != nil {
		return c
	}
	c := v.scope.Counter("upstream_rq_" + itoa(code))
	slot.Store(c)
	return c
}
