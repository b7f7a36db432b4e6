package hcm

import (
	"github.com/weftmesh/weft/internal/stats"
)

// Stats are the connection manager's stats under http.<stat_prefix>.
type Stats struct {
	CxTotal, CxHTTP1Total, CxHTTP2Total, CxDestroy, CxProtocolError *stats.Counter
	CxIdleTimeout, CxMaxDuration, CxDrainClose, CxUpgradesTotal     *stats.Counter
	CxMaxRequests                                                   *stats.Counter
	CxActive, CxHTTP1Active, CxHTTP2Active, CxUpgradesActive        *stats.Gauge
	CxLengthMs                                                      *stats.Histogram

	RqTotal, RqHTTP1Total, RqHTTP2Total, RqCompleted           *stats.Counter
	Rq1xx, Rq2xx, Rq3xx, Rq4xx, Rq5xx                          *stats.Counter
	RqRxReset, RqTxReset, RqTooLarge, RqIdleTimeout            *stats.Counter
	RqTimeout, RqHeaderTimeout, RqNonRelativePath, RqWsOnNonWs *stats.Counter
	RqMaxDuration                                              *stats.Counter
	RqActive                                                   *stats.Gauge
	RqTime                                                     *stats.Histogram

	// Router stats, also under http.<stat_prefix>.
	NoRoute, NoCluster, RqRedirect, RqDirectResponse, RqResetAfterStarted *stats.Counter

	// Response classes 1xx..5xx, here and under
	// listener.<address>.http.<stat_prefix>.downstream_rq_Nxx.
	class    [5]*stats.Counter
	listener [5]*stats.Counter
}

func newStats(scope stats.Scope) *Stats {
	c, g := scope.Counter, scope.Gauge
	return &Stats{
		CxTotal: c("downstream_cx_total"), CxHTTP1Total: c("downstream_cx_http1_total"),
		CxHTTP2Total: c("downstream_cx_http2_total"), CxDestroy: c("downstream_cx_destroy"),
		CxProtocolError: c("downstream_cx_protocol_error"), CxIdleTimeout: c("downstream_cx_idle_timeout"),
		CxMaxDuration: c("downstream_cx_max_duration_reached"),
		CxMaxRequests: c("downstream_cx_max_requests_reached"), CxDrainClose: c("downstream_cx_drain_close"),
		CxUpgradesTotal: c("downstream_cx_upgrades_total"),
		CxActive:        g("downstream_cx_active"), CxHTTP1Active: g("downstream_cx_http1_active"),
		CxHTTP2Active: g("downstream_cx_http2_active"), CxUpgradesActive: g("downstream_cx_upgrades_active"),
		CxLengthMs: scope.Histogram("downstream_cx_length_ms", stats.Milliseconds),
		RqTotal:    c("downstream_rq_total"), RqHTTP1Total: c("downstream_rq_http1_total"),
		RqHTTP2Total: c("downstream_rq_http2_total"), RqCompleted: c("downstream_rq_completed"),
		Rq1xx: c("downstream_rq_1xx"), Rq2xx: c("downstream_rq_2xx"), Rq3xx: c("downstream_rq_3xx"),
		Rq4xx: c("downstream_rq_4xx"), Rq5xx: c("downstream_rq_5xx"),
		RqRxReset: c("downstream_rq_rx_reset"), RqTxReset: c("downstream_rq_tx_reset"),
		RqTooLarge: c("downstream_rq_too_large"), RqIdleTimeout: c("downstream_rq_idle_timeout"),
		RqTimeout: c("downstream_rq_timeout"), RqHeaderTimeout: c("downstream_rq_header_timeout"),
		RqNonRelativePath: c("downstream_rq_non_relative_path"), RqWsOnNonWs: c("downstream_rq_ws_on_non_ws_route"),
		RqMaxDuration: c("downstream_rq_max_duration_reached"),
		RqActive:      g("downstream_rq_active"),
		RqTime:        scope.Histogram("downstream_rq_time", stats.Milliseconds),
		NoRoute:       c("no_route"), NoCluster: c("no_cluster"), RqRedirect: c("rq_redirect"),
		RqDirectResponse: c("rq_direct_response"), RqResetAfterStarted: c("rq_reset_after_downstream_response_started"),
	}
}

// withListener resolves the per-listener response-code counters.
func (s *Stats) withListener(scope stats.Scope) *Stats {
	s.class = [5]*stats.Counter{s.Rq1xx, s.Rq2xx, s.Rq3xx, s.Rq4xx, s.Rq5xx}
	for i, n := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		s.listener[i] = scope.Counter("downstream_rq_" + n)
	}
	return s
}

// response counts a finished request's response code.
func (s *Stats) response(code int) {
	s.RqCompleted.Inc()
	i := code/100 - 1
	if i < 0 || i > 4 {
		return
	}
	s.class[i].Inc()
	s.listener[i].Inc()
}
