package upstream

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/stats"
)

func init() {
	config.Support(&clusterv3.Cluster{}, "outlier_detection")
	config.Support(&clusterv3.OutlierDetection{}, "consecutive_5xx", "interval", "base_ejection_time",
		"max_ejection_percent", "enforcing_consecutive_5xx", "enforcing_success_rate",
		"success_rate_minimum_hosts", "success_rate_request_volume", "success_rate_stdev_factor",
		"consecutive_gateway_failure", "enforcing_consecutive_gateway_failure",
		"split_external_local_origin_errors", "consecutive_local_origin_failure",
		"enforcing_consecutive_local_origin_failure", "enforcing_local_origin_success_rate",
		"failure_percentage_threshold", "enforcing_failure_percentage",
		"enforcing_failure_percentage_local_origin", "failure_percentage_minimum_hosts",
		"failure_percentage_request_volume", "max_ejection_time", "max_ejection_time_jitter",
		"successful_active_health_check_uneject_host", "always_eject_one_host")
}

// ejectionType is why a host is ejected, as Envoy's OutlierEjectionType.
type ejectionType int

const (
	eject5xx ejectionType = iota
	ejectGatewayFailure
	ejectLocalOriginFailure
	ejectSuccessRate
	ejectLocalOriginSuccessRate
	ejectFailurePercentage
	ejectLocalOriginFailurePercentage
	numEjectionTypes
)

// ejectionNames are the stat name suffixes of the ejection types.
var ejectionNames = [numEjectionTypes]string{
	"consecutive_5xx", "consecutive_gateway_failure", "consecutive_local_origin_failure",
	"success_rate", "local_origin_success_rate", "failure_percentage",
	"local_origin_failure_percentage",
}

// origin selects the externally originated (HTTP status) or the locally originated
// (connect failure, reset, timeout) success-rate monitor.
type origin int

const (
	external origin = iota
	localOrigin
)

// outlierConfig is a cluster's OutlierDetection with Envoy's defaults applied.
type outlierConfig struct {
	interval, baseEjection, maxEjection, maxJitter time.Duration

	consecutive5xx, consecutiveGateway, consecutiveLocal uint32
	maxEjectionPercent                                   uint64
	alwaysEjectOne                                       bool
	split                                                bool
	unejectOnHealthCheck                                 bool

	srMinHosts, srVolume uint64
	srStdevFactor        float64
	fpThreshold          float64
	fpMinHosts, fpVolume uint64

	// enforce is the enforcing_* percentage of each ejection type.
	enforce [numEjectionTypes]uint64
}

// parseOutlier validates an OutlierDetection and applies Envoy's defaults.
func parseOutlier(od *clusterv3.OutlierDetection) (outlierConfig, error) {
	cfg := outlierConfig{
		interval:             durationOr(od.GetInterval(), 10*time.Second),
		baseEjection:         durationOr(od.GetBaseEjectionTime(), 30*time.Second),
		maxJitter:            durationOr(od.GetMaxEjectionTimeJitter(), 0),
		consecutive5xx:       u32Or(od.GetConsecutive_5Xx(), 5),
		consecutiveGateway:   u32Or(od.GetConsecutiveGatewayFailure(), 5),
		consecutiveLocal:     u32Or(od.GetConsecutiveLocalOriginFailure(), 5),
		maxEjectionPercent:   min(uint64(u32Or(od.GetMaxEjectionPercent(), 10)), 100),
		alwaysEjectOne:       od.GetAlwaysEjectOneHost().GetValue(),
		split:                od.GetSplitExternalLocalOriginErrors(),
		unejectOnHealthCheck: od.GetSuccessfulActiveHealthCheckUnejectHost() == nil || od.GetSuccessfulActiveHealthCheckUnejectHost().GetValue(),
		srMinHosts:           uint64(u32Or(od.GetSuccessRateMinimumHosts(), 5)),
		srVolume:             uint64(u32Or(od.GetSuccessRateRequestVolume(), 100)),
		srStdevFactor:        float64(u32Or(od.GetSuccessRateStdevFactor(), 1900)) / 1000,
		fpThreshold:          float64(u32Or(od.GetFailurePercentageThreshold(), 85)),
		fpMinHosts:           uint64(u32Or(od.GetFailurePercentageMinimumHosts(), 5)),
		fpVolume:             uint64(u32Or(od.GetFailurePercentageRequestVolume(), 50)),
	}
	cfg.maxEjection = durationOr(od.GetMaxEjectionTime(), max(300*time.Second, cfg.baseEjection))
	for t, v := range map[ejectionType]*wrapperspb.UInt32Value{
		eject5xx: od.GetEnforcingConsecutive_5Xx(), ejectGatewayFailure: od.GetEnforcingConsecutiveGatewayFailure(),
		ejectLocalOriginFailure: od.GetEnforcingConsecutiveLocalOriginFailure(), ejectSuccessRate: od.GetEnforcingSuccessRate(),
		ejectLocalOriginSuccessRate: od.GetEnforcingLocalOriginSuccessRate(), ejectFailurePercentage: od.GetEnforcingFailurePercentage(),
		ejectLocalOriginFailurePercentage: od.GetEnforcingFailurePercentageLocalOrigin(),
	} {
		cfg.enforce[t] = uint64(u32Or(v, defaultEnforcing[t]))
	}
	switch {
	case cfg.interval <= 0:
		return cfg, fmt.Errorf("outlier_detection.interval: must be positive")
	case cfg.baseEjection <= 0:
		return cfg, fmt.Errorf("outlier_detection.base_ejection_time: must be positive")
	case cfg.maxEjection < cfg.baseEjection:
		return cfg, fmt.Errorf("outlier_detection.max_ejection_time: %v is smaller than base_ejection_time %v",
			cfg.maxEjection, cfg.baseEjection)
	case cfg.maxJitter < 0:
		return cfg, fmt.Errorf("outlier_detection.max_ejection_time_jitter: must not be negative")
	}
	return cfg, nil
}

// defaultEnforcing are Envoy's default enforcing_* percentages: consecutive gateway
// failures and failure percentages are detected but not enforced unless configured.
var defaultEnforcing = [numEjectionTypes]uint32{100, 0, 100, 100, 100, 0, 0}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}

func u32Or(v *wrapperspb.UInt32Value, def uint32) uint32 {
	if v == nil {
		return def
	}
	return v.GetValue()
}

// outlierStats are the cluster.<name>.outlier_detection.* stats, under Envoy's names.
type outlierStats struct {
	active                                 *stats.Gauge
	enforcedTotal, overflow                *stats.Counter
	detected, enforced                     [numEjectionTypes]*stats.Counter
	total, consecutive5xx, successRateOnly *stats.Counter // deprecated Envoy counters
}

func newOutlierStats(scope stats.Scope) outlierStats {
	sc := scope.Scope("outlier_detection.")
	s := outlierStats{
		active:          sc.Gauge("ejections_active"),
		enforcedTotal:   sc.Counter("ejections_enforced_total"),
		overflow:        sc.Counter("ejections_overflow"),
		total:           sc.Counter("ejections_total"),
		consecutive5xx:  sc.Counter("ejections_consecutive_5xx"),
		successRateOnly: sc.Counter("ejections_success_rate"),
	}
	for t := range numEjectionTypes {
		s.detected[t] = sc.Counter("ejections_detected_" + ejectionNames[t])
		s.enforced[t] = sc.Counter("ejections_enforced_" + ejectionNames[t])
	}
	return s
}

// srBucket counts one interval's requests to a host.
type srBucket struct {
	total, success atomic.Uint64
}

// srAccumulator is a host's success-rate data: requests are counted into the current
// bucket without locks; at each interval the detector swaps in the other bucket and
// reads the one just completed.
type srAccumulator struct {
	cur   atomic.Pointer[srBucket]
	spare *srBucket // the last complete interval; touched only under the detector's lock
}

func (a *srAccumulator) init() {
	a.cur.Store(&srBucket{})
	a.spare = &srBucket{}
}

func (a *srAccumulator) record(ok bool) {
	b := a.cur.Load()
	if ok {
		b.success.Add(1)
	}
	b.total.Add(1)
}

// rotate ends the current interval.
func (a *srAccumulator) rotate() {
	next := a.spare
	next.total.Store(0)
	next.success.Store(0)
	a.spare = a.cur.Swap(next)
}

// last returns the success rate (0–100) and request volume of the last complete
// interval; ok is false when it had no requests.
func (a *srAccumulator) last() (rate float64, volume uint64, ok bool) {
	total := a.spare.total.Load()
	if total == 0 {
		return 0, 0, false
	}
	return float64(min(a.spare.success.Load(), total)) * 100 / float64(total), total, true
}

// outlierHost is a host's outlier-detection state. The counters are updated on the
// request path with atomics; the ejection bookkeeping only under the detector's lock.
type outlierHost struct {
	consecutive5xx, consecutiveGateway, consecutiveLocal atomic.Uint32
	sr                                                   [2]srAccumulator
	rate                                                 [2]atomic.Uint64 // float64 bits; -1 unknown

	ejections      uint32
	backoff        uint64 // multiplier of base_ejection_time
	lastEjection   time.Time
	lastUnejection time.Time
	jitter         time.Duration
}

func newOutlierHost() *outlierHost {
	m := &outlierHost{}
	for o := range m.sr {
		m.sr[o].init()
		m.rate[o].Store(math.Float64bits(-1))
	}
	return m
}

func (m *outlierHost) resetConsecutive() {
	m.consecutive5xx.Store(0)
	m.consecutiveGateway.Store(0)
	m.consecutiveLocal.Store(0)
}

// outlierDetector is a cluster's passive health checker (Envoy's outlier detection).
// Consecutive-error ejections happen inline, on the request that crossed the
// threshold; success-rate and failure-percentage ejections and unejections happen on
// an interval timer. Ejected hosts get FailedOutlierCheck and the cluster rebuilds
// its load balancer without them.
type outlierDetector struct {
	c   *Cluster
	cfg outlierConfig
	st  outlierStats
	now func() time.Time
	rnd func(n uint64) uint64 // uniform in [0, n)

	mu sync.Mutex
	sr [2]srSummary // cluster-wide success-rate figures of the last interval

	stop context.CancelFunc
	done chan struct{}
}

// srSummary is the cluster's mean success rate and ejection threshold, -1 when the
// last interval did not have enough data.
type srSummary struct {
	average, threshold float64
}

var _ Observer = (*outlierDetector)(nil)

func newOutlierDetector(c *Cluster, cfg outlierConfig, scope stats.Scope) *outlierDetector {
	return &outlierDetector{
		c: c, cfg: cfg, st: newOutlierStats(scope), now: time.Now, rnd: rand.Uint64N,
		sr: [2]srSummary{{-1, -1}, {-1, -1}},
	}
}

// Observe counts one attempt's result. In the default mode local failures count as
// HTTP errors: a connect failure or reset as 503 and a timeout as 504. With
// split_external_local_origin_errors they feed separate counters. A response means
// the connection worked, so in split mode it is also a local-origin success;
// ResultConnectSuccess is a connection-level success with nothing above it (TCP
// proxying, Envoy's LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL) and counts as a 200 in the
// default mode.
func (d *outlierDetector) Observe(h *Host, r Result, status int, _ time.Duration) {
	m := h.outlier
	if m == nil {
		return
	}
	if d.cfg.split {
		d.observeSplit(h, m, r, status)
		return
	}
	switch r {
	case ResultResponse:
	case ResultConnectSuccess:
		status = 200
	case ResultTimeout:
		status = 504
	default:
		status = 503
	}
	d.putStatus(h, m, status)
}

func (d *outlierDetector) observeSplit(h *Host, m *outlierHost, r Result, status int) {
	switch r {
	case ResultResponse:
		d.putStatus(h, m, status)
		d.localSuccess(m)
	case ResultConnectSuccess:
		d.localSuccess(m)
	default:
		m.sr[localOrigin].record(false)
		if m.consecutiveLocal.Add(1) == d.cfg.consecutiveLocal {
			d.onConsecutive(h, ejectLocalOriginFailure)
		}
	}
}

func (d *outlierDetector) localSuccess(m *outlierHost) {
	m.sr[localOrigin].record(true)
	m.consecutiveLocal.Store(0)
}

// putStatus counts an HTTP status: 5xx are errors, 502–504 also gateway failures.
func (d *outlierDetector) putStatus(h *Host, m *outlierHost, status int) {
	if status < 500 || status > 599 {
		m.sr[external].record(true)
		m.consecutive5xx.Store(0)
		m.consecutiveGateway.Store(0)
		return
	}
	m.sr[external].record(false)
	if status >= 502 && status <= 504 {
		if m.consecutiveGateway.Add(1) == d.cfg.consecutiveGateway {
			d.onConsecutive(h, ejectGatewayFailure)
		}
	} else {
		m.consecutiveGateway.Store(0)
	}
	if m.consecutive5xx.Add(1) == d.cfg.consecutive5xx {
		d.onConsecutive(h, eject5xx)
	}
}
