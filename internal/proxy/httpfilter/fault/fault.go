package fault

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/stats"
)

const (
	// TypeURL is the type URL of the filter's config.
	TypeURL = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
	// Name is the filter's extension name, also its key in typed_per_filter_config and
	// the namespace of the dynamic metadata it sets.
	Name = "envoy.filters.http.fault"
	// typeName is the config's type name, the other key typed_per_filter_config may use.
	typeName = "envoy.extensions.filters.http.fault.v3.HTTPFault"
)

func init() {
	httpfilter.Register(httpfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{Name},
		NewConfig: func() proto.Message { return &faultv3.HTTPFault{} },
		New: func(cfg proto.Message, deps *httpfilter.Deps) (httpfilter.Filter, error) {
			return New(cfg.(*faultv3.HTTPFault), deps)
		},
		PerRoute: parsePerRoute,
	})
	config.Support(&faultv3.HTTPFault{}, "delay", "abort", "upstream_cluster", "headers",
		"downstream_nodes", "max_active_faults", "delay_percent_runtime", "abort_percent_runtime",
		"delay_duration_runtime", "abort_http_status_runtime", "abort_grpc_status_runtime",
		"max_active_faults_runtime", "disable_downstream_cluster_stats", "filter_metadata")
	config.Support(&faultv3.FaultAbort{}, "http_status", "grpc_status", "header_abort", "percentage", "response_body")
	config.Support(&faultv3.FaultAbort_HeaderAbort{})
	config.Support(&commonfaultv3.FaultDelay{}, "fixed_delay", "header_delay", "percentage")
	config.Support(&commonfaultv3.FaultDelay_HeaderDelay{})
}

// Filter injects faults. One Filter serves every stream of its filter chain.
type Filter struct {
	settings *Settings
	rt       *runtime.Store
	scope    stats.Scope // http.<stat_prefix>.fault.
	st       filterStats
	// random draws the number a percentage is decided with; each decision draws anew.
	random func() uint64
	// wait blocks for d or until ctx ends, and reports whether d elapsed.
	wait func(ctx context.Context, d time.Duration) bool
}

type filterStats struct {
	delays, aborts, overflow *stats.Counter
	active                   *stats.Gauge
}

var _ httpfilter.Filter = (*Filter)(nil)

// New builds the filter from its config.
func New(cfg *faultv3.HTTPFault, deps *httpfilter.Deps) (*Filter, error) {
	set, err := NewSettings(cfg)
	if err != nil {
		return nil, err
	}
	sc := deps.Stats.Scope(deps.StatPrefix + "fault.")
	return &Filter{
		settings: set,
		rt:       deps.Runtime,
		scope:    sc,
		st: filterStats{
			delays: sc.Counter("delays_injected"), aborts: sc.Counter("aborts_injected"),
			overflow: sc.Counter("faults_overflow"), active: sc.Gauge("active_faults"),
		},
		random: rand.Uint64,
		wait:   timerWait,
	}, nil
}

func timerWait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// DecodeHeaders injects the faults the request is selected for. A delay blocks the
// stream and may be followed by an abort; an abort answers the request and stops the
// chain.
func (f *Filter) DecodeHeaders(s *httpfilter.Stream) httpfilter.Status {
	set := f.settingsFor(s)
	if !set.selects(s) {
		return httpfilter.Continue
	}
	in := injection{f: f, set: set, s: s, cluster: s.Request.Get(hdrDownstreamCluster)}
	defer in.release()
	if d, ok := in.delayDuration(); ok && in.activate() {
		if !in.delay(d) {
			return httpfilter.Stop
		}
		if code, grpc, ok := in.abortStatus(); ok {
			in.abort(code, grpc)
			return httpfilter.Stop
		}
		in.release() // a delay not followed by an abort stops being active
		return httpfilter.Continue
	}
	if code, grpc, ok := in.abortStatus(); ok && in.activate() {
		in.abort(code, grpc)
		return httpfilter.Stop
	}
	return httpfilter.Continue
}

// settingsFor returns the route's override, else the filter's config. The override
// may be keyed by the filter's name or, as the registry also accepts, its type name.
func (f *Filter) settingsFor(s *httpfilter.Stream) *Settings {
	if s.Route != nil {
		if v, ok := s.Route.PerFilterConfig(Name).(*Settings); ok {
			return v
		}
		if v, ok := s.Route.PerFilterConfig(typeName).(*Settings); ok {
			return v
		}
	}
	return f.settings
}

// selects reports whether the request is eligible for the config's faults: bound for
// upstream_cluster, from one of downstream_nodes, matching every header matcher.
func (set *Settings) selects(s *httpfilter.Stream) bool {
	if set.delay == nil && set.abort == nil {
		return false
	}
	if set.upstreamCluster != "" && (s.Route == nil || s.Route.ClusterName(&s.Request) != set.upstreamCluster) {
		return false
	}
	if set.nodes != nil {
		n, ok := s.Request.Lookup(hdrDownstreamNode)
		if !ok || !set.nodes[n] {
			return false
		}
	}
	for _, m := range set.headers {
		if !m.Matches(&s.Request) {
			return false
		}
	}
	return true
}

// maxDelayMs keeps a header-given delay from overflowing time.Duration.
const maxDelayMs = math.MaxInt64 / int64(time.Millisecond)
