package connpool

import (
	"sync/atomic"

	"github.com/weftmesh/weft/internal/stats"
)

// Stats are the cluster-wide connection and pending-request stats a pool updates,
// under Envoy's names (cluster.<name>.upstream_cx_total, ...).
type Stats struct {
	CxTotal           *stats.Counter
	CxHTTP1Total      *stats.Counter
	CxHTTP2Total      *stats.Counter
	CxConnectFail     *stats.Counter
	CxConnectTimeout  *stats.Counter
	CxOverflow        *stats.Counter
	CxDestroy         *stats.Counter
	CxDestroyLocal    *stats.Counter
	CxDestroyRemote   *stats.Counter
	CxMaxRequests     *stats.Counter
	CxIdleTimeout     *stats.Counter
	CxRxBytesTotal    *stats.Counter
	CxTxBytesTotal    *stats.Counter
	RqPendingTotal    *stats.Counter
	RqPendingOverflow *stats.Counter
	RqPendingFailure  *stats.Counter
	CxActive          *stats.Gauge
	RqPendingActive   *stats.Gauge
	CxConnectMs       *stats.Histogram
	CxLengthMs        *stats.Histogram
}

// NewStats resolves the pool stats under scope ("cluster.<name>.").
func NewStats(scope stats.Scope) *Stats {
	c := scope.Counter
	return &Stats{
		CxTotal:           c("upstream_cx_total"),
		CxHTTP1Total:      c("upstream_cx_http1_total"),
		CxHTTP2Total:      c("upstream_cx_http2_total"),
		CxConnectFail:     c("upstream_cx_connect_fail"),
		CxConnectTimeout:  c("upstream_cx_connect_timeout"),
		CxOverflow:        c("upstream_cx_overflow"),
		CxDestroy:         c("upstream_cx_destroy"),
		CxDestroyLocal:    c("upstream_cx_destroy_local"),
		CxDestroyRemote:   c("upstream_cx_destroy_remote"),
		CxMaxRequests:     c("upstream_cx_max_requests"),
		CxIdleTimeout:     c("upstream_cx_idle_timeout"),
		CxRxBytesTotal:    c("upstream_cx_rx_bytes_total"),
		CxTxBytesTotal:    c("upstream_cx_tx_bytes_total"),
		RqPendingTotal:    c("upstream_rq_pending_total"),
		RqPendingOverflow: c("upstream_rq_pending_overflow"),
		RqPendingFailure:  c("upstream_rq_pending_failure_eject"),
		CxActive:          scope.Gauge("upstream_cx_active"),
		RqPendingActive:   scope.Gauge("upstream_rq_pending_active"),
		CxConnectMs:       scope.Histogram("upstream_cx_connect_ms", stats.Milliseconds),
		CxLengthMs:        scope.Histogram("upstream_cx_length_ms", stats.Milliseconds),
	}
}

// HostStats are one host's connection counts, shown by the admin /clusters page.
type HostStats struct {
	CxTotal       atomic.Uint64
	CxConnectFail atomic.Uint64
	CxActive      atomic.Int64
}
