package xdsgen

import (
	"errors"
	"regexp"
	"sort"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// applies reports whether an HTTP match can apply to the node's traffic on this
// listener: its port, gateways, source labels and source namespace are decided here,
// at generation, rather than per request.
func (rc *routeCtx) applies(m *networking.HTTPMatchRequest) bool {
	return rc.l4Applies(m.GetPort(), m.GetGateways(), m.GetSourceLabels(), m.GetSourceNamespace())
}

// l4Applies decides the match attributes HTTP, TCP and TLS matches share.
func (rc *routeCtx) l4Applies(port uint32, gateways []string, sourceLabels map[string]string, sourceNS string) bool {
	if port != 0 && port != rc.port {
		return false
	}
	if len(gateways) > 0 && !bindsTo(gateways, rc.vs.Namespace, rc.gateway) {
		return false
	}
	if len(sourceLabels) > 0 && !mesh.LabelsMatch(sourceLabels, rc.g.node.Labels) {
		return false
	}
	return sourceNS == "" || sourceNS == rc.g.node.Namespace
}

// routeMatch translates the request-time parts of an HTTP match.
func routeMatch(m *networking.HTTPMatchRequest, path string) (*routev3.RouteMatch, error) {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if u := m.GetUri(); u != nil {
		switch u.GetMatchType().(type) {
		case *networking.StringMatch_Exact:
			rm.PathSpecifier = &routev3.RouteMatch_Path{Path: u.GetExact()}
		case *networking.StringMatch_Prefix:
			rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: u.GetPrefix()}
		case *networking.StringMatch_Regex:
			if err := checkRegex(u.GetRegex()); err != nil {
				return nil, &policyErr{path + ".uri.regex", err.Error()}
			}
			rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: u.GetRegex()}}
		}
	}
	if m.GetIgnoreUriCase() {
		rm.CaseSensitive = wrapperspb.Bool(false)
	}
	for _, pseudo := range []struct {
		name  string
		match *networking.StringMatch
		field string
	}{{":scheme", m.GetScheme(), "scheme"}, {":method", m.GetMethod(), "method"}, {":authority", m.GetAuthority(), "authority"}} {
		if pseudo.match == nil {
			continue
		}
		hm, err := headerMatcher(pseudo.name, pseudo.match, false)
		if err != nil {
			return nil, &policyErr{path + "." + pseudo.field, err.Error()}
		}
		rm.Headers = append(rm.Headers, hm)
	}
	if err := addHeaderMatches(rm, m.GetHeaders(), false, path+".headers"); err != nil {
		return nil, err
	}
	if err := addHeaderMatches(rm, m.GetWithoutHeaders(), true, path+".withoutHeaders"); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(m.GetQueryParams()) {
		qm, err := queryMatcher(k, m.GetQueryParams()[k])
		if err != nil {
			return nil, &policyErr{path + ".queryParams[" + k + "]", err.Error()}
		}
		rm.QueryParameters = append(rm.QueryParameters, qm)
	}
	return rm, nil
}

func addHeaderMatches(rm *routev3.RouteMatch, hs map[string]*networking.StringMatch, invert bool, path string) error {
	for _, k := range sortedKeys(hs) {
		hm, err := headerMatcher(strings.ToLower(k), hs[k], invert)
		if err != nil {
			return &policyErr{path + "[" + k + "]", err.Error()}
		}
		rm.Headers = append(rm.Headers, hm)
	}
	return nil
}

// headerMatcher matches a header against an Istio StringMatch; an empty match means
// the header is present (absent when inverted).
func headerMatcher(name string, sm *networking.StringMatch, invert bool) (*routev3.HeaderMatcher, error) {
	hm := &routev3.HeaderMatcher{Name: name, InvertMatch: invert}
	s, err := stringMatcher(sm)
	if err != nil {
		return nil, err
	}
	if s == nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: s}
	}
	return hm, nil
}

func queryMatcher(name string, sm *networking.StringMatch) (*routev3.QueryParameterMatcher, error) {
	qm := &routev3.QueryParameterMatcher{Name: name}
	s, err := stringMatcher(sm)
	if err != nil {
		return nil, err
	}
	if s == nil {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
	} else {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: s}
	}
	return qm, nil
}

// stringMatcher translates a StringMatch; nil for an empty one.
func stringMatcher(sm *networking.StringMatch) (*matcherv3.StringMatcher, error) {
	switch sm.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: sm.GetExact()}}, nil
	case *networking.StringMatch_Prefix:
		if sm.GetPrefix() == "" {
			return nil, nil // Istio: an empty prefix matches any value, i.e. presence
		}
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: sm.GetPrefix()}}, nil
	case *networking.StringMatch_Regex:
		if err := checkRegex(sm.GetRegex()); err != nil {
			return nil, err
		}
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: sm.GetRegex()}}}, nil
	}
	return nil, nil
}

// checkRegex rejects what RE2 (and Go's regexp, the same syntax) does not compile.
func checkRegex(re string) error {
	if re == "" {
		return errors.New("empty regex")
	}
	if _, err := regexp.Compile(re); err != nil {
		return err
	}
	return nil
}

// catchAll reports whether a match takes every request.
func catchAll(rm *routev3.RouteMatch) bool {
	return rm.GetPrefix() == "/" && len(rm.GetHeaders()) == 0 && len(rm.GetQueryParameters()) == 0 && rm.GetCaseSensitive() == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
