package route

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// strKind is the pattern of a compiled StringMatcher.
type strKind uint8

const (
	strExact strKind = iota
	strPrefix
	strSuffix
	strContains
	strRegex
)

// stringMatcher is a compiled envoy.type.matcher.v3.StringMatcher. Case-insensitive
// patterns are stored lowercase and compared ASCII-insensitively, as Envoy does.
type stringMatcher struct {
	kind       strKind
	value      string
	raw        string // the pattern as configured
	ignoreCase bool
	re         *regexp.Regexp
	// anyIfEmpty makes an empty exact pattern match every value (the deprecated
	// HeaderMatcher.exact_match behaves so).
	anyIfEmpty bool
}

func compileStringMatcher(m *matcherv3.StringMatcher) (stringMatcher, error) {
	if m == nil {
		return stringMatcher{}, errors.New("string matcher is required")
	}
	sm := stringMatcher{ignoreCase: m.GetIgnoreCase()}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		sm.kind, sm.value = strExact, p.Exact
	case *matcherv3.StringMatcher_Prefix:
		sm.kind, sm.value = strPrefix, p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		sm.kind, sm.value = strSuffix, p.Suffix
	case *matcherv3.StringMatcher_Contains:
		sm.kind, sm.value = strContains, p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		re, err := compileFullRegex(p.SafeRegex)
		if err != nil {
			return sm, at("safe_regex", err)
		}
		sm.kind, sm.re, sm.ignoreCase = strRegex, re, false
	default:
		return sm, errors.New("match_pattern is required")
	}
	sm.raw = sm.value
	if sm.ignoreCase {
		sm.value = asciiLower(sm.value)
	}
	return sm, nil
}

// match reports whether v matches. It does not allocate.
func (m *stringMatcher) match(v string) bool {
	switch m.kind {
	case strExact:
		if m.anyIfEmpty && m.value == "" {
			return true
		}
		if m.ignoreCase {
			return equalFoldASCII(v, m.value)
		}
		return v == m.value
	case strPrefix:
		return len(v) >= len(m.value) && m.eq(v[:len(m.value)])
	case strSuffix:
		return len(v) >= len(m.value) && m.eq(v[len(v)-len(m.value):])
	case strContains:
		return containsFold(v, m.value, m.ignoreCase)
	case strRegex:
		return m.re.MatchString(v)
	}
	return false
}

func (m *stringMatcher) eq(v string) bool {
	if m.ignoreCase {
		return equalFoldASCII(v, m.value)
	}
	return v == m.value
}

// compileFullRegex compiles a RegexMatcher that must match the whole input, as Envoy's
// safe_regex does.
func compileFullRegex(m *matcherv3.RegexMatcher) (*regexp.Regexp, error) {
	if m == nil {
		return nil, errors.New("regex is required")
	}
	if _, err := regexp.Compile(m.GetRegex()); err != nil {
		return nil, fmt.Errorf("invalid regex %q: %w", m.GetRegex(), err)
	}
	return regexp.MustCompile(`\A(?:` + m.GetRegex() + `)\z`), nil
}

// RegexRewrite is a compiled RegexMatchAndSubstitute: every match of the pattern is
// replaced with the substitution, whose \0 .. \9 refer to capture groups.
type RegexRewrite struct {
	re  *regexp.Regexp
	sub string // in Go's Expand syntax
}

func compileRegexRewrite(m *matcherv3.RegexMatchAndSubstitute) (*RegexRewrite, error) {
	if m == nil {
		return nil, nil
	}
	if m.GetPattern() == nil {
		return nil, at("pattern", errors.New("pattern is required"))
	}
	re, err := regexp.Compile(m.GetPattern().GetRegex())
	if err != nil {
		return nil, at("pattern", fmt.Errorf("invalid regex %q: %w", m.GetPattern().GetRegex(), err))
	}
	sub, err := convertSubstitution(m.GetSubstitution(), re.NumSubexp())
	if err != nil {
		return nil, at("substitution", err)
	}
	return &RegexRewrite{re: re, sub: sub}, nil
}

// ReplaceAll returns s with every match of the pattern replaced by the substitution.
func (r *RegexRewrite) ReplaceAll(s string) string {
	return r.re.ReplaceAllString(s, r.sub)
}

// convertSubstitution turns RE2's substitution syntax (\N for group N, \\ for a
// backslash) into Go's Expand syntax (${N}, $$ for a dollar sign).
func convertSubstitution(s string, groups int) (string, error) {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			out = append(out, '$', '$')
		case c != '\\':
			out = append(out, c)
		case i+1 >= len(s):
			return "", errors.New("trailing backslash")
		case s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case s[i+1] >= '0' && s[i+1] <= '9':
			n := int(s[i+1] - '0')
			if n > groups {
				return "", fmt.Errorf("\\%d refers to a missing capture group", n)
			}
			out = append(out, fmt.Sprintf("${%d}", n)...)
			i++
		default:
			return "", fmt.Errorf("invalid escape \\%c", s[i+1])
		}
	}
	return string(out), nil
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case when fold is set.
func hasPrefixFold(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return equalFoldASCII(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}

// containsFold reports whether sub is within s; with fold, sub must be lowercase and the
// comparison ignores ASCII case.
func containsFold(s, sub string, fold bool) bool {
	if !fold {
		return strings.Contains(s, sub)
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
