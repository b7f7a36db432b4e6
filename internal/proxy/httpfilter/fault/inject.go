package fault

import (
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/stats"
)

// injection is one request's pass through the filter.
type injection struct {
	f   *Filter
	set *Settings
	s   *httpfilter.Stream
	// cluster is x-envoy-downstream-service-cluster: it selects per-cluster runtime
	// keys and stats.
	cluster string
	active  bool
}

// clusterKey returns the per-downstream-cluster runtime key fault.http.<cluster><suffix>,
// or "" when the request names no downstream cluster or there is no runtime to read.
func (in *injection) clusterKey(suffix string) string {
	if in.cluster == "" || in.f.rt == nil {
		return ""
	}
	return "fault.http." + in.cluster + suffix
}

// enabled decides a fault's percentage: the per-cluster runtime key when there is a
// downstream cluster, else key, with pct as the default.
func (in *injection) enabled(key, clusterSuffix string, pct runtime.Fraction) bool {
	if ck := in.clusterKey(clusterSuffix); ck != "" {
		key = ck
	}
	return in.f.rt.FeatureEnabled(key, pct, in.f.random())
}

// delayDuration returns the delay to inject, if the request gets one: the fixed or
// header-given delay, overridden by runtime, when the percentage selects the request.
func (in *injection) delayDuration() (time.Duration, bool) {
	d := in.set.delay
	if d == nil {
		return 0, false
	}
	h := &in.s.Request
	pct := d.pct
	if d.fromHeader {
		pct = headerPercent(h, hdrDelayPercent, pct)
	}
	if !in.enabled(in.set.keys.delayPercent, ".delay.fixed_delay_percent", pct) {
		return 0, false
	}
	ms := uint64(d.fixed.Milliseconds())
	if d.fromHeader {
		v, ok := h.Lookup(hdrDelay)
		if !ok {
			return 0, false
		}
		if ms, ok = parseUint(v); !ok {
			return 0, false
		}
	}
	ms = in.f.rt.Uint(in.set.keys.delayDuration, ms)
	if ck := in.clusterKey(".delay.fixed_duration_ms"); ck != "" {
		ms = in.f.rt.Uint(ck, ms)
	}
	if ms == 0 {
		return 0, false
	}
	return time.Duration(min(ms, uint64(maxDelayMs))) * time.Millisecond, true
}

// abortStatus returns the abort to inject, if the request gets one: an HTTP status,
// or status 200 with a gRPC status (grpc >= 0).
func (in *injection) abortStatus() (code, grpc int, ok bool) {
	a := in.set.abort
	if a == nil {
		return 0, -1, false
	}
	h := &in.s.Request
	pct := a.pct
	if a.fromHeader {
		pct = headerPercent(h, hdrAbortPercent, pct)
	}
	if !in.enabled(in.set.keys.abortPercent, ".abort.abort_percent", pct) {
		return 0, -1, false
	}
	if c, ok := a.httpCode(h); ok {
		if o := in.override(in.set.keys.abortHTTP, ".abort.http_status", c); o >= 200 && o < 600 {
			c = o
		}
		return c, -1, true
	}
	if g, ok := a.grpcCode(h); ok {
		return 200, in.override(in.set.keys.abortGRPC, ".abort.grpc_status", g), true
	}
	return 0, -1, false
}

// override applies the runtime key, then the per-cluster key, to a status; like
// Envoy, the per-cluster key falls back to the configured status. An HTTP status
// outside [200, 600) from runtime is ignored.
func (in *injection) override(key, clusterSuffix string, def int) int {
	v := in.f.rt.Uint(key, uint64(def))
	if ck := in.clusterKey(clusterSuffix); ck != "" {
		v = in.f.rt.Uint(ck, uint64(def))
	}
	return int(min(v, 999))
}

// httpCode returns the abort's HTTP status: the configured one, or the request's
// x-envoy-fault-abort-request when it is in [200, 600).
func (a *abortSpec) httpCode(h *header.Map) (int, bool) {
	if !a.fromHeader {
		return a.httpStatus, a.httpStatus != 0
	}
	v, ok := h.Lookup(hdrAbort)
	if !ok {
		return 0, false
	}
	c, ok := parseUint(v)
	if !ok || c < 200 || c >= 600 {
		return 0, false
	}
	return int(c), true
}

// grpcCode returns the abort's gRPC status: the configured one, or the request's
// x-envoy-fault-abort-grpc-request.
func (a *abortSpec) grpcCode(h *header.Map) (int, bool) {
	if !a.fromHeader {
		return a.grpcStatus, a.grpcStatus >= 0
	}
	v, ok := h.Lookup(hdrAbortGRPC)
	if !ok {
		return 0, false
	}
	c, ok := parseUint(v)
	if !ok || c > 1<<31 {
		return 0, false
	}
	return int(c), true
}

// activate counts the request as an active fault, once per request, unless
// max_active_faults (or its runtime key) is reached; overflow is counted.
func (in *injection) activate() bool {
	if in.active {
		return true
	}
	limit := in.f.rt.Uint(in.set.keys.maxActive, in.set.maxActive)
	if n := in.f.st.active.Value(); n >= 0 && uint64(n) >= limit {
		in.f.st.overflow.Inc()
		return false
	}
	in.f.st.active.Inc()
	in.active = true
	return true
}

// release ends the request's active fault.
func (in *injection) release() {
	if in.active {
		in.f.st.active.Dec()
		in.active = false
	}
}

// delay holds the stream for d. It reports false when the client went away first;
// the stream is then reset.
func (in *injection) delay(d time.Duration) bool {
	in.count(".delays_injected", in.f.st.delays)
	in.s.Info.AddFlag(streaminfo.DelayInjected)
	in.setMetadata()
	if !in.f.wait(in.s.Ctx, d) {
		if te := in.s.Timeout(); te != nil {
			in.s.SendTimeoutReply(te)
			return false
		}
		in.s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
		in.s.Reset()
		return false
	}
	return true
}

// abort answers the request with the fault's status; the request is an active fault.
func (in *injection) abort(code, grpc int) {
	in.count(".aborts_injected", in.f.st.aborts)
	in.setMetadata()
	in.s.SendLocalReplyGRPC(code, grpc, in.set.abort.body, streaminfo.FaultInjected, "fault_filter_abort", nil)
}

// count increments a fault counter and, unless disable_downstream_cluster_stats is
// set, its fault.<downstream_cluster>. twin.
func (in *injection) count(suffix string, c *stats.Counter) {
	c.Inc()
	if in.cluster != "" && !in.set.noClusterStats {
		in.f.scope.Counter(in.cluster + suffix).Inc()
	}
}

// setMetadata adds the config's filter_metadata to the request's dynamic metadata.
func (in *injection) setMetadata() {
	if in.set.metadata == nil {
		return
	}
	if in.s.Info.Metadata == nil {
		in.s.Info.Metadata = map[string]map[string]any{}
	}
	in.s.Info.Metadata[Name] = in.set.metadata
}
