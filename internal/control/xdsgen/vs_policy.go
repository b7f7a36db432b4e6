package xdsgen

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	networking "istio.io/api/networking/v1alpha3"
)

// headerEdits are the Envoy forms of an Istio Headers block.
type headerEdits struct {
	reqAdd, respAdd       []*corev3.HeaderValueOption
	reqRemove, respRemove []string
	authority             string // request set of :authority or host: a host rewrite
}

// headerOps translates request and response set/add/remove. Setting the authority
// ("host" or ":authority") is a host rewrite; other pseudo-headers cannot be changed.
func headerOps(h *networking.Headers, path string) (headerEdits, error) {
	var e headerEdits
	var err error
	if e.reqAdd, e.reqRemove, e.authority, err = headerOperations(h.GetRequest(), path+".request", true); err != nil {
		return e, err
	}
	e.respAdd, e.respRemove, _, err = headerOperations(h.GetResponse(), path+".response", false)
	return e, err
}

func headerOperations(ops *networking.Headers_HeaderOperations, path string, request bool) ([]*corev3.HeaderValueOption, []string, string, error) {
	var adds []*corev3.HeaderValueOption
	var authority string
	for _, set := range []struct {
		m      map[string]string
		action corev3.HeaderValueOption_HeaderAppendAction
		field  string
	}{
		{ops.GetSet(), corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD, "set"},
		{ops.GetAdd(), corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD, "add"},
	} {
		for _, k := range sortedKeys(set.m) {
			name := strings.ToLower(k)
			if request && set.field == "set" && (name == ":authority" || name == "host") {
				authority = set.m[k]
				continue
			}
			if strings.HasPrefix(name, ":") || name == "host" {
				return nil, nil, "", &policyErr{fmt.Sprintf("%s.%s[%s]", path, set.field, k), "pseudo-headers and host cannot be changed this way"}
			}
			adds = append(adds, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: name, Value: set.m[k]}, AppendAction: set.action})
		}
	}
	var removes []string
	for _, k := range ops.GetRemove() {
		removes = append(removes, strings.ToLower(k))
	}
	return adds, removes, authority, nil
}

// applyHeaders adds a Headers block to a route.
func applyHeaders(r *routev3.Route, h *networking.Headers, path string) error {
	if h == nil {
		return nil
	}
	e, err := headerOps(h, path)
	if err != nil {
		return err
	}
	r.RequestHeadersToAdd = append(r.RequestHeadersToAdd, e.reqAdd...)
	r.RequestHeadersToRemove = append(r.RequestHeadersToRemove, e.reqRemove...)
	r.ResponseHeadersToAdd = append(r.ResponseHeadersToAdd, e.respAdd...)
	r.ResponseHeadersToRemove = append(r.ResponseHeadersToRemove, e.respRemove...)
	if e.authority != "" {
		act := r.GetRoute()
		if act == nil {
			return &policyErr{path + ".request.set", "the authority can only be set on a forwarding route"}
		}
		act.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: e.authority}
	}
	return nil
}

// applyRewrite translates rewrite: uri replaces the matched prefix (or the whole path
// of an exact match), uriRegexRewrite rewrites by regex, authority the host.
func applyRewrite(act *routev3.RouteAction, rw *networking.HTTPRewrite, path string) error {
	if rw == nil {
		return nil
	}
	switch {
	case rw.GetUri() != "" && rw.GetUriRegexRewrite() != nil:
		return &policyErr{path, "uri and uriRegexRewrite exclude each other"}
	case rw.GetUri() != "":
		act.PrefixRewrite = rw.GetUri()
	case rw.GetUriRegexRewrite() != nil:
		if err := checkRegex(rw.GetUriRegexRewrite().GetMatch()); err != nil {
			return &policyErr{path + ".uriRegexRewrite.match", err.Error()}
		}
		act.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{
			Pattern:      &matcherv3.RegexMatcher{Regex: rw.GetUriRegexRewrite().GetMatch()},
			Substitution: rw.GetUriRegexRewrite().GetRewrite(),
		}
	}
	if rw.GetAuthority() != "" {
		act.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: rw.GetAuthority()}
	}
	return nil
}

// retryConditions are the retry_on values Envoy (and the weft proxy) know.
var retryConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true,
	"connect-failure": true, "envoy-ratelimited": true, "retriable-4xx": true,
	"refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"http3-post-connect-failure": true, "cancelled": true, "deadline-exceeded": true,
	"internal": true, "resource-exhausted": true, "unavailable": true,
}

// defaultRetryOn is Istio's default retry condition list.
const defaultRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"

// retryPolicy translates retries as Istio does: unset gives Istio's default policy (2
// attempts on connect failures, refused streams, gRPC unavailable/cancelled and 503,
// trying other hosts), attempts 0 disables retries, and status codes in retryOn become
// retriable status codes. Routes to consistently hashed clusters keep their host.
func retryPolicy(r *networking.HTTPRetry, hashed bool, path string) (*routev3.RetryPolicy, error) {
	p := &routev3.RetryPolicy{
		NumRetries: u32(2), RetryOn: defaultRetryOn, RetriableStatusCodes: []uint32{http.StatusServiceUnavailable},
		HostSelectionRetryMaxAttempts: 5,
	}
	previousHosts := !hashed
	if r != nil {
		if r.GetAttempts() <= 0 {
			return nil, nil
		}
		p.NumRetries = u32(uint32(r.GetAttempts()))
		if r.GetRetryOn() != "" {
			on, codes, err := parseRetryOn(r.GetRetryOn(), path+".retryOn")
			if err != nil {
				return nil, err
			}
			p.RetryOn, p.RetriableStatusCodes = on, codes
		}
		p.PerTryTimeout = r.GetPerTryTimeout()
		if b := r.GetBackoff(); b != nil {
			p.RetryBackOff = &routev3.RetryPolicy_RetryBackOff{BaseInterval: b}
		}
		if v := r.GetRetryIgnorePreviousHosts(); v != nil {
			previousHosts = v.GetValue()
		}
	}
	if previousHosts {
		p.RetryHostPredicate = []*routev3.RetryPolicy_RetryHostPredicate{{
			Name:       "envoy.retry_host_predicates.previous_hosts",
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: previousHostsConfig},
		}}
	}
	return p, nil
}

// parseRetryOn splits retryOn into conditions and status codes, adding
// retriable-status-codes when codes are given without it.
func parseRetryOn(s, path string) (string, []uint32, error) {
	var conds []string
	var codes []uint32
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, err := strconv.Atoi(part); err == nil && http.StatusText(n) != "" {
			codes = append(codes, uint32(n))
			continue
		}
		if !retryConditions[part] {
			return "", nil, &policyErr{path, fmt.Sprintf("unknown retry condition %q", part)}
		}
		conds = append(conds, part)
	}
	on := strings.Join(conds, ",")
	if len(codes) > 0 && !strings.Contains(on, "retriable-status-codes") {
		on = strings.TrimPrefix(on+",retriable-status-codes", ",")
	}
	return on, codes, nil
}

// grpcCodes are the gRPC status names Istio accepts for aborts.
var grpcCodes = map[string]uint32{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

// faultConfig translates fault into the fault filter's per-route config. An unset
// percentage injects into no request, as Istio documents.
func faultConfig(f *networking.HTTPFaultInjection, path string) (*anypb.Any, error) {
	out := &faultv3.HTTPFault{}
	if d := f.GetDelay(); d != nil {
		if d.GetFixedDelay() == nil {
			return nil, &policyErr{path + ".delay.fixedDelay", "required"}
		}
		pct, err := faultPercent(d.GetPercentage(), d.GetPercent(), path+".delay")
		if err != nil {
			return nil, err
		}
		out.Delay = &commonfaultv3.FaultDelay{
			FaultDelaySecifier: &commonfaultv3.FaultDelay_FixedDelay{FixedDelay: d.GetFixedDelay()}, Percentage: pct,
		}
	}
	if a := f.GetAbort(); a != nil {
		pct, err := faultPercent(a.GetPercentage(), 0, path+".abort")
		if err != nil {
			return nil, err
		}
		out.Abort = &faultv3.FaultAbort{Percentage: pct}
		switch a.GetErrorType().(type) {
		case *networking.HTTPFaultInjection_Abort_HttpStatus:
			if s := a.GetHttpStatus(); s < 200 || s > 599 {
				return nil, &policyErr{path + ".abort.httpStatus", fmt.Sprintf("%d is not an HTTP status Envoy can send (200-599)", s)}
			}
			out.Abort.ErrorType = &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(a.GetHttpStatus())}
		case *networking.HTTPFaultInjection_Abort_GrpcStatus:
			code, ok := grpcCodes[a.GetGrpcStatus()]
			if !ok {
				return nil, &policyErr{path + ".abort.grpcStatus", fmt.Sprintf("unknown gRPC status %q", a.GetGrpcStatus())}
			}
			out.Abort.ErrorType = &faultv3.FaultAbort_GrpcStatus{GrpcStatus: code}
		default:
			return nil, &policyErr{path + ".abort", "httpStatus or grpcStatus is required"}
		}
	}
	return toAny(out), nil
}

// faultPercent is percentage (0-100, fractions kept to a millionth), else the
// deprecated integer percent, else 0.
func faultPercent(p *networking.Percent, legacy int32, path string) (*typev3.FractionalPercent, error) {
	switch {
	case p != nil:
		return fraction(p.GetValue(), path+".percentage")
	case legacy != 0:
		return fraction(float64(legacy), path+".percent")
	}
	return &typev3.FractionalPercent{Numerator: 0, Denominator: typev3.FractionalPercent_MILLION}, nil
}

func fraction(v float64, path string) (*typev3.FractionalPercent, error) {
	if v < 0 || v > 100 || math.IsNaN(v) {
		return nil, &policyErr{path, fmt.Sprintf("%v is not a percentage (0-100)", v)}
	}
	return &typev3.FractionalPercent{Numerator: uint32(math.Round(v * 10000)), Denominator: typev3.FractionalPercent_MILLION}, nil
}

// mirrors translates mirror (with mirrorPercentage or the deprecated mirrorPercent)
// and mirrors into mirror policies. Without a percentage every request is mirrored.
func (rc *routeCtx) mirrors(h *networking.HTTPRoute, path string) ([]*routev3.RouteAction_RequestMirrorPolicy, error) {
	var out []*routev3.RouteAction_RequestMirrorPolicy
	if h.GetMirror() != nil {
		pct, pctPath := h.GetMirrorPercentage().GetValue(), path+".mirrorPercentage"
		set := h.GetMirrorPercentage() != nil
		if !set && h.GetMirrorPercent() != nil {
			pct, pctPath, set = float64(h.GetMirrorPercent().GetValue()), path+".mirrorPercent", true
		}
		mp, err := rc.mirror(h.GetMirror(), path+".mirror", pct, set, pctPath)
		if err != nil {
			return nil, err
		}
		out = append(out, mp)
	}
	for i, m := range h.GetMirrors() {
		p := fmt.Sprintf("%s.mirrors[%d]", path, i)
		mp, err := rc.mirror(m.GetDestination(), p+".destination", m.GetPercentage().GetValue(), m.GetPercentage() != nil, p+".percentage")
		if err != nil {
			return nil, err
		}
		out = append(out, mp)
	}
	return out, nil
}

func (rc *routeCtx) mirror(d *networking.Destination, path string, pct float64, set bool, pctPath string) (*routev3.RouteAction_RequestMirrorPolicy, error) {
	dst, err := rc.destination(d, path)
	if err != nil {
		return nil, err
	}
	mp := &routev3.RouteAction_RequestMirrorPolicy{Cluster: dst.cluster}
	if set {
		frac, err := fraction(pct, pctPath)
		if err != nil {
			return nil, err
		}
		mp.RuntimeFraction = &corev3.RuntimeFractionalPercent{DefaultValue: frac}
	}
	return mp, nil
}

// hashPolicy returns the hash key of the first destination whose DestinationRule asks
// for consistent hashing; the cluster's RING_HASH or MAGLEV balancer uses it.
func (rc *routeCtx) hashPolicy(dests []dest) []*routev3.RouteAction_HashPolicy {
	for _, d := range dests {
		if d.svc == nil {
			continue
		}
		dr := rc.g.destinationRule(d.svc)
		if dr == nil {
			continue
		}
		spec := dr.Spec.(*networking.DestinationRule)
		var sub *subsetRef
		for i, s := range spec.GetSubsets() {
			if s.GetName() == d.subset {
				sub = &subsetRef{s, i}
			}
		}
		if hp := consistentHashPolicy(mergePolicy(spec, sub, d.port).lb.GetConsistentHash()); hp != nil {
			return []*routev3.RouteAction_HashPolicy{hp}
		}
	}
	return nil
}

func consistentHashPolicy(ch *networking.LoadBalancerSettings_ConsistentHashLB) *routev3.RouteAction_HashPolicy {
	switch ch.GetHashKey().(type) {
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: strings.ToLower(ch.GetHttpHeaderName())}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpCookie:
		c := ch.GetHttpCookie()
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
			Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: c.GetName(), Path: c.GetPath(), Ttl: c.GetTtl()}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_UseSourceIp:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpQueryParameterName:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: ch.GetHttpQueryParameterName()}}}
	}
	return nil
}
