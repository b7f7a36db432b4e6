package accesslog

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// headerMatcher is a compiled envoy.config.route.v3.HeaderMatcher with Envoy's
// semantics: every value of the header joined with ","; an absent header matches
// only present_match: false (true when inverted) unless it is treated as empty; no
// specifier means present_match: true.
type headerMatcher struct {
	name         string
	invert       bool
	missingEmpty bool
	presence     bool // the matcher is a present_match
	present      bool // present_match's value
	matchValue   func(string) bool
}

func newHeaderMatcher(hm *routev3.HeaderMatcher) (*headerMatcher, error) {
	if hm == nil || hm.GetName() == "" {
		return nil, errors.New("header matcher needs a name")
	}
	m := &headerMatcher{
		name:         strings.ToLower(hm.GetName()),
		invert:       hm.GetInvertMatch(),
		missingEmpty: hm.GetTreatMissingHeaderAsEmpty(),
	}
	var err error
	switch s := hm.GetHeaderMatchSpecifier().(type) {
	case nil:
		m.presence, m.present = true, true
	case *routev3.HeaderMatcher_PresentMatch:
		m.presence, m.present = true, s.PresentMatch
	case *routev3.HeaderMatcher_ExactMatch:
		want := s.ExactMatch
		m.matchValue = func(v string) bool { return want == "" || v == want }
	case *routev3.HeaderMatcher_PrefixMatch:
		m.matchValue = func(v string) bool { return strings.HasPrefix(v, s.PrefixMatch) }
	case *routev3.HeaderMatcher_SuffixMatch:
		m.matchValue = func(v string) bool { return strings.HasSuffix(v, s.SuffixMatch) }
	case *routev3.HeaderMatcher_ContainsMatch:
		m.matchValue = func(v string) bool { return strings.Contains(v, s.ContainsMatch) }
	case *routev3.HeaderMatcher_SafeRegexMatch:
		m.matchValue, err = compileRegex(s.SafeRegexMatch)
	case *routev3.HeaderMatcher_RangeMatch:
		start, end := s.RangeMatch.GetStart(), s.RangeMatch.GetEnd()
		m.matchValue = func(v string) bool {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return err == nil && n >= start && n < end
		}
	case *routev3.HeaderMatcher_StringMatch:
		m.matchValue, err = newStringMatcher(s.StringMatch)
	default:
		return nil, fmt.Errorf("unsupported header match specifier %T", s)
	}
	if err != nil {
		return nil, fmt.Errorf("header %q: %w", hm.GetName(), err)
	}
	return m, nil
}

// matches reports whether the headers satisfy the matcher; a nil map has no headers.
func (m *headerMatcher) matches(h *header.Map) bool {
	var v string
	ok := false
	if h != nil {
		v, ok = h.Joined(m.name)
	}
	if !ok && !m.missingEmpty {
		if m.invert {
			return m.presence && m.present
		}
		return m.presence && !m.present
	}
	match := m.present
	if !m.presence {
		match = m.matchValue(v)
	}
	return match != m.invert
}

// newStringMatcher compiles an envoy.type.matcher.v3.StringMatcher.
func newStringMatcher(sm *matcherv3.StringMatcher) (func(string) bool, error) {
	fold := sm.GetIgnoreCase()
	switch p := sm.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		if fold {
			return func(v string) bool { return strings.EqualFold(v, p.Exact) }, nil
		}
		return func(v string) bool { return v == p.Exact }, nil
	case *matcherv3.StringMatcher_Prefix:
		return func(v string) bool {
			return len(v) >= len(p.Prefix) && equal(v[:len(p.Prefix)], p.Prefix, fold)
		}, nil
	case *matcherv3.StringMatcher_Suffix:
		return func(v string) bool {
			return len(v) >= len(p.Suffix) && equal(v[len(v)-len(p.Suffix):], p.Suffix, fold)
		}, nil
	case *matcherv3.StringMatcher_Contains:
		if fold {
			want := strings.ToLower(p.Contains)
			return func(v string) bool { return strings.Contains(strings.ToLower(v), want) }, nil
		}
		return func(v string) bool { return strings.Contains(v, p.Contains) }, nil
	case *matcherv3.StringMatcher_SafeRegex:
		if fold {
			return nil, errors.New("ignore_case has no effect for safe_regex")
		}
		return compileRegex(p.SafeRegex)
	}
	return nil, fmt.Errorf("unsupported string match pattern %T", sm.GetMatchPattern())
}

func equal(a, b string, fold bool) bool {
	if fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// compileRegex compiles a RegexMatcher (RE2 syntax) that must match the whole value.
func compileRegex(rm *matcherv3.RegexMatcher) (func(string) bool, error) {
	re, err := regexp.Compile(`^(?:` + rm.GetRegex() + `)$`)
	if err != nil {
		return nil, fmt.Errorf("safe_regex: %w", err)
	}
	return re.MatchString, nil
}
