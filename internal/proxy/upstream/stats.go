package upstream

import (
	"sync/atomic"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/stats"
)

// Stats are a cluster's traffic stats under Envoy's names (cluster.<name>.upstream_rq_total,
// ...; the connection stats are in Pool). With deferred stats creation (the bootstrap's
// deferred_stat_options, as Envoy's) a cluster creates them when it first carries
// traffic, so that the many clusters a sidecar never uses cost no stats.
type Stats struct {
	Pool *connpool.Stats

	RqTotal            *stats.Counter
	RqCompleted        *stats.Counter
	RqActive           *stats.Gauge
	Rq1xx              *stats.Counter
	Rq2xx              *stats.Counter
	Rq3xx              *stats.Counter
	Rq4xx              *stats.Counter
	Rq5xx              *stats.Counter
	RqTimeout          *stats.Counter
	RqPerTryTimeout    *stats.Counter
	RqPerTryIdle       *stats.Counter
	RqRxReset          *stats.Counter
	RqTxReset          *stats.Counter
	RqCancelled        *stats.Counter
	RqMaxDurationReach *stats.Counter
	RqRetry            *stats.Counter
	RqRetrySuccess     *stats.Counter
	RqRetryOverflow    *stats.Counter
	RqRetryLimitExceed *stats.Counter
	RqRetryBackoffExp  *stats.Counter
	RqRetryBackoffRL   *stats.Counter
	RetryOrShadowAband *stats.Counter
	// RqStaleResend counts requests re-sent on a fresh connection after the reused
	// one turned out closed by the upstream (what would otherwise be a 503 UC).
	RqStaleResend   *stats.Counter
	CxNoneHealthy   *stats.Counter
	CxProtocolError *stats.Counter
	RqTime          *stats.Histogram

	scope  stats.Scope
	byCode atomic.Pointer[[500]atomic.Pointer[stats.Counter]] // upstream_rq_<code> for 100..599
}

// infoStats are the cluster's membership and update stats, created with it.
type infoStats struct {
	MembershipHealthy  *stats.Gauge
	MembershipDegraded *stats.Gauge
	MembershipExcluded *stats.Gauge
	MembershipTotal    *stats.Gauge
	MembershipChange   *stats.Counter
	LbHealthyPanic     *stats.Counter
	UpdateAttempt      *stats.Counter
	UpdateSuccess      *stats.Counter
	UpdateFailure      *stats.Counter
	UpdateEmpty        *stats.Counter
	UpdateNoRebuild    *stats.Counter
}

func newStats(scope stats.Scope) *Stats {
	c := scope.Counter
	return &Stats{
		Pool:               connpool.NewStats(scope),
		RqTotal:            c("upstream_rq_total"),
		RqCompleted:        c("upstream_rq_completed"),
		RqActive:           scope.Gauge("upstream_rq_active"),
		Rq1xx:              c("upstream_rq_1xx"),
		Rq2xx:              c("upstream_rq_2xx"),
		Rq3xx:              c("upstream_rq_3xx"),
		Rq4xx:              c("upstream_rq_4xx"),
		Rq5xx:              c("upstream_rq_5xx"),
		RqTimeout:          c("upstream_rq_timeout"),
		RqPerTryTimeout:    c("upstream_rq_per_try_timeout"),
		RqPerTryIdle:       c("upstream_rq_per_try_idle_timeout"),
		RqRxReset:          c("upstream_rq_rx_reset"),
		RqTxReset:          c("upstream_rq_tx_reset"),
		RqCancelled:        c("upstream_rq_cancelled"),
		RqMaxDurationReach: c("upstream_rq_max_duration_reached"),
		RqRetry:            c("upstream_rq_retry"),
		RqRetrySuccess:     c("upstream_rq_retry_success"),
		RqRetryOverflow:    c("upstream_rq_retry_overflow"),
		RqRetryLimitExceed: c("upstream_rq_retry_limit_exceeded"),
		RqRetryBackoffExp:  c("upstream_rq_retry_backoff_exponential"),
		RqRetryBackoffRL:   c("upstream_rq_retry_backoff_ratelimited"),
		RetryOrShadowAband: c("retry_or_shadow_abandoned"),
		RqStaleResend:      c("upstream_rq_stale_connection_resend"),
		CxNoneHealthy:      c("upstream_cx_none_healthy"),
		CxProtocolError:    c("upstream_cx_protocol_error"),
		RqTime:             scope.Histogram("upstream_rq_time", stats.Milliseconds),
		scope:              scope,
	}
}

func newInfoStats(scope stats.Scope) *infoStats {
	c := scope.Counter
	return &infoStats{
		MembershipHealthy:  scope.Gauge("membership_healthy"),
		MembershipDegraded: scope.Gauge("membership_degraded"),
		MembershipExcluded: scope.Gauge("membership_excluded"),
		MembershipTotal:    scope.Gauge("membership_total"),
		MembershipChange:   c("membership_change"),
		LbHealthyPanic:     c("lb_healthy_panic"),
		UpdateAttempt:      c("update_attempt"),
		UpdateSuccess:      c("update_success"),
		UpdateFailure:      c("update_failure"),
		UpdateEmpty:        c("update_empty"),
		UpdateNoRebuild:    c("update_no_rebuild"),
	}
}

// RecordResponse counts a response code from upstream: upstream_rq_<code>,
// upstream_rq_<class>xx and upstream_rq_completed.
func (s *Stats) RecordResponse(code int) {
	s.RqCompleted.Inc()
	switch code / 100 {
	case 1:
		s.Rq1xx.Inc()
	case 2:
		s.Rq2xx.Inc()
	case 3:
		s.Rq3xx.Inc()
	case 4:
		s.Rq4xx.Inc()
	case 5:
		s.Rq5xx.Inc()
	default:
		return
	}
	s.codeCounter(code).Inc()
}

func (s *Stats) codeCounter(code int) *stats.Counter {
	codes := s.byCode.Load()
	if codes == nil {
		s.byCode.CompareAndSwap(nil, new([500]atomic.Pointer[stats.Counter]))
		codes = s.byCode.Load()
	}
	slot := &codes[code-100]
	if c := slot.Load(); c != nil {
		return c
	}
	c := s.scope.Counter("upstream_rq_" + itoa(code))
	slot.Store(c)
	return c
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}
