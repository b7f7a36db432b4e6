package route

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RetryPolicy is a route's or virtual host's retry_policy. The router implements it;
// this package only validates and carries it.
type RetryPolicy struct {
	// RetryOn lists the retry conditions ("5xx", "reset", "retriable-status-codes", ...).
	RetryOn []string
	// NumRetries is the number of retries allowed (default 1).
	NumRetries uint32
	// PerTryTimeout and PerTryIdleTimeout are zero when unset.
	PerTryTimeout     time.Duration
	PerTryIdleTimeout time.Duration
	// BackOffBase and BackOffMax are zero when retry_back_off is unset; BackOffMax
	// defaults to ten times BackOffBase.
	BackOffBase time.Duration
	BackOffMax  time.Duration
	// RetriableStatusCodes are the codes retried under "retriable-status-codes".
	RetriableStatusCodes []uint32
	// RetriableHeaders match response headers that make a response retriable.
	RetriableHeaders []*HeaderMatcher
	// RetriableRequestHeaders must all match the request for it to be retried at all.
	RetriableRequestHeaders []*HeaderMatcher
	// HostSelectionMaxAttempts is host_selection_retry_max_attempts.
	HostSelectionMaxAttempts int64
	// PreviousHosts is set by the previous_hosts retry host predicate: a retry avoids
	// the hosts already tried.
	PreviousHosts bool
}

// previousHostsType is the type URL of the only retry host predicate weft implements.
const previousHostsType = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"

func compileHostPredicates(rp *RetryPolicy, ps []*routev3.RetryPolicy_RetryHostPredicate) error {
	for i, p := range ps {
		url := p.GetTypedConfig().GetTypeUrl()
		if url != previousHostsType && !(url == "" && p.GetName() == "envoy.retry_host_predicates.previous_hosts") {
			return at("retry_host_predicate["+strconv.Itoa(i)+"]", fmt.Errorf("%q (%s) is not supported; only previous_hosts is", p.GetName(), url))
		}
		rp.PreviousHosts = true
	}
	return nil
}

// retryOnValues are the retry conditions Envoy knows, HTTP and gRPC.
var retryOnValues = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true,
	"connect-failure": true, "envoy-ratelimited": true, "retriable-4xx": true,
	"refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"http3-post-connect-failure": true, "cancelled": true, "deadline-exceeded": true,
	"internal": true, "resource-exhausted": true, "unavailable": true,
}

func compileRetryPolicy(p *routev3.RetryPolicy) (*RetryPolicy, error) {
	if p == nil {
		return nil, nil
	}
	rp := &RetryPolicy{NumRetries: 1, HostSelectionMaxAttempts: p.GetHostSelectionRetryMaxAttempts()}
	for _, cond := range strings.Split(p.GetRetryOn(), ",") {
		cond = strings.TrimSpace(cond)
		if cond == "" {
			continue
		}
		if !retryOnValues[cond] {
			return nil, at("retry_on", fmt.Errorf("unknown retry condition %q", cond))
		}
		rp.RetryOn = append(rp.RetryOn, cond)
	}
	if n := p.GetNumRetries(); n != nil {
		rp.NumRetries = n.GetValue()
	}
	rp.PerTryTimeout = p.GetPerTryTimeout().AsDuration()
	rp.PerTryIdleTimeout = p.GetPerTryIdleTimeout().AsDuration()
	if err := rp.compileBackOff(p.GetRetryBackOff()); err != nil {
		return nil, at("retry_back_off", err)
	}
	if err := compileHostPredicates(rp, p.GetRetryHostPredicate()); err != nil {
		return nil, err
	}
	rp.RetriableStatusCodes = append([]uint32(nil), p.GetRetriableStatusCodes()...)
	var err error
	if rp.RetriableHeaders, err = compileHeaderMatchers(p.GetRetriableHeaders()); err != nil {
		return nil, at("retriable_headers", err)
	}
	if rp.RetriableRequestHeaders, err = compileHeaderMatchers(p.GetRetriableRequestHeaders()); err != nil {
		return nil, at("retriable_request_headers", err)
	}
	return rp, nil
}

func (rp *RetryPolicy) compileBackOff(b *routev3.RetryPolicy_RetryBackOff) error {
	if b == nil {
		return nil
	}
	rp.BackOffBase = b.GetBaseInterval().AsDuration()
	if rp.BackOffBase <= 0 {
		return at("base_interval", errors.New("must be greater than zero"))
	}
	rp.BackOffMax = 10 * rp.BackOffBase
	if b.GetMaxInterval() != nil {
		rp.BackOffMax = b.GetMaxInterval().AsDuration()
		if rp.BackOffMax < rp.BackOffBase {
			return at("max_interval", errors.New("must not be less than base_interval"))
		}
	}
	return nil
}

// HashKind says what a hash policy hashes.
type HashKind uint8

// The hash policy kinds.
const (
	HashHeader HashKind = iota
	HashCookie
	HashSourceIP
	HashQueryParameter
	HashFilterState
)

// HashPolicy is one entry of a route's hash_policy, for consistent-hash load balancers.
type HashPolicy struct {
	Kind HashKind
	// Name is the header name (lowercase), cookie name, query parameter name or filter
	// state key; empty for HashSourceIP.
	Name string
	// Terminal stops evaluating further policies once this one produced a hash.
	Terminal bool
	// HeaderRewrite, if set, rewrites a header value before hashing.
	HeaderRewrite *RegexRewrite
	// CookieTTL, if set, makes the router generate the cookie when it is missing.
	CookieTTL *time.Duration
	// CookiePath is the path of a generated cookie.
	CookiePath string
}

func compileHashPolicies(ps []*routev3.RouteAction_HashPolicy) ([]HashPolicy, error) {
	var out []HashPolicy
	for i, p := range ps {
		hp, err := compileHashPolicy(p)
		if err != nil {
			return nil, at("["+strconv.Itoa(i)+"]", err)
		}
		out = append(out, hp)
	}
	return out, nil
}

func compileHashPolicy(p *routev3.RouteAction_HashPolicy) (HashPolicy, error) {
	hp := HashPolicy{Terminal: p.GetTerminal()}
	var err error
	switch s := p.GetPolicySpecifier().(type) {
	case *routev3.RouteAction_HashPolicy_Header_:
		hp.Kind, hp.Name = HashHeader, strings.ToLower(s.Header.GetHeaderName())
		hp.HeaderRewrite, err = compileRegexRewrite(s.Header.GetRegexRewrite())
		err = at("header.regex_rewrite", err)
	case *routev3.RouteAction_HashPolicy_Cookie_:
		hp.Kind, hp.Name, hp.CookiePath = HashCookie, s.Cookie.GetName(), s.Cookie.GetPath()
		hp.CookieTTL = optDuration(s.Cookie.GetTtl())
	case *routev3.RouteAction_HashPolicy_ConnectionProperties_:
		if !s.ConnectionProperties.GetSourceIp() {
			return hp, at("connection_properties.source_ip", errors.New("must be true"))
		}
		hp.Kind = HashSourceIP
	case *routev3.RouteAction_HashPolicy_QueryParameter_:
		hp.Kind, hp.Name = HashQueryParameter, s.QueryParameter.GetName()
	case *routev3.RouteAction_HashPolicy_FilterState_:
		hp.Kind, hp.Name = HashFilterState, s.FilterState.GetKey()
	default:
		return hp, errors.New("policy_specifier is required")
	}
	if err == nil && hp.Kind != HashSourceIP && hp.Name == "" {
		err = errors.New("the hashed name or key is required")
	}
	return hp, err
}

// MirrorPolicy is one of a route's request_mirror_policies. The router implements
// shadowing; this package only validates and carries it.
type MirrorPolicy struct {
	// Cluster is the fixed mirror cluster, or "" when ClusterHeader names it.
	Cluster       string
	ClusterHeader string
	// Runtime, if set, gates the mirror by a runtime fraction.
	Runtime *RuntimeFraction
	// TraceSampled, if set, overrides whether the shadow request is trace-sampled.
	TraceSampled *bool
}

func compileMirrorPolicies(ps []*routev3.RouteAction_RequestMirrorPolicy) ([]MirrorPolicy, error) {
	var out []MirrorPolicy
	for i, p := range ps {
		mp := MirrorPolicy{Cluster: p.GetCluster(), ClusterHeader: strings.ToLower(p.GetClusterHeader())}
		if (mp.Cluster == "") == (mp.ClusterHeader == "") {
			return nil, at("["+strconv.Itoa(i)+"]", errors.New("exactly one of cluster and cluster_header is required"))
		}
		rf, err := compileRuntimeFraction(p.GetRuntimeFraction())
		if err != nil {
			return nil, at("["+strconv.Itoa(i)+"].runtime_fraction", err)
		}
		mp.Runtime = rf
		if ts := p.GetTraceSampled(); ts != nil {
			v := ts.GetValue()
			mp.TraceSampled = &v
		}
		out = append(out, mp)
	}
	return out, nil
}

// MaxStreamDuration is a route's max_stream_duration; a nil field is unset.
type MaxStreamDuration struct {
	// Max bounds the whole stream; zero disables the limit.
	Max *time.Duration
	// GRPCTimeoutHeaderMax caps a grpc-timeout header; zero means no cap.
	GRPCTimeoutHeaderMax *time.Duration
	// GRPCTimeoutHeaderOffset is subtracted from a grpc-timeout header.
	GRPCTimeoutHeaderOffset *time.Duration
}

func compileMaxStreamDuration(m *routev3.RouteAction_MaxStreamDuration) MaxStreamDuration {
	return MaxStreamDuration{
		Max:                     optDuration(m.GetMaxStreamDuration()),
		GRPCTimeoutHeaderMax:    optDuration(m.GetGrpcTimeoutHeaderMax()),
		GRPCTimeoutHeaderOffset: optDuration(m.GetGrpcTimeoutHeaderOffset()),
	}
}

func optDuration(d *durationpb.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := d.AsDuration()
	return &v
}
