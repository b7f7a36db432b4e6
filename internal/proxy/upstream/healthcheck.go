package upstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/stats"
)

func init() {
	config.Support(&clusterv3.Cluster{}, "health_checks")
	config.Support(&corev3.HealthCheck{}, "timeout", "interval", "initial_jitter", "interval_jitter",
		"interval_jitter_percent", "unhealthy_threshold", "healthy_threshold", "alt_port", "reuse_connection",
		"no_traffic_interval", "no_traffic_healthy_interval", "unhealthy_interval", "unhealthy_edge_interval",
		"healthy_edge_interval", "http_health_check", "tcp_health_check", "grpc_health_check")
	config.Support(&corev3.HealthCheck_HttpHealthCheck{}, "host", "path", "request_headers_to_add",
		"request_headers_to_remove", "expected_statuses", "retriable_statuses", "codec_client_type", "method")
	config.Support(&corev3.HealthCheck_TcpHealthCheck{}, "send", "receive")
	config.Support(&corev3.HealthCheck_Payload{}, "text", "binary")
	config.Support(&corev3.HealthCheck_GrpcHealthCheck{}, "service_name", "authority", "initial_metadata")
	config.Support(&corev3.HeaderValueOption{}, "header", "append", "append_action", "keep_empty_value")
	config.Support(&corev3.HeaderValue{}, "key", "value")
	config.Support(&typev3.Int64Range{}, "start", "end")
}

// hcConfig is a HealthCheck's timing and thresholds with Envoy's defaults applied.
type hcConfig struct {
	timeout, interval, initialJitter, intervalJitter time.Duration
	jitterPercent                                    uint32
	noTraffic, noTrafficHealthy                      time.Duration
	unhealthyInterval, unhealthyEdge, healthyEdge    time.Duration
	unhealthyThreshold, healthyThreshold             uint32
	reuse                                            bool
	altPort                                          uint16
}

func parseHealthCheck(hc *corev3.HealthCheck) (hcConfig, error) {
	if hc.GetTimeout() == nil || hc.GetInterval() == nil || hc.GetUnhealthyThreshold() == nil || hc.GetHealthyThreshold() == nil {
		return hcConfig{}, errors.New("timeout, interval, unhealthy_threshold and healthy_threshold are required")
	}
	cfg := hcConfig{
		timeout:            hc.GetTimeout().AsDuration(),
		interval:           hc.GetInterval().AsDuration(),
		initialJitter:      durationOr(hc.GetInitialJitter(), 0),
		intervalJitter:     durationOr(hc.GetIntervalJitter(), 0),
		jitterPercent:      hc.GetIntervalJitterPercent(),
		noTraffic:          durationOr(hc.GetNoTrafficInterval(), 60*time.Second),
		unhealthyThreshold: hc.GetUnhealthyThreshold().GetValue(),
		healthyThreshold:   hc.GetHealthyThreshold().GetValue(),
		reuse:              hc.GetReuseConnection() == nil || hc.GetReuseConnection().GetValue(),
	}
	cfg.noTrafficHealthy = durationOr(hc.GetNoTrafficHealthyInterval(), cfg.noTraffic)
	cfg.unhealthyInterval = durationOr(hc.GetUnhealthyInterval(), cfg.interval)
	cfg.unhealthyEdge = durationOr(hc.GetUnhealthyEdgeInterval(), cfg.unhealthyInterval)
	cfg.healthyEdge = durationOr(hc.GetHealthyEdgeInterval(), cfg.interval)
	if p := hc.GetAltPort(); p != nil {
		if p.GetValue() == 0 || p.GetValue() > 65535 {
			return cfg, fmt.Errorf("alt_port: %d is not a port", p.GetValue())
		}
		cfg.altPort = uint16(p.GetValue())
	}
	for name, d := range map[string]time.Duration{"timeout": cfg.timeout, "interval": cfg.interval,
		"no_traffic_interval": cfg.noTraffic, "no_traffic_healthy_interval": cfg.noTrafficHealthy,
		"unhealthy_interval": cfg.unhealthyInterval, "unhealthy_edge_interval": cfg.unhealthyEdge,
		"healthy_edge_interval": cfg.healthyEdge} {
		if d <= 0 {
			return cfg, fmt.Errorf("%s: must be positive", name)
		}
	}
	if cfg.initialJitter < 0 || cfg.intervalJitter < 0 {
		return cfg, errors.New("initial_jitter and interval_jitter must not be negative")
	}
	return cfg, nil
}

// hcStats are the cluster.<name>.health_check.* stats, under Envoy's names.
type hcStats struct {
	attempt, success, failure, passiveFailure, networkFailure, verifyCluster *stats.Counter
	healthy, degraded                                                        *stats.Gauge
}

func newHCStats(scope stats.Scope) hcStats {
	sc := scope.Scope("health_check.")
	return hcStats{
		attempt: sc.Counter("attempt"), success: sc.Counter("success"), failure: sc.Counter("failure"),
		passiveFailure: sc.Counter("passive_failure"), networkFailure: sc.Counter("network_failure"),
		verifyCluster: sc.Counter("verify_cluster"),
		healthy:       sc.Gauge("healthy"), degraded: sc.Gauge("degraded"),
	}
}

// hcResult is what one active health check came to.
type hcResult int

const (
	hcSuccess   hcResult = iota
	hcDegraded           // passed, but the host says it is degraded (x-envoy-degraded)
	hcFailed             // the host answered that it is unhealthy: fails at once
	hcRetriable          // an HTTP retriable status: counts towards unhealthy_threshold
	hcNetwork            // no answer (connect failure, reset, timeout): counts towards unhealthy_threshold
)

// probe runs one kind of check against one host, keeping whatever connection it
// reuses between checks. It is used by a single goroutine.
type probe interface {
	check(ctx context.Context) hcResult
	close()
}

// healthChecker is a cluster's active health checker: one goroutine per host runs
// checks on the configured schedule and sets or clears the host's FailedActiveHC
// (and DegradedActiveHC) flags; the cluster rebuilds its load balancer when they
// change. It runs from startHealth until the cluster is closed.
type healthChecker struct {
	c        *Cluster
	cfg      hcConfig
	newProbe func(*healthChecker, *Host) probe
	st       hcStats
	rnd      func(n uint64) uint64 // uniform in [0, n)

	mu       sync.Mutex
	ctx      context.Context // nil until started
	cancel   context.CancelFunc
	sessions map[*Host]*hcSession
	wg       sync.WaitGroup
}

func newHealthChecker(c *Cluster, hc *corev3.HealthCheck, scope stats.Scope) (*healthChecker, error) {
	cfg, err := parseHealthCheck(hc)
	if err != nil {
		return nil, err
	}
	k := &healthChecker{c: c, cfg: cfg, st: newHCStats(scope), rnd: rand.Uint64N, sessions: map[*Host]*hcSession{}}
	switch {
	case hc.GetHttpHealthCheck() != nil:
		k.newProbe, err = httpProber(c, hc.GetHttpHealthCheck())
		err = wrapField("http_health_check", err)
	case hc.GetTcpHealthCheck() != nil:
		k.newProbe, err = tcpProber(hc.GetTcpHealthCheck())
		err = wrapField("tcp_health_check", err)
	case hc.GetGrpcHealthCheck() != nil:
		k.newProbe, err = grpcProber(c, hc.GetGrpcHealthCheck())
		err = wrapField("grpc_health_check", err)
	default:
		err = errors.New("one of http_health_check, tcp_health_check or grpc_health_check is required")
	}
	return k, err
}

func wrapField(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s.%w", field, err)
}

// dial connects to the host for a check: its address, or alt_port on its IP.
func (k *healthChecker) dial(ctx context.Context, h *Host) (net.Conn, error) {
	addr := h.Address()
	if k.cfg.altPort != 0 {
		addr = netip.AddrPortFrom(addr.Addr(), k.cfg.altPort)
	}
	return h.dialTo(ctx, addr)
}

// start begins checking the cluster's current hosts.
func (k *healthChecker) start(ctx context.Context) {
	k.mu.Lock()
	k.ctx, k.cancel = context.WithCancel(ctx)
	k.mu.Unlock()
	k.hostsChanged(k.c.Hosts())
}

// hostsChanged starts sessions for new hosts and stops those of removed ones.
func (k *healthChecker) hostsChanged(hosts []*Host) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ctx == nil || k.ctx.Err() != nil {
		return
	}
	keep := make(map[*Host]bool, len(hosts))
	for _, h := range hosts {
		keep[h] = true
		if k.sessions[h] == nil {
			k.startSession(h)
		}
	}
	for h, s := range k.sessions {
		if !keep[h] {
			s.cancel()
			delete(k.sessions, h)
		}
	}
	k.updateGauges()
}

func (k *healthChecker) startSession(h *Host) {
	ctx, cancel := context.WithCancel(k.ctx)
	s := &hcSession{k: k, h: h, p: k.newProbe(k, h), cancel: cancel, first: true}
	k.sessions[h] = s
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		s.run(ctx)
	}()
}

// stopAndWait stops every session and waits for their goroutines to return.
func (k *healthChecker) stopAndWait() {
	k.mu.Lock()
	if k.cancel != nil {
		k.cancel()
	}
	k.sessions = map[*Host]*hcSession{}
	k.mu.Unlock()
	k.wg.Wait()
}

// updateGauges sets health_check.healthy and .degraded. k.mu is held.
func (k *healthChecker) updateGauges() {
	var healthy, degraded int64
	for h := range k.sessions {
		f := h.Health()
		if f&FailedActiveHC == 0 {
			healthy++
		}
		if f&DegradedActiveHC != 0 {
			degraded++
		}
	}
	k.st.healthy.Set(healthy)
	k.st.degraded.Set(degraded)
}

// buildHealth builds the cluster's outlier detector and active health checker.
func (c *Cluster) buildHealth(cfg *clusterv3.Cluster, scope stats.Scope) error {
	if od := cfg.GetOutlierDetection(); od != nil {
		ocfg, err := parseOutlier(od)
		if err != nil {
			return err
		}
		c.outlier = newOutlierDetector(c, ocfg, scope)
		c.observer = c.outlier
	}
	switch hcs := cfg.GetHealthChecks(); {
	case len(hcs) == 0:
		return nil
	case len(hcs) > 1:
		return errors.New("health_checks: only one health check per cluster is supported, as in Envoy")
	case c.kind == kindOriginalDst:
		return errors.New("health_checks: not supported for ORIGINAL_DST clusters")
	default:
		k, err := newHealthChecker(c, hcs[0], scope)
		if err != nil {
			return fmt.Errorf("health_checks[0].%w", err)
		}
		c.health = k
	}
	return nil
}

// startHealth starts the cluster's health checking goroutines; they run until close.
func (c *Cluster) startHealth() {
	if c.outlier != nil {
		c.outlier.start(context.Background())
	}
	if c.health != nil {
		c.health.start(context.Background())
	}
}

// stopHealth stops the health checking goroutines and waits for them.
func (c *Cluster) stopHealth() {
	if c.health != nil {
		c.health.stopAndWait()
	}
	if c.outlier != nil {
		c.outlier.stopAndWait()
	}
}

// hostsChanged tells the health checkers that the membership changed. c.mu is held
// when it is called from setHosts.
func (c *Cluster) hostsChanged(hosts []*Host) {
	if c.outlier != nil {
		c.outlier.hostsChanged(hosts)
	}
	if c.health != nil {
		c.health.hostsChanged(hosts)
	}
}
