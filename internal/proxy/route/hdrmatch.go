package route

import (
	"errors"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// HeaderKind says how a HeaderMatcher tests its header.
type HeaderKind uint8

// The kinds of header match.
const (
	// HeaderPresent tests only whether the header is there (or absent).
	HeaderPresent HeaderKind = iota
	// HeaderString tests the value with a string matcher (exact, prefix, suffix,
	// contains or safe_regex, deprecated forms included).
	HeaderString
	// HeaderRange tests the value as an integer in [start, end).
	HeaderRange
)

// HeaderMatcher is a compiled envoy.config.route.v3.HeaderMatcher. Several values of
// one header are joined with "," before matching, as Envoy does.
type HeaderMatcher struct {
	name           string
	kind           HeaderKind
	present        bool
	str            stringMatcher
	start, end     int64
	invert         bool
	missingAsEmpty bool
	// test names the specifier as the router check tool prints it ("present_match",
	// "range_match", "string_match.exact", "exact_match", ...).
	test string
}

// NewHeaderMatcher compiles m. Errors name the offending field.
func NewHeaderMatcher(m *routev3.HeaderMatcher) (*HeaderMatcher, error) {
	if m.GetName() == "" {
		return nil, at("name", errors.New("header name is required"))
	}
	h := &HeaderMatcher{
		name:           strings.ToLower(m.GetName()),
		invert:         m.GetInvertMatch(),
		missingAsEmpty: m.GetTreatMissingHeaderAsEmpty(),
		kind:           HeaderString,
	}
	if err := h.compileSpecifier(m); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *HeaderMatcher) compileSpecifier(m *routev3.HeaderMatcher) error {
	var err error
	switch s := m.GetHeaderMatchSpecifier().(type) {
	case nil:
		h.kind, h.present, h.test = HeaderPresent, true, "present_match"
	case *routev3.HeaderMatcher_PresentMatch:
		h.kind, h.present, h.test = HeaderPresent, s.PresentMatch, "present_match"
	case *routev3.HeaderMatcher_RangeMatch:
		if s.RangeMatch.GetStart() >= s.RangeMatch.GetEnd() {
			return at("range_match", errors.New("start must be less than end"))
		}
		h.kind, h.start, h.end, h.test = HeaderRange, s.RangeMatch.GetStart(), s.RangeMatch.GetEnd(), "range_match"
	case *routev3.HeaderMatcher_ExactMatch:
		h.str, h.test = stringMatcher{kind: strExact, value: s.ExactMatch, anyIfEmpty: true}, "exact_match"
	case *routev3.HeaderMatcher_PrefixMatch:
		h.str, h.test = stringMatcher{kind: strPrefix, value: s.PrefixMatch}, "prefix_match"
	case *routev3.HeaderMatcher_SuffixMatch:
		h.str, h.test = stringMatcher{kind: strSuffix, value: s.SuffixMatch}, "suffix_match"
	case *routev3.HeaderMatcher_ContainsMatch:
		h.str, h.test = stringMatcher{kind: strContains, value: s.ContainsMatch}, "contains_match"
	case *routev3.HeaderMatcher_SafeRegexMatch:
		h.str.kind, h.test = strRegex, "safe_regex_match"
		h.str.re, err = compileFullRegex(s.SafeRegexMatch)
		err = at("safe_regex_match", err)
	case *routev3.HeaderMatcher_StringMatch:
		h.str, err = compileStringMatcher(s.StringMatch)
		h.test = "string_match." + patternName(s.StringMatch)
		err = at("string_match", err)
	}
	return err
}

func patternName(m *matcherv3.StringMatcher) string {
	switch m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return "exact"
	case *matcherv3.StringMatcher_Prefix:
		return "prefix"
	case *matcherv3.StringMatcher_Suffix:
		return "suffix"
	case *matcherv3.StringMatcher_Contains:
		return "contains"
	case *matcherv3.StringMatcher_SafeRegex:
		return "safe_regex"
	}
	return "match_pattern_not_set"
}

// Name returns the lowercase header name.
func (h *HeaderMatcher) Name() string { return h.name }

// Kind returns how the matcher tests its header.
func (h *HeaderMatcher) Kind() HeaderKind { return h.kind }

// Invert reports whether the result is inverted (invert_match).
func (h *HeaderMatcher) Invert() bool { return h.invert }

// Test names the match specifier as Envoy's router check tool reports it, such as
// "present_match", "range_match" or "string_match.exact".
func (h *HeaderMatcher) Test() string { return h.test }

// ExactValue returns the expected value of an exact string match and true, or "" and
// false for any other kind.
func (h *HeaderMatcher) ExactValue() (string, bool) {
	if h.kind != HeaderString || h.str.kind != strExact {
		return "", false
	}
	if h.str.raw != "" {
		return h.str.raw, true
	}
	return h.str.value, true
}

// Matches reports whether hdrs satisfy the matcher. It allocates only when the header
// has several values.
func (h *HeaderMatcher) Matches(hdrs *header.Map) bool {
	v, ok := hdrs.Joined(h.name)
	if h.kind == HeaderPresent {
		return (ok == h.present) != h.invert
	}
	if !ok && !h.missingAsEmpty {
		return false
	}
	return h.matchValue(v) != h.invert
}

func (h *HeaderMatcher) matchValue(v string) bool {
	if h.kind == HeaderRange {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return err == nil && n >= h.start && n < h.end
	}
	return h.str.match(v)
}

// matchAll reports whether every matcher matches.
func matchAll(ms []*HeaderMatcher, hdrs *header.Map) bool {
	for _, m := range ms {
		if !m.Matches(hdrs) {
			return false
		}
	}
	return true
}

func compileHeaderMatchers(ms []*routev3.HeaderMatcher) ([]*HeaderMatcher, error) {
	out := make([]*HeaderMatcher, 0, len(ms))
	for i, m := range ms {
		h, err := NewHeaderMatcher(m)
		if err != nil {
			return nil, at("["+strconv.Itoa(i)+"]", err)
		}
		out = append(out, h)
	}
	return out, nil
}
