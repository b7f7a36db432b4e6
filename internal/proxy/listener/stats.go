package listener

import "github.com/weftmesh/weft/internal/stats"

// listenerStats are a listener's stats under listener.<address>.
type listenerStats struct {
	cxTotal, cxDestroy, noChain, filterError, filterRemoteClose, preCxTimeout *stats.Counter
	sslHandshake, sslError                                                    *stats.Counter
	cxActive, preCxActive                                                     *stats.Gauge
	cxLengthMs                                                                *stats.Histogram
}

func newStats(sc stats.Scope) *listenerStats {
	return &listenerStats{
		cxTotal: sc.Counter("downstream_cx_total"), cxDestroy: sc.Counter("downstream_cx_destroy"),
		noChain: sc.Counter("no_filter_chain_match"), filterError: sc.Counter("downstream_listener_filter_error"),
		filterRemoteClose: sc.Counter("downstream_listener_filter_remote_close"),
		preCxTimeout:      sc.Counter("downstream_pre_cx_timeout"),
		sslHandshake:      sc.Counter("ssl.handshake"), sslError: sc.Counter("ssl.connection_error"),
		cxActive: sc.Gauge("downstream_cx_active"), preCxActive: sc.Gauge("downstream_pre_cx_active"),
		cxLengthMs: sc.Histogram("downstream_cx_length_ms", stats.Milliseconds),
	}
}
