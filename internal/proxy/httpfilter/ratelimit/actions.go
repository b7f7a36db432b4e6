package ratelimit

import (
	"fmt"
	"net/url"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// result says what an action did with a request.
type result uint8

const (
	// appended: the action produced an entry.
	appended result = iota
	// skipped: the action produced nothing but the descriptor goes on
	// (skip_if_absent).
	skipped
	// failed: the action could not produce its entry, so the rate limit produces no
	// descriptor.
	failed
)

// action is one compiled RateLimit.Action.
type action func(s *httpfilter.Stream) (entry, result)

// compileRateLimits compiles the filter's rate_limits: each becomes the list of
// actions that builds one request descriptor.
func compileRateLimits(rls []*routev3.RateLimit) ([][]action, error) {
	out := make([][]action, 0, len(rls))
	for i, rl := range rls {
		var acts []action
		for j, a := range rl.GetActions() {
			act, err := compileAction(a)
			if err != nil {
				return nil, fmt.Errorf("rate_limits[%d].actions[%d].%w", i, j, err)
			}
			acts = append(acts, act)
		}
		out = append(out, acts)
	}
	return out, nil
}

func compileAction(a *routev3.RateLimit_Action) (action, error) {
	switch t := a.GetActionSpecifier().(type) {
	case *routev3.RateLimit_Action_DestinationCluster_:
		return destinationCluster, nil
	case *routev3.RateLimit_Action_RequestHeaders_:
		return requestHeader(t.RequestHeaders), nil
	case *routev3.RateLimit_Action_QueryParameters_:
		return queryParameter(t.QueryParameters), nil
	case *routev3.RateLimit_Action_RemoteAddress_:
		return remoteAddress, nil
	case *routev3.RateLimit_Action_MaskedRemoteAddress_:
		return maskedRemoteAddress(t.MaskedRemoteAddress)
	case *routev3.RateLimit_Action_GenericKey_:
		e := entry{or(t.GenericKey.GetDescriptorKey(), "generic_key"), t.GenericKey.GetDescriptorValue()}
		return func(*httpfilter.Stream) (entry, result) { return e, appended }, nil
	case *routev3.RateLimit_Action_HeaderValueMatch_:
		return headerValueMatch(t.HeaderValueMatch)
	default:
		return nil, fmt.Errorf("action_specifier: %T is not supported", t)
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// descriptors builds the request's descriptors from the config's rate_limits.
func (c *Config) descriptors(s *httpfilter.Stream) []descriptor {
	if len(c.rateLimits) == 0 {
		return nil
	}
	var out []descriptor
	for _, acts := range c.rateLimits {
		var d descriptor
		ok := true
		for _, act := range acts {
			e, r := act(s)
			if r == failed {
				ok = false
				break
			}
			if r == appended {
				d = append(d, e)
			}
		}
		if ok && len(d) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func destinationCluster(s *httpfilter.Stream) (entry, result) {
	if s.Route == nil {
		return entry{}, failed
	}
	name := s.Route.ClusterName(&s.Request)
	if name == "" {
		return entry{}, failed
	}
	return entry{"destination_cluster", name}, appended
}

func requestHeader(cfg *routev3.RateLimit_Action_RequestHeaders) action {
	name, key, skip := strings.ToLower(cfg.GetHeaderName()), cfg.GetDescriptorKey(), cfg.GetSkipIfAbsent()
	return func(s *httpfilter.Stream) (entry, result) {
		v, ok := s.Request.Lookup(name)
		if !ok {
			return entry{}, absent(skip)
		}
		return entry{key, v}, appended
	}
}

func absent(skip bool) result {
	if skip {
		return skipped
	}
	return failed
}

func queryParameter(cfg *routev3.RateLimit_Action_QueryParameters) action {
	name, key, skip := cfg.GetQueryParameterName(), cfg.GetDescriptorKey(), cfg.GetSkipIfAbsent()
	return func(s *httpfilter.Stream) (entry, result) {
		_, q, _ := strings.Cut(s.Request.Get(header.Path), "?")
		q, _, _ = strings.Cut(q, "#")
		vals, _ := url.ParseQuery(q) // what parses is kept, as Envoy's lenient parser does
		if v := vals[name]; len(v) > 0 {
			return entry{key, v[0]}, appended
		}
		return entry{}, absent(skip)
	}
}

func remoteAddress(s *httpfilter.Stream) (entry, result) {
	a := s.Info.Downstream.RemoteAddress.Addr()
	if !a.IsValid() {
		return entry{}, failed
	}
	return entry{"remote_address", a.Unmap().String()}, appended
}

func maskedRemoteAddress(cfg *routev3.RateLimit_Action_MaskedRemoteAddress) (action, error) {
	v4, v6 := 32, 128
	if m := cfg.GetV4PrefixMaskLen(); m != nil {
		v4 = int(m.GetValue())
	}
	if m := cfg.GetV6PrefixMaskLen(); m != nil {
		v6 = int(m.GetValue())
	}
	if v4 > 32 || v6 > 128 {
		return nil, fmt.Errorf("masked_remote_address: prefix length out of range")
	}
	return func(s *httpfilter.Stream) (entry, result) {
		a := s.Info.Downstream.RemoteAddress.Addr().Unmap()
		if !a.IsValid() {
			return entry{}, failed
		}
		bits := v6
		if a.Is4() {
			bits = v4
		}
		p, err := a.Prefix(bits)
		if err != nil {
			return entry{}, failed
		}
		return entry{"masked_remote_address", p.String()}, appended
	}, nil
}

func headerValueMatch(cfg *routev3.RateLimit_Action_HeaderValueMatch) (action, error) {
	var ms []*route.HeaderMatcher
	for i, h := range cfg.GetHeaders() {
		m, err := route.NewHeaderMatcher(h)
		if err != nil {
			return nil, fmt.Errorf("header_value_match.headers[%d]: %w", i, err)
		}
		ms = append(ms, m)
	}
	expect := cfg.GetExpectMatch() == nil || cfg.GetExpectMatch().GetValue()
	e := entry{or(cfg.GetDescriptorKey(), "header_match"), cfg.GetDescriptorValue()}
	return func(s *httpfilter.Stream) (entry, result) {
		all := true
		for _, m := range ms {
			if !m.Matches(&s.Request) {
				all = false
				break
			}
		}
		if all != expect {
			return entry{}, failed
		}
		return e, appended
	}, nil
}
