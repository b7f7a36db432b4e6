package route

import (
	"errors"
	"strconv"

	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// metadataMatcher is a compiled envoy.type.matcher.v3.MetadataMatcher over the stream's
// dynamic metadata (streaminfo.Info.Metadata).
type metadataMatcher struct {
	filter string
	path   []string
	value  valueMatcher
	invert bool
}

type valueKind uint8

const (
	valueNull valueKind = iota
	valueDouble
	valueString
	valueBool
	valuePresent
	valueList
	valueOr
)

// valueMatcher is a compiled envoy.type.matcher.v3.ValueMatcher.
type valueMatcher struct {
	kind       valueKind
	str        stringMatcher
	dblRange   bool
	dblExact   float64
	start, end float64
	flag       bool // bool_match or present_match
	sub        []valueMatcher
}

func compileMetadataMatcher(m *matcherv3.MetadataMatcher) (metadataMatcher, error) {
	mm := metadataMatcher{filter: m.GetFilter(), invert: m.GetInvert()}
	if mm.filter == "" {
		return mm, at("filter", errors.New("filter is required"))
	}
	if len(m.GetPath()) == 0 {
		return mm, at("path", errors.New("at least one path segment is required"))
	}
	for i, seg := range m.GetPath() {
		if seg.GetKey() == "" {
			return mm, at("path["+strconv.Itoa(i)+"].key", errors.New("key is required"))
		}
		mm.path = append(mm.path, seg.GetKey())
	}
	v, err := compileValueMatcher(m.GetValue())
	mm.value = v
	return mm, at("value", err)
}

func compileValueMatcher(m *matcherv3.ValueMatcher) (valueMatcher, error) {
	var vm valueMatcher
	var err error
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.ValueMatcher_NullMatch_:
		vm.kind = valueNull
	case *matcherv3.ValueMatcher_DoubleMatch:
		vm, err = compileDoubleMatcher(p.DoubleMatch)
		err = at("double_match", err)
	case *matcherv3.ValueMatcher_StringMatch:
		vm.kind = valueString
		vm.str, err = compileStringMatcher(p.StringMatch)
		err = at("string_match", err)
	case *matcherv3.ValueMatcher_BoolMatch:
		vm.kind, vm.flag = valueBool, p.BoolMatch
	case *matcherv3.ValueMatcher_PresentMatch:
		vm.kind, vm.flag = valuePresent, p.PresentMatch
	case *matcherv3.ValueMatcher_ListMatch:
		vm.kind = valueList
		var one valueMatcher
		one, err = compileValueMatcher(p.ListMatch.GetOneOf())
		vm.sub = []valueMatcher{one}
		err = at("list_match.one_of", err)
	case *matcherv3.ValueMatcher_OrMatch:
		vm.kind = valueOr
		for i, sub := range p.OrMatch.GetValueMatchers() {
			s, e := compileValueMatcher(sub)
			if e != nil {
				return vm, at("or_match.value_matchers["+strconv.Itoa(i)+"]", e)
			}
			vm.sub = append(vm.sub, s)
		}
	default:
		err = errors.New("match_pattern is required")
	}
	return vm, err
}

func compileDoubleMatcher(m *matcherv3.DoubleMatcher) (valueMatcher, error) {
	vm := valueMatcher{kind: valueDouble}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.DoubleMatcher_Exact:
		vm.dblExact = p.Exact
	case *matcherv3.DoubleMatcher_Range:
		vm.dblRange, vm.start, vm.end = true, p.Range.GetStart(), p.Range.GetEnd()
	default:
		return vm, errors.New("match_pattern is required")
	}
	return vm, nil
}

// match reports whether the metadata matches, inverted when configured.
func (m *metadataMatcher) match(md map[string]map[string]any) bool {
	ns, ok := md[m.filter]
	var v any
	found := false
	if ok {
		v, found = lookupPath(ns, m.path)
	}
	return m.value.match(v, found) != m.invert
}

func lookupPath(ns map[string]any, path []string) (any, bool) {
	var cur any = ns
	for _, key := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// match tests one metadata value; found is false when the path led nowhere.
func (m *valueMatcher) match(v any, found bool) bool {
	if !found {
		return false
	}
	switch m.kind {
	case valueNull:
		return v == nil
	case valueDouble:
		f, ok := toFloat(v)
		if !ok {
			return false
		}
		if m.dblRange {
			return f >= m.start && f < m.end
		}
		return f == m.dblExact
	case valueString:
		s, ok := v.(string)
		return ok && m.str.match(s)
	case valueBool:
		b, ok := v.(bool)
		return ok && b == m.flag
	case valuePresent:
		return m.flag
	case valueList:
		return m.matchList(v)
	case valueOr:
		for i := range m.sub {
			if m.sub[i].match(v, true) {
				return true
			}
		}
	}
	return false
}

func (m *valueMatcher) matchList(v any) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range list {
		if m.sub[0].match(e, true) {
			return true
		}
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}
