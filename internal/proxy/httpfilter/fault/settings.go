package fault

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
)

// The request headers that control header faults.
const (
	hdrDelay             = "x-envoy-fault-delay-request"
	hdrDelayPercent      = "x-envoy-fault-delay-request-percentage"
	hdrAbort             = "x-envoy-fault-abort-request"
	hdrAbortGRPC         = "x-envoy-fault-abort-grpc-request"
	hdrAbortPercent      = "x-envoy-fault-abort-request-percentage"
	hdrDownstreamNode    = "x-envoy-downstream-service-node"
	hdrDownstreamCluster = "x-envoy-downstream-service-cluster"
)

// defaultAbortBody is the body of an abort when the config gives none.
const defaultAbortBody = "fault filter abort"

// runtimeKeys are the runtime keys a fault config reads, Envoy's defaults unless the
// config names others.
type runtimeKeys struct {
	delayPercent, abortPercent, delayDuration, abortHTTP, abortGRPC, maxActive string
}

// Settings is a compiled HTTPFault: the filter's config or a route's override. It is
// immutable.
type Settings struct {
	delay           *delaySpec
	abort           *abortSpec
	upstreamCluster string
	headers         []*route.HeaderMatcher
	nodes           map[string]bool
	maxActive       uint64 // math.MaxUint64: unlimited
	keys            runtimeKeys
	noClusterStats  bool
	metadata        map[string]any
}

// delaySpec is a compiled FaultDelay.
type delaySpec struct {
	fixed      time.Duration
	fromHeader bool
	pct        runtime.Fraction
}

// abortSpec is a compiled FaultAbort. Exactly one of httpStatus, grpcStatus (>= 0)
// and fromHeader is set.
type abortSpec struct {
	httpStatus int
	grpcStatus int
	fromHeader bool
	pct        runtime.Fraction
	body       string
}

// NewSettings compiles an HTTPFault. Errors name the offending field.
func NewSettings(cfg *faultv3.HTTPFault) (*Settings, error) {
	s := &Settings{
		upstreamCluster: cfg.GetUpstreamCluster(),
		maxActive:       math.MaxUint64,
		noClusterStats:  cfg.GetDisableDownstreamClusterStats(),
		keys: runtimeKeys{
			delayPercent:  or(cfg.GetDelayPercentRuntime(), "fault.http.delay.fixed_delay_percent"),
			abortPercent:  or(cfg.GetAbortPercentRuntime(), "fault.http.abort.abort_percent"),
			delayDuration: or(cfg.GetDelayDurationRuntime(), "fault.http.delay.fixed_duration_ms"),
			abortHTTP:     or(cfg.GetAbortHttpStatusRuntime(), "fault.http.abort.http_status"),
			abortGRPC:     or(cfg.GetAbortGrpcStatusRuntime(), "fault.http.abort.grpc_status"),
			maxActive:     or(cfg.GetMaxActiveFaultsRuntime(), "fault.http.max_active_faults"),
		},
	}
	if m := cfg.GetMaxActiveFaults(); m != nil {
		s.maxActive = uint64(m.GetValue())
	}
	for _, n := range cfg.GetDownstreamNodes() {
		if s.nodes == nil {
			s.nodes = map[string]bool{}
		}
		s.nodes[n] = true
	}
	if md := cfg.GetFilterMetadata(); md != nil {
		s.metadata = md.AsMap()
	}
	for i, h := range cfg.GetHeaders() {
		m, err := route.NewHeaderMatcher(h)
		if err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
		s.headers = append(s.headers, m)
	}
	var err error
	if s.delay, err = compileDelay(cfg.GetDelay()); err != nil {
		return nil, fmt.Errorf("delay: %w", err)
	}
	if s.abort, err = compileAbort(cfg.GetAbort()); err != nil {
		return nil, fmt.Errorf("abort: %w", err)
	}
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func compileDelay(d *commonfaultv3.FaultDelay) (*delaySpec, error) {
	if d == nil {
		return nil, nil
	}
	spec := &delaySpec{pct: runtime.FractionFromProto(d.GetPercentage())}
	switch t := d.GetFaultDelaySecifier().(type) {
	case *commonfaultv3.FaultDelay_FixedDelay:
		spec.fixed = t.FixedDelay.AsDuration()
		if spec.fixed <= 0 {
			return nil, fmt.Errorf("fixed_delay: must be greater than zero")
		}
	case *commonfaultv3.FaultDelay_HeaderDelay_:
		spec.fromHeader = true
	default:
		return nil, fmt.Errorf("one of fixed_delay or header_delay is required")
	}
	return spec, nil
}

func compileAbort(a *faultv3.FaultAbort) (*abortSpec, error) {
	if a == nil {
		return nil, nil
	}
	spec := &abortSpec{grpcStatus: -1, pct: runtime.FractionFromProto(a.GetPercentage()), body: or(a.GetResponseBody(), defaultAbortBody)}
	switch t := a.GetErrorType().(type) {
	case *faultv3.FaultAbort_HttpStatus:
		if t.HttpStatus < 200 || t.HttpStatus >= 600 {
			return nil, fmt.Errorf("http_status: %d is not in [200, 600)", t.HttpStatus)
		}
		spec.httpStatus = int(t.HttpStatus)
	case *faultv3.FaultAbort_GrpcStatus:
		spec.grpcStatus = int(t.GrpcStatus)
	case *faultv3.FaultAbort_HeaderAbort_:
		spec.fromHeader = true
	default:
		return nil, fmt.Errorf("one of http_status, grpc_status or header_abort is required")
	}
	return spec, nil
}

// parsePerRoute parses a route's typed_per_filter_config for the filter: an HTTPFault
// that replaces the filter's config on that route.
func parsePerRoute(a *anypb.Any) (any, error) {
	if a.GetTypeUrl() != TypeURL {
		return nil, fmt.Errorf("fault: per-route config must be %s, not %s", TypeURL, a.GetTypeUrl())
	}
	cfg := &faultv3.HTTPFault{}
	if err := a.UnmarshalTo(cfg); err != nil {
		return nil, fmt.Errorf("fault: %w", err)
	}
	if err := config.Validate(cfg); err != nil {
		return nil, fmt.Errorf("fault: %w", err)
	}
	return NewSettings(cfg)
}

// headerPercent returns the fraction of a header fault: the percentage header's value
// as numerator, capped at the config's, else the config's fraction.
func headerPercent(h *header.Map, name string, def runtime.Fraction) runtime.Fraction {
	v, ok := h.Lookup(name)
	if !ok {
		return def
	}
	n, ok := parseUint(v)
	if !ok {
		return def
	}
	return runtime.Fraction{Numerator: uint32(min(n, uint64(def.Numerator))), Denominator: def.Denominator}
}

// parseUint parses a decimal unsigned integer, as Envoy reads the untrusted fault
// headers (only the first value counts).
func parseUint(s string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
