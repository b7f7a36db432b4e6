package route

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// pathKind is the path specifier of a route match.
type pathKind uint8

const (
	pathPrefix pathKind = iota
	pathExact
	pathRegex
	pathSeparatedPrefix
)

// routeMatch is a compiled RouteMatch.
type routeMatch struct {
	kind          pathKind
	value         string // the prefix or path
	caseSensitive bool
	re            *regexp.Regexp
	headers       []*HeaderMatcher
	query         []queryMatcher
	grpc          bool
	runtime       *RuntimeFraction
	metadata      []metadataMatcher
}

// queryMatcher is a compiled QueryParameterMatcher; a nil str is a presence match.
type queryMatcher struct {
	name string
	str  *stringMatcher
}

// Fraction is a fractional percentage: Numerator out of Denominator (100, 10000 or
// 1000000).
type Fraction struct {
	Numerator   uint64
	Denominator uint64
}

// Enabled reports whether random falls within the fraction, as Envoy evaluates a
// FractionalPercent: random % Denominator < Numerator.
func (f Fraction) Enabled(random uint64) bool {
	return f.Denominator != 0 && random%f.Denominator < f.Numerator
}

// RuntimeFraction is a runtime-overridable fraction (RuntimeFractionalPercent).
type RuntimeFraction struct {
	Key     string
	Default Fraction
}

func compileFraction(f *typev3.FractionalPercent) (Fraction, error) {
	switch f.GetDenominator() {
	case typev3.FractionalPercent_HUNDRED:
		return Fraction{Numerator: uint64(f.GetNumerator()), Denominator: 100}, nil
	case typev3.FractionalPercent_TEN_THOUSAND:
		return Fraction{Numerator: uint64(f.GetNumerator()), Denominator: 10000}, nil
	case typev3.FractionalPercent_MILLION:
		return Fraction{Numerator: uint64(f.GetNumerator()), Denominator: 1000000}, nil
	}
	return Fraction{}, at("denominator", fmt.Errorf("unknown denominator %v", f.GetDenominator()))
}

func compileRuntimeFraction(rf *corev3.RuntimeFractionalPercent) (*RuntimeFraction, error) {
	if rf == nil {
		return nil, nil
	}
	if rf.GetDefaultValue() == nil {
		return nil, at("default_value", errors.New("default_value is required"))
	}
	f, err := compileFraction(rf.GetDefaultValue())
	if err != nil {
		return nil, at("default_value", err)
	}
	return &RuntimeFraction{Key: rf.GetRuntimeKey(), Default: f}, nil
}

func compileRouteMatch(m *routev3.RouteMatch) (routeMatch, error) {
	rm := routeMatch{caseSensitive: true, grpc: m.GetGrpc() != nil}
	if cs := m.GetCaseSensitive(); cs != nil {
		rm.caseSensitive = cs.GetValue()
	}
	if err := rm.compilePath(m); err != nil {
		return rm, err
	}
	var err error
	if rm.headers, err = compileHeaderMatchers(m.GetHeaders()); err != nil {
		return rm, at("headers", err)
	}
	if rm.query, err = compileQueryMatchers(m.GetQueryParameters()); err != nil {
		return rm, at("query_parameters", err)
	}
	if rm.runtime, err = compileRuntimeFraction(m.GetRuntimeFraction()); err != nil {
		return rm, at("runtime_fraction", err)
	}
	for i, md := range m.GetDynamicMetadata() {
		mm, err := compileMetadataMatcher(md)
		if err != nil {
			return rm, at("dynamic_metadata["+strconv.Itoa(i)+"]", err)
		}
		rm.metadata = append(rm.metadata, mm)
	}
	return rm, nil
}

func (rm *routeMatch) compilePath(m *routev3.RouteMatch) error {
	switch p := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		rm.kind, rm.value = pathPrefix, p.Prefix
	case *routev3.RouteMatch_Path:
		rm.kind, rm.value = pathExact, p.Path
	case *routev3.RouteMatch_SafeRegex:
		re, err := compileFullRegex(p.SafeRegex)
		if err != nil {
			return at("safe_regex", err)
		}
		rm.kind, rm.re = pathRegex, re
	case *routev3.RouteMatch_PathSeparatedPrefix:
		v := p.PathSeparatedPrefix
		if v == "" || strings.ContainsAny(v, "?#") || strings.HasSuffix(v, "/") {
			return at("path_separated_prefix", fmt.Errorf("invalid prefix %q: it must not be empty, hold '?' or '#', or end in '/'", v))
		}
		rm.kind, rm.value = pathSeparatedPrefix, v
	default:
		return errors.New("path_specifier is required (prefix, path, safe_regex or path_separated_prefix)")
	}
	return nil
}

func compileQueryMatchers(ms []*routev3.QueryParameterMatcher) ([]queryMatcher, error) {
	var out []queryMatcher
	for i, m := range ms {
		if m.GetName() == "" {
			return nil, at("["+strconv.Itoa(i)+"].name", errors.New("name is required"))
		}
		q := queryMatcher{name: m.GetName()}
		if sm := m.GetStringMatch(); sm != nil {
			c, err := compileStringMatcher(sm)
			if err != nil {
				return nil, at("["+strconv.Itoa(i)+"].string_match", err)
			}
			q.str = &c
		}
		out = append(out, q)
	}
	return out, nil
}

// matchEnv is what route matching needs from the table's options.
type matchEnv struct {
	runtime func(key string, def Fraction, random uint64) bool
}

// matches reports whether the request matches. It does not allocate unless a header
// matcher meets a header with several values.
func (rm *routeMatch) matches(env *matchEnv, req *header.Map, info *streaminfo.Info, random uint64) bool {
	if rm.runtime != nil && !env.runtime(rm.runtime.Key, rm.runtime.Default, random) {
		return false
	}
	if !matchAll(rm.headers, req) {
		return false
	}
	path := req.Get(header.Path)
	if len(rm.query) > 0 && !rm.matchQuery(path) {
		return false
	}
	if len(rm.metadata) > 0 && !rm.matchMetadata(info) {
		return false
	}
	if rm.grpc && !isGRPC(req.Get("content-type")) {
		return false
	}
	return rm.matchPath(path)
}

// matchPath tests the path specifier against :path without its query string and
// fragment, as Envoy's path matchers do.
func (rm *routeMatch) matchPath(path string) bool {
	p := stripQuery(path)
	switch rm.kind {
	case pathPrefix:
		return hasPrefixFold(p, rm.value, !rm.caseSensitive)
	case pathExact:
		if rm.caseSensitive {
			return p == rm.value
		}
		return equalFoldASCII(p, rm.value)
	case pathRegex:
		return rm.re.MatchString(p)
	case pathSeparatedPrefix:
		return hasPrefixFold(p, rm.value, !rm.caseSensitive) &&
			(len(p) == len(rm.value) || p[len(rm.value)] == '/')
	}
	return false
}

// matchedLength returns how much of path the route's path specifier consumed; a
// prefix_rewrite replaces that much.
func (rm *routeMatch) matchedLength(path string) int {
	switch rm.kind {
	case pathPrefix, pathExact, pathSeparatedPrefix:
		return len(rm.value)
	}
	return len(stripQuery(path))
}

func (rm *routeMatch) matchQuery(path string) bool {
	q := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		q = path[i+1:]
		if j := strings.IndexByte(q, '#'); j >= 0 {
			q = q[:j]
		}
	}
	for i := range rm.query {
		v, ok := queryValue(q, rm.query[i].name)
		if !ok || rm.query[i].str != nil && !rm.query[i].str.match(v) {
			return false
		}
	}
	return true
}

// queryValue returns the first value of name in the raw query string q, undecoded, as
// Envoy's route matching sees it.
func queryValue(q, name string) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

func (rm *routeMatch) matchMetadata(info *streaminfo.Info) bool {
	var md map[string]map[string]any
	if info != nil {
		md = info.Metadata
	}
	for i := range rm.metadata {
		if !rm.metadata[i].match(md) {
			return false
		}
	}
	return true
}

// isGRPC reports whether content-type is "application/grpc" or starts with
// "application/grpc+", as Envoy recognises gRPC requests.
func isGRPC(ct string) bool {
	const grpc = "application/grpc"
	return strings.HasPrefix(ct, grpc) && (len(ct) == len(grpc) || ct[len(grpc)] == '+')
}

// stripQuery returns path without its query string and fragment.
func stripQuery(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		return path[:i]
	}
	return path
}
