package ads

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are istiod's Pilot metrics, under istiod's names, labels and buckets.
type metrics struct {
	xdsClients   *prometheus.GaugeVec     // pilot_xds{version}
	pushes       *prometheus.CounterVec   // pilot_xds_pushes{type}
	pushTime     *prometheus.HistogramVec // pilot_xds_push_time{type}
	convergence  prometheus.Histogram     // pilot_proxy_convergence_time
	queueTime    prometheus.Histogram     // pilot_proxy_queue_time
	triggers     *prometheus.CounterVec   // pilot_push_triggers{type}
	debounceTime prometheus.Histogram     // pilot_debounce_time
	rejects      *prometheus.CounterVec   // pilot_total_xds_rejects{type}
	configSize   *prometheus.HistogramVec // pilot_xds_config_size_bytes{type}
	services     prometheus.Gauge         // pilot_services
	virtServices prometheus.Gauge         // pilot_virt_services
	inbound      *prometheus.CounterVec   // pilot_inbound_updates{type}
	expiredNonce *prometheus.CounterVec   // pilot_xds_expired_nonce{type}
	// weft's own: the validation cache (weft_xds_validation_cache_reads{type=hit|miss}).
	validationReads *prometheus.CounterVec
	validationHits  prometheus.Counter
	validations     prometheus.Counter
	// weft_xds_slow_sends_total: pushes whose sends outlasted SlowSend and left the
	// concurrency bound.
	slowSends prometheus.Counter
}

var (
	timeBuckets     = []float64{.01, .1, 1, 3, 5, 10, 20, 30}
	proxyBuckets    = []float64{.1, .5, 1, 3, 5, 10, 20, 30}
	configSizeBytes = []float64{1, 10000, 1000000, 4000000, 10000000, 40000000}
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		xdsClients: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pilot_xds",
			Help: "Number of endpoints connected to this pilot using XDS."}, []string{"version"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_xds_pushes",
			Help: "Pilot build and send errors for lds, rds, cds and eds."}, []string{"type"}),
		pushTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pilot_xds_push_time",
			Help: "Total time in seconds Pilot takes to push lds, rds, cds and eds.", Buckets: timeBuckets}, []string{"type"}),
		convergence: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_proxy_convergence_time",
			Help: "Delay in seconds between config change and a proxy receiving all required configuration.", Buckets: proxyBuckets}),
		queueTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_proxy_queue_time",
			Help: "Time in seconds, a proxy is in the push queue before being dequeued.", Buckets: proxyBuckets}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_push_triggers",
			Help: "Total number of times a push was triggered, labeled by reason for the push."}, []string{"type"}),
		debounceTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_debounce_time",
			Help:    "Delay in seconds between the first config enters debouncing and the merged push request is pushed into the push queue.",
			Buckets: timeBuckets}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_total_xds_rejects",
			Help: "Total number of XDS responses from pilot rejected by proxy."}, []string{"type"}),
		configSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pilot_xds_config_size_bytes",
			Help: "Distribution of configuration sizes pushed to clients", Buckets: configSizeBytes}, []string{"type"}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pilot_services",
			Help: "Total services known to pilot."}),
		virtServices: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pilot_virt_services",
			Help: "Total virtual services known to pilot."}),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_inbound_updates",
			Help: "Total number of updates received by pilot."}, []string{"type"}),
		expiredNonce: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_xds_expired_nonce",
			Help: "Total number of XDS requests with an expired nonce."}, []string{"type"}),
		validationReads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_xds_validation_cache_reads",
			Help: "Generated resources checked against the validation cache: hit (the same content passed before) or miss (validated now)."},
			[]string{"type"}),
		slowSends: prometheus.NewCounter(prometheus.CounterOpts{Name: "weft_xds_slow_sends_total",
			Help: "Responses to a node that took longer than the slow-send limit to send; the node went on sending outside the push concurrency bound."}),
	}
	m.validationHits = m.validationReads.WithLabelValues("hit")
	m.validations = m.validationReads.WithLabelValues("miss")
	for _, c := range []prometheus.Collector{m.xdsClients, m.pushes, m.pushTime, m.convergence, m.queueTime,
		m.triggers, m.debounceTime, m.rejects, m.configSize, m.services, m.virtServices, m.inbound, m.expiredNonce, m.validationReads, m.slowSends} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
