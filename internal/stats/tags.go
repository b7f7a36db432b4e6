package stats

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unique"
)

// Tag is a name/value pair extracted from a stat name, such as
// {"envoy.cluster_name", "reviews"}. Prometheus output turns it into a label.
type Tag struct {
	Name  string
	Value string
}

// TagSpec configures one tag extractor, like an entry of Envoy's
// stats_config.stats_tags: either a regex or a fixed value.
type TagSpec struct {
	// Name is the tag name, such as "envoy.cluster_name".
	Name string
	// Regex is searched for in the stat name (RE2 syntax; Envoy's std::regex
	// extensions such as lookahead are not supported). Its first group is removed
	// from the name and its second group, or the first if there is no second, is
	// the tag value.
	Regex string
	// FixedValue, when Regex is empty, adds the tag with this value to every stat.
	FixedValue string
}

// Tagger turns a stat name into its tag-extracted name and tags, the way Envoy's
// TagProducer does. A Tagger is immutable and safe for concurrent use.
type Tagger struct {
	anyPrefix []*extractor            // extractors that apply to every name
	byPrefix  map[string][]*extractor // extractors keyed by the first name token
}

// NewTagger returns a tagger that runs Envoy's default extractors (when
// useDefaults is set) followed by specs, as Envoy does with stats_tags and
// use_all_default_tags.
func NewTagger(specs []TagSpec, useDefaults bool) (*Tagger, error) {
	t := &Tagger{byPrefix: make(map[string][]*extractor)}
	if useDefaults {
		for _, x := range defaultExtractors() {
			t.add(x)
		}
	}
	for _, s := range specs {
		x, err := newSpecExtractor(s)
		if err != nil {
			return nil, fmt.Errorf("stats tag %q: %w", s.Name, err)
		}
		t.add(x)
	}
	return t, nil
}

func (t *Tagger) add(x *extractor) {
	if x.prefix == "" {
		t.anyPrefix = append(t.anyPrefix, x)
		return
	}
	t.byPrefix[x.prefix] = append(t.byPrefix[x.prefix], x)
}

// Extract returns name without the extracted tag values, and the tags in the order
// Envoy produces them. The tag-extracted name is interned: the many stats that
// share one (such as every cluster's "cluster.upstream_rq_total") share its memory.
func (t *Tagger) Extract(name string) (string, []Tag) {
	var (
		tags   []Tag
		cuts   []span
		tokens []string
	)
	run := func(x *extractor) {
		if hasTag(tags, x.name) {
			return // Envoy keeps the first of several extractors for one tag name
		}
		if x.tokens != nil && tokens == nil {
			tokens = strings.Split(name, ".")
		}
		if value, cut, ok := x.extract(name, tokens); ok {
			tags = append(tags, Tag{Name: x.name, Value: value})
			if cut.end > cut.start {
				cuts = append(cuts, cut)
			}
		}
	}
	for _, x := range t.anyPrefix {
		run(x)
	}
	if first, _, ok := strings.Cut(name, "."); ok {
		for _, x := range t.byPrefix[first] {
			run(x)
		}
	}
	if len(cuts) == 0 {
		return name, tags
	}
	return unique.Make(removeSpans(name, cuts)).Value(), tags
}

func hasTag(tags []Tag, name string) bool {
	for _, t := range tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

// span is a half-open byte range of a stat name.
type span struct{ start, end int }

// removeSpans returns s without the bytes covered by spans, which may overlap.
func removeSpans(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, sp := range spans {
		if sp.start > pos {
			b.WriteString(s[pos:sp.start])
		}
		pos = max(pos, sp.end)
	}
	if pos < len(s) {
		b.WriteString(s[pos:])
	}
	return b.String()
}

// extractor pulls one tag out of a stat name. It is a regex, a token pattern
// (Envoy's "cluster.$.**" form) or a fixed value.
type extractor struct {
	name     string
	prefix   string // first token a name must have, or "" for any name
	substr   string // a name must contain this for the regex to be tried
	negative string // a value that does not count as a match
	re       *regexp.Regexp
	tokens   []string
	match    int // index of "$" in tokens
	fixed    string
}

func newSpecExtractor(s TagSpec) (*extractor, error) {
	if s.Name == "" {
		return nil, errors.New("tag name is empty")
	}
	if s.Regex == "" {
		return &extractor{name: s.Name, fixed: s.FixedValue}, nil
	}
	return newRegexExtractor(s.Name, s.Regex, "", "")
}

func newRegexExtractor(name, expr, substr, negative string) (*extractor, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("compile regex: %w", err)
	}
	if re.NumSubexp() < 1 {
		return nil, fmt.Errorf("regex %q has no group to remove", expr)
	}
	return &extractor{name: name, prefix: regexPrefix(expr), substr: substr, negative: negative, re: re}, nil
}

func newTokenExtractor(name, pattern string) *extractor {
	tokens := strings.Split(pattern, ".")
	x := &extractor{name: name, tokens: tokens, match: slices.Index(tokens, "$")}
	if first := tokens[0]; first != "$" && first != "*" && first != "**" {
		x.prefix = first
	}
	return x
}

// regexPrefix returns the literal first token a regex requires, as Envoy computes
// it: "^cluster\." gives "cluster".
func regexPrefix(expr string) string {
	if !strings.HasPrefix(expr, "^") {
		return ""
	}
	i := 1
	for i < len(expr) && isWordByte(expr[i]) {
		i++
	}
	if i == 1 || i == len(expr) {
		return ""
	}
	rest := expr[i:]
	if strings.HasPrefix(rest, `\.`) || strings.HasPrefix(rest, `(?=\.)`) || rest == "$" {
		return expr[1:i]
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (x *extractor) extract(name string, tokens []string) (string, span, bool) {
	switch {
	case x.re != nil:
		return x.extractRegex(name)
	case x.tokens != nil:
		return x.extractTokens(tokens)
	default:
		return x.fixed, span{}, true
	}
}

func (x *extractor) extractRegex(name string) (string, span, bool) {
	if x.substr != "" && !strings.Contains(name, x.substr) {
		return "", span{}, false
	}
	m := x.re.FindStringSubmatchIndex(name)
	if m == nil || m[2] < 0 || m[3] == m[2] {
		return "", span{}, false
	}
	cut := span{m[2], m[3]}
	value := name[m[2]:m[3]]
	if len(m) >= 6 && m[4] >= 0 && m[5] > m[4] {
		value = name[m[4]:m[5]]
	}
	if x.negative != "" && value == x.negative {
		return "", span{}, false
	}
	return value, cut, true
}

// extractTokens matches a token pattern: "$" is the tag value, "*" any one token,
// "**" any run of tokens (at least one at the end of a pattern). The value is
// removed with the dot that follows it, or the one before it when it is last.
func (x *extractor) extractTokens(in []string) (string, span, bool) {
	m := tokenMatch{start: -1, idx: -1}
	if !x.searchTokens(in, 0, 0, 0, &m) || m.idx < 0 {
		return "", span{}, false
	}
	value := in[m.idx]
	cut := span{m.start, m.start + len(value)}
	if m.idx < len(in)-1 {
		cut.end++
	} else if cut.start > 0 {
		cut.start--
	}
	return value, cut, true
}

type tokenMatch struct{ start, idx int }

func (x *extractor) searchTokens(in []string, ii, pi, ci int, m *tokenMatch) bool {
	for ; ii < len(in) && pi < len(x.tokens); ii, pi = ii+1, pi+1 {
		if pi == x.match {
			m.start, m.idx = ci, ii
			ci += len(in[ii]) + 1
			continue
		}
		want := x.tokens[pi]
		if want == "**" {
			if pi == len(x.tokens)-1 {
				return true
			}
			for ; ii < len(in); ii++ {
				if x.searchTokens(in, ii, pi+1, ci, m) {
					return true
				}
				ci += len(in[ii]) + 1
			}
			return false
		}
		if want != "*" && want != in[ii] {
			return false
		}
		ci += len(in[ii]) + 1
	}
	return pi == len(x.tokens) && ii == len(in)
}
