package xdsgen

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// policy is a DestinationRule's traffic policy for one port and subset, merged as Istio
// merges it: the top level, its port-level settings, the subset's policy and the
// subset's port-level settings, each part replacing the one before whole. Each part
// keeps the path it came from, for errors.
type policy struct {
	lb          *networking.LoadBalancerSettings
	pool        *networking.ConnectionPoolSettings
	outlier     *networking.OutlierDetection
	tls         *networking.ClientTLSSettings
	lbPath      string
	poolPath    string
	outlierPath string
	tlsPath     string
}

// policyErr is a DestinationRule field that cannot be applied.
type policyErr struct{ path, reason string }

func mergePolicy(spec *networking.DestinationRule, sub *subsetRef, port uint32) policy {
	var p policy
	p.add(spec.GetTrafficPolicy(), "spec.trafficPolicy", port)
	if sub != nil {
		p.add(sub.s.GetTrafficPolicy(), fmt.Sprintf("spec.subsets[%d].trafficPolicy", sub.i), port)
	}
	return p
}

func (p *policy) add(tp *networking.TrafficPolicy, path string, port uint32) {
	if tp == nil {
		return
	}
	p.set(tp.GetLoadBalancer(), tp.GetConnectionPool(), tp.GetOutlierDetection(), tp.GetTls(), path)
	for i, pl := range tp.GetPortLevelSettings() {
		if pl.GetPort().GetNumber() == port {
			p.set(pl.GetLoadBalancer(), pl.GetConnectionPool(), pl.GetOutlierDetection(), pl.GetTls(),
				fmt.Sprintf("%s.portLevelSettings[%d]", path, i))
		}
	}
}

func (p *policy) set(lb *networking.LoadBalancerSettings, pool *networking.ConnectionPoolSettings,
	od *networking.OutlierDetection, tls *networking.ClientTLSSettings, path string) {
	if lb != nil {
		p.lb, p.lbPath = lb, path+".loadBalancer"
	}
	if pool != nil {
		p.pool, p.poolPath = pool, path+".connectionPool"
	}
	if od != nil {
		p.outlier, p.outlierPath = od, path+".outlierDetection"
	}
	if tls != nil {
		p.tls, p.tlsPath = tls, path+".tls"
	}
}

// applyPolicy applies a merged traffic policy to an outbound cluster.
func (g *gen) applyPolicy(c *clusterv3.Cluster, svc *mesh.Service, port mesh.Port, p policy) *policyErr {
	if p.pool.GetHttp().GetH2UpgradePolicy() == networking.ConnectionPoolSettings_HTTPSettings_UPGRADE {
		setH2(c)
	}
	applyPool(c, p.pool)
	applyOutlier(c, p.outlier)
	applyLB(c, p.lb)
	if err := g.applyTLS(c, svc, p.tls, p.tlsPath); err != nil {
		return err
	}
	if c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
		c.LbConfig = nil
	}
	return nil
}

// applyPool turns connectionPool into circuit breakers, the connect timeout and the
// upstream HTTP options, as Istio does.
func applyPool(c *clusterv3.Cluster, pool *networking.ConnectionPoolSettings) {
	if pool == nil {
		return
	}
	th := c.GetCircuitBreakers().GetThresholds()[0]
	h, t := pool.GetHttp(), pool.GetTcp()
	setPositive(&th.MaxRequests, h.GetHttp2MaxRequests())
	setPositive(&th.MaxPendingRequests, h.GetHttp1MaxPendingRequests())
	setPositive(&th.MaxRetries, h.GetMaxRetries())
	setPositive(&th.MaxConnections, t.GetMaxConnections())
	if t.GetConnectTimeout() != nil {
		c.ConnectTimeout = t.GetConnectTimeout()
	}
	idle := h.GetIdleTimeout()
	if idle == nil {
		idle = t.GetIdleTimeout()
	}
	perConn, streams := h.GetMaxRequestsPerConnection(), h.GetMaxConcurrentStreams()
	if idle == nil && perConn <= 0 && streams <= 0 && !h.GetUseClientProtocol() {
		return
	}
	opts := httpOptions(c)
	if idle != nil || perConn > 0 {
		common := &corev3.HttpProtocolOptions{IdleTimeout: idle}
		if perConn > 0 {
			common.MaxRequestsPerConnection = u32(uint32(perConn))
		}
		opts.CommonHttpProtocolOptions = common
	}
	if h2 := opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions(); h2 != nil && streams > 0 {
		h2.MaxConcurrentStreams = u32(uint32(streams))
	}
	if h.GetUseClientProtocol() {
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}, Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
			},
		}
	}
	setHTTPOptions(c, opts)
}

func setPositive(dst **wrapperspb.UInt32Value, v int32) {
	if v > 0 {
		*dst = u32(uint32(v))
	}
}

// applyOutlier turns outlierDetection into Envoy's outlier detection, success-rate
// ejection off, and the panic threshold from minHealthPercent (0 when unset, as Istio).
func applyOutlier(c *clusterv3.Cluster, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{EnforcingSuccessRate: u32(0)}
	if v := od.GetConsecutive_5XxErrors(); v != nil {
		out.Consecutive_5Xx, out.EnforcingConsecutive_5Xx = u32(v.GetValue()), enforce(v.GetValue())
	}
	switch v := od.GetConsecutiveGatewayErrors(); {
	case v != nil:
		out.ConsecutiveGatewayFailure, out.EnforcingConsecutiveGatewayFailure = u32(v.GetValue()), enforce(v.GetValue())
	case od.GetConsecutiveErrors() > 0: // deprecated: 502, 503 and 504 count
		n := uint32(od.GetConsecutiveErrors())
		out.ConsecutiveGatewayFailure, out.EnforcingConsecutiveGatewayFailure = u32(n), u32(100)
		if out.Consecutive_5Xx == nil {
			out.EnforcingConsecutive_5Xx = u32(0)
		}
	}
	out.Interval = od.GetInterval()
	out.BaseEjectionTime = od.GetBaseEjectionTime()
	setPositive(&out.MaxEjectionPercent, od.GetMaxEjectionPercent())
	if od.GetSplitExternalLocalOriginErrors() {
		out.SplitExternalLocalOriginErrors = true
		if n := od.GetConsecutiveLocalOriginFailures().GetValue(); n > 0 {
			out.ConsecutiveLocalOriginFailure, out.EnforcingConsecutiveLocalOriginFailure = u32(n), u32(100)
		}
		out.EnforcingLocalOriginSuccessRate = u32(0)
	}
	c.OutlierDetection = out
	if c.CommonLbConfig == nil {
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{}
	}
	c.CommonLbConfig.HealthyPanicThreshold = &typev3.Percent{Value: float64(max(od.GetMinHealthPercent(), 0))}
}

func enforce(n uint32) *wrapperspb.UInt32Value {
	if n > 0 {
		return u32(100)
	}
	return u32(0)
}

// applyLB sets the load-balancing policy: simple policies, consistent hashing (ring
// hash or Maglev; the routes carry the hash key), or PASSTHROUGH to the original
// destination. Unset is LEAST_REQUEST, Istio's default.
func applyLB(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings) {
	if lb == nil {
		return
	}
	switch lb.GetSimple() {
	case networking.LoadBalancerSettings_ROUND_ROBIN:
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		if ss := slowStart(lb); ss != nil {
			c.LbConfig = &clusterv3.Cluster_RoundRobinLbConfig_{RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{SlowStartConfig: ss}}
		}
	case networking.LoadBalancerSettings_RANDOM:
		c.LbPolicy = clusterv3.Cluster_RANDOM
	case networking.LoadBalancerSettings_PASSTHROUGH:
		setOriginalDst(c)
	default: // UNSPECIFIED, LEAST_CONN, LEAST_REQUEST
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
		if ss := slowStart(lb); ss != nil {
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{SlowStartConfig: ss}}
		}
	}
	ch := lb.GetConsistentHash()
	switch {
	case ch == nil:
	case ch.GetMaglev() != nil:
		c.LbPolicy = clusterv3.Cluster_MAGLEV
		if n := ch.GetMaglev().GetTableSize(); n > 0 {
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(n)}}
		}
	default:
		size := uint64(1024)
		if n := ch.GetRingHash().GetMinimumRingSize(); n > 0 {
			size = n
		} else if n := ch.GetMinimumRingSize(); n > 0 { //nolint:staticcheck // the deprecated field still works
			size = n
		}
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{MinimumRingSize: wrapperspb.UInt64(size)}}
	}
}

// slowStart translates warmup (or the older warmupDurationSecs) into Envoy's slow
// start, as Istio does for round robin and least request; other policies ignore it.
func slowStart(lb *networking.LoadBalancerSettings) *clusterv3.Cluster_SlowStartConfig {
	w := lb.GetWarmup()
	window := w.GetDuration()
	if window == nil {
		window = lb.GetWarmupDurationSecs() //nolint:staticcheck // the deprecated field still works
	}
	if window == nil {
		return nil
	}
	ss := &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: window}
	if a := w.GetAggression(); a != nil {
		ss.Aggression = &corev3.RuntimeDouble{DefaultValue: a.GetValue()}
	}
	if p := w.GetMinimumPercent(); p != nil {
		ss.MinWeightPercent = &typev3.Percent{Value: p.GetValue()}
	}
	return ss
}

func (e *policyErr) Error() string { return e.path + ": " + e.reason }
