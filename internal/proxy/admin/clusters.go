package admin

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// handleClusters serves /clusters: Envoy's cluster::key::value text, or the
// envoy.admin.v3.Clusters proto with ?format=json. The outlier:: lines appear for
// clusters with outlier detection; host success rates are -1 (unknown) without it or
// when the last interval had too few requests, as in Envoy; no host is a canary.
func (s *Server) handleClusters(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("format") == "json" {
		s.writeJSON(w, s.clustersProto(), setFields)
		return
	}
	var b bytes.Buffer
	for _, c := range s.clusters() {
		writeClusterText(&b, c)
	}
	w.Write(b.Bytes())
}

func writeClusterText(b *bytes.Buffer, c *upstream.Cluster) {
	name := c.Name()
	fmt.Fprintf(b, "%s::observability_name::%s\n", name, observabilityName(c))
	if sr, ok := c.OutlierSuccessRates(); ok {
		fmt.Fprintf(b, "%s::outlier::success_rate_average::%s\n", name, formatG(sr.Average))
		fmt.Fprintf(b, "%s::outlier::success_rate_ejection_threshold::%s\n", name, formatG(sr.EjectionThreshold))
		fmt.Fprintf(b, "%s::outlier::local_origin_success_rate_average::%s\n", name, formatG(sr.LocalOriginAverage))
		fmt.Fprintf(b, "%s::outlier::local_origin_success_rate_ejection_threshold::%s\n", name,
			formatG(sr.LocalOriginEjectionThreshold))
	}
	writeBreakerText(b, name, "default", c.Breaker(false))
	writeBreakerText(b, name, "high", c.Breaker(true))
	fmt.Fprintf(b, "%s::added_via_api::%t\n", name, c.AddedViaAPI())
	if eds := edsServiceName(c); eds != "" {
		fmt.Fprintf(b, "%s::eds_service_name::%s\n", name, eds)
	}
	for _, h := range hostsOf(c) {
		writeHostText(b, name, h)
	}
}

func writeBreakerText(b *bytes.Buffer, name, priority string, br *connpool.Breaker) {
	if br == nil {
		return
	}
	fmt.Fprintf(b, "%s::%s_priority::max_connections::%d\n", name, priority, br.Connections.Max())
	fmt.Fprintf(b, "%s::%s_priority::max_pending_requests::%d\n", name, priority, br.Pending.Max())
	fmt.Fprintf(b, "%s::%s_priority::max_requests::%d\n", name, priority, br.Requests.Max())
	fmt.Fprintf(b, "%s::%s_priority::max_retries::%d\n", name, priority, br.Retries.Max())
}

// hostStat is one of a host's counters or gauges, under Envoy's name.
type hostStat struct {
	name  string
	value uint64
	gauge bool
}

// hostStats lists a host's stats in Envoy's definition order: counters, then gauges.
func hostStats(h *upstream.Host) []hostStat {
	st := &h.Stats
	return []hostStat{
		{"cx_connect_fail", st.CxConnectFail.Load(), false},
		{"cx_total", st.CxTotal.Load(), false},
		{"rq_error", st.RqError.Load(), false},
		{"rq_success", st.RqSuccess.Load(), false},
		{"rq_timeout", st.RqTimeout.Load(), false},
		{"rq_total", st.RqTotal.Load(), false},
		{"cx_active", nonNegative(st.CxActive.Load()), true},
		{"rq_active", nonNegative(st.RqActive.Load()), true},
	}
}

func nonNegative(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// textOrder is the order of hostStats in /clusters text, which Envoy sorts by name.
var textOrder = [...]int{6, 0, 1, 7, 2, 3, 4, 5}

func writeHostText(b *bytes.Buffer, cluster string, h *upstream.Host) {
	p := cluster + "::" + h.Address().String() + "::"
	st := hostStats(h)
	for _, i := range textOrder {
		fmt.Fprintf(b, "%s%s::%d\n", p, st[i].name, st[i].value)
	}
	loc := h.Locality()
	fmt.Fprintf(b, "%shostname::%s\n", p, h.Hostname())
	fmt.Fprintf(b, "%shealth_flags::%s\n", p, h.Health().Flags())
	fmt.Fprintf(b, "%sweight::%d\n", p, h.Weight())
	fmt.Fprintf(b, "%sregion::%s\n", p, loc.Region)
	fmt.Fprintf(b, "%szone::%s\n", p, loc.Zone)
	fmt.Fprintf(b, "%ssub_zone::%s\n", p, loc.SubZone)
	fmt.Fprintf(b, "%scanary::false\n", p)
	fmt.Fprintf(b, "%spriority::%d\n", p, h.Priority())
	ext, local := h.SuccessRate()
	fmt.Fprintf(b, "%ssuccess_rate::%s\n", p, formatRate(ext))
	fmt.Fprintf(b, "%slocal_origin_success_rate::%s\n", p, formatRate(local))
}

// formatRate writes a host's success rate as Envoy's fmt "{}" does: the shortest
// form, with ".0" on whole numbers (-1.0 when unknown).
func formatRate(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// formatG writes a cluster's success-rate figure as Envoy's fmt "{:g}" does.
func formatG(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// observabilityName is the cluster's alt_stat_name, or its name.
func observabilityName(c *upstream.Cluster) string {
	if alt := c.Config().GetAltStatName(); alt != "" {
		return alt
	}
	return c.Name()
}

func edsServiceName(c *upstream.Cluster) string {
	return c.Config().GetEdsClusterConfig().GetServiceName()
}

// hostsOf lists a cluster's hosts: the configured ones, or for an ORIGINAL_DST
// cluster the destinations it currently knows.
func hostsOf(c *upstream.Cluster) []*upstream.Host {
	if c.IsOriginalDst() {
		return c.OriginalHosts()
	}
	return c.Hosts()
}

// clustersProto builds envoy.admin.v3.Clusters.
func (s *Server) clustersProto() *adminv3.Clusters {
	out := &adminv3.Clusters{}
	for _, c := range s.clusters() {
		cs := &adminv3.ClusterStatus{
			Name:              c.Name(),
			ObservabilityName: observabilityName(c),
			EdsServiceName:    edsServiceName(c),
			AddedViaApi:       c.AddedViaAPI(),
			CircuitBreakers:   &clusterv3.CircuitBreakers{},
		}
		for _, high := range []bool{false, true} {
			if t := thresholds(c.Breaker(high), high); t != nil {
				cs.CircuitBreakers.Thresholds = append(cs.CircuitBreakers.Thresholds, t)
			}
		}
		if sr, ok := c.OutlierSuccessRates(); ok {
			if sr.EjectionThreshold > 0 {
				cs.SuccessRateEjectionThreshold = &typev3.Percent{Value: sr.EjectionThreshold}
			}
			if sr.LocalOriginEjectionThreshold > 0 {
				cs.LocalOriginSuccessRateEjectionThreshold = &typev3.Percent{Value: sr.LocalOriginEjectionThreshold}
			}
		}
		for _, h := range hostsOf(c) {
			cs.HostStatuses = append(cs.HostStatuses, hostStatus(h))
		}
		out.ClusterStatuses = append(out.ClusterStatuses, cs)
	}
	return out
}

func thresholds(br *connpool.Breaker, high bool) *clusterv3.CircuitBreakers_Thresholds {
	if br == nil {
		return nil
	}
	t := &clusterv3.CircuitBreakers_Thresholds{
		MaxConnections:     wrapperspb.UInt32(clampU32(br.Connections.Max())),
		MaxPendingRequests: wrapperspb.UInt32(clampU32(br.Pending.Max())),
		MaxRequests:        wrapperspb.UInt32(clampU32(br.Requests.Max())),
		MaxRetries:         wrapperspb.UInt32(clampU32(br.Retries.Max())),
	}
	if high {
		t.Priority = corev3.RoutingPriority_HIGH
	}
	return t
}

func clampU32(v int64) uint32 {
	switch {
	case v < 0:
		return 0
	case v > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(v)
}

func hostStatus(h *upstream.Host) *adminv3.HostStatus {
	loc := h.Locality()
	hs := &adminv3.HostStatus{
		Address:      socketAddress(h.Address()),
		Hostname:     h.Hostname(),
		Weight:       h.Weight(),
		Priority:     h.Priority(),
		Locality:     &corev3.Locality{Region: loc.Region, Zone: loc.Zone, SubZone: loc.SubZone},
		HealthStatus: healthStatus(h.Health()),
	}
	ext, local := h.SuccessRate()
	if ext >= 0 {
		hs.SuccessRate = &typev3.Percent{Value: ext}
	}
	if local >= 0 {
		hs.LocalOriginSuccessRate = &typev3.Percent{Value: local}
	}
	for _, st := range hostStats(h) {
		m := &adminv3.SimpleMetric{Name: st.name, Value: st.value}
		if st.gauge {
			m.Type = adminv3.SimpleMetric_GAUGE
		}
		hs.Stats = append(hs.Stats, m)
	}
	return hs
}

// healthStatus maps weft's health flags onto Envoy's HostHealthStatus.
func healthStatus(f upstream.Health) *adminv3.HostHealthStatus {
	hs := &adminv3.HostHealthStatus{
		FailedActiveHealthCheck:   f&upstream.FailedActiveHC != 0,
		FailedOutlierCheck:        f&upstream.FailedOutlierCheck != 0,
		FailedActiveDegradedCheck: f&upstream.DegradedActiveHC != 0,
		PendingDynamicRemoval:     f&upstream.PendingDynamicRemoval != 0,
		EdsHealthStatus:           corev3.HealthStatus_HEALTHY,
	}
	switch {
	case f&upstream.FailedEDSHealth != 0:
		hs.EdsHealthStatus = corev3.HealthStatus_UNHEALTHY
	case f&upstream.DegradedEDSHealth != 0:
		hs.EdsHealthStatus = corev3.HealthStatus_DEGRADED
	}
	return hs
}

// socketAddress is an address as Envoy's addressToProtobufAddress writes it.
func socketAddress(a netip.AddrPort) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       a.Addr().String(),
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(a.Port())},
	}}}
}
