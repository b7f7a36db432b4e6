package route

import (
	"testing"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// oneRoute is a config with a single vhost whose first route has the given match and
// cluster "hit", followed by a catch-all to cluster "miss".
func oneRoute(match string) string {
	return `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: ` + match + `
    route: {cluster: hit}
  - match: {prefix: /}
    route: {cluster: miss}
`
}

func TestRouteMatchKinds(t *testing.T) {
	tests := []struct {
		name  string
		match string
		path  string
		extra []string
		want  string
	}{
		{"prefix", `{prefix: /api}`, "/api/v1", nil, "hit"},
		{"prefix is not a segment match", `{prefix: /api}`, "/apiary", nil, "hit"},
		{"prefix case sensitive", `{prefix: /api}`, "/API", nil, "miss"},
		{"prefix case insensitive", `{prefix: /api, case_sensitive: false}`, "/API/x", nil, "hit"},
		{"prefix ignores the query", `{prefix: "/a?b"}`, "/a?b=1", nil, "miss"},
		{"prefix ignores the fragment", `{prefix: "/a/"}`, "/a#/", nil, "miss"},
		{"path", `{path: /exact}`, "/exact", nil, "hit"},
		{"path ignores query", `{path: /exact}`, "/exact?x=1", nil, "hit"},
		{"path ignores fragment", `{path: /exact}`, "/exact#frag", nil, "hit"},
		{"path longer", `{path: /exact}`, "/exact/more", nil, "miss"},
		{"path case", `{path: /Exact}`, "/exact", nil, "miss"},
		{"path case insensitive", `{path: /Exact, case_sensitive: false}`, "/eXACT?q", nil, "hit"},
		{"regex", `{safe_regex: {regex: "/users/[0-9]+"}}`, "/users/42?x", nil, "hit"},
		{"regex is anchored", `{safe_regex: {regex: "/users/[0-9]+"}}`, "/users/42/x", nil, "miss"},
		{"regex ignores case_sensitive", `{safe_regex: {regex: "/a"}, case_sensitive: false}`, "/A", nil, "miss"},
		{"separated prefix exact", `{path_separated_prefix: /api}`, "/api", nil, "hit"},
		{"separated prefix slash", `{path_separated_prefix: /api}`, "/api/x", nil, "hit"},
		{"separated prefix query", `{path_separated_prefix: /api}`, "/api?x", nil, "hit"},
		{"separated prefix other segment", `{path_separated_prefix: /api}`, "/api-x", nil, "miss"},
		{"separated prefix case", `{path_separated_prefix: /api, case_sensitive: false}`, "/API/x", nil, "hit"},
		{"grpc", `{prefix: /, grpc: {}}`, "/svc/M", []string{"content-type", "application/grpc"}, "hit"},
		{"grpc plus", `{prefix: /, grpc: {}}`, "/svc/M", []string{"content-type", "application/grpc+proto"}, "hit"},
		{"grpc web is not grpc", `{prefix: /, grpc: {}}`, "/svc/M", []string{"content-type", "application/grpc-web"}, "miss"},
		{"grpc missing", `{prefix: /, grpc: {}}`, "/svc/M", nil, "miss"},
		{"query present", `{prefix: /, query_parameters: [{name: debug}]}`, "/x?a=1&debug", nil, "hit"},
		{"query present explicit", `{prefix: /, query_parameters: [{name: debug, present_match: true}]}`, "/x?debug=0", nil, "hit"},
		{"query absent", `{prefix: /, query_parameters: [{name: debug}]}`, "/x?debugger=1", nil, "miss"},
		{"query exact", `{prefix: /, query_parameters: [{name: v, string_match: {exact: "2"}}]}`, "/x?v=2", nil, "hit"},
		{"query first value only", `{prefix: /, query_parameters: [{name: v, string_match: {exact: "2"}}]}`, "/x?v=1&v=2", nil, "miss"},
		{"query undecoded", `{prefix: /, query_parameters: [{name: v, string_match: {exact: "a%20b"}}]}`, "/x?v=a%20b", nil, "hit"},
		{"query ignores fragment", `{prefix: /, query_parameters: [{name: v, string_match: {exact: "1"}}]}`, "/x?v=1#f", nil, "hit"},
		{"query regex", `{prefix: /, query_parameters: [{name: v, string_match: {safe_regex: {regex: "[0-9]+"}}}]}`, "/x?v=12", nil, "hit"},
		{"query all must match", `{prefix: /, query_parameters: [{name: a}, {name: b}]}`, "/x?a", nil, "miss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustTable(t, oneRoute(tt.match))
			if got := clusterOf(tbl, request("h", tt.path, tt.extra...)); got != tt.want {
				t.Errorf("cluster = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaderMatchers(t *testing.T) {
	tests := []struct {
		name    string
		matcher string
		headers []string
		want    bool
	}{
		{"exact", `{name: x, string_match: {exact: a}}`, []string{"x", "a"}, true},
		{"exact differs", `{name: x, string_match: {exact: a}}`, []string{"x", "b"}, false},
		{"exact ignore case", `{name: x, string_match: {exact: AbC, ignore_case: true}}`, []string{"x", "aBc"}, true},
		{"exact missing", `{name: x, string_match: {exact: a}}`, nil, false},
		{"regex literal in exact", `{name: x, string_match: {exact: "^a.*$"}}`, []string{"x", "abc"}, false},
		{"prefix", `{name: x, string_match: {prefix: ab}}`, []string{"x", "abc"}, true},
		{"prefix ignore case", `{name: x, string_match: {prefix: AB, ignore_case: true}}`, []string{"x", "abc"}, true},
		{"suffix", `{name: x, string_match: {suffix: bc}}`, []string{"x", "abc"}, true},
		{"suffix ignore case", `{name: x, string_match: {suffix: BC, ignore_case: true}}`, []string{"x", "aBc"}, true},
		{"contains", `{name: x, string_match: {contains: b}}`, []string{"x", "abc"}, true},
		{"contains ignore case", `{name: x, string_match: {contains: B, ignore_case: true}}`, []string{"x", "abc"}, true},
		{"contains not", `{name: x, string_match: {contains: z}}`, []string{"x", "abc"}, false},
		{"safe regex", `{name: x, string_match: {safe_regex: {regex: "a[0-9]+"}}}`, []string{"x", "a12"}, true},
		{"safe regex anchored", `{name: x, string_match: {safe_regex: {regex: "a[0-9]+"}}}`, []string{"x", "a12b"}, false},
		{"deprecated exact", `{name: x, exact_match: a}`, []string{"x", "a"}, true},
		{"deprecated exact empty matches any", `{name: x, exact_match: ""}`, []string{"x", "zzz"}, true},
		{"deprecated regex", `{name: x, safe_regex_match: {regex: "[a-c]+"}}`, []string{"x", "abc"}, true},
		{"deprecated prefix", `{name: x, prefix_match: a}`, []string{"x", "abc"}, true},
		{"deprecated suffix", `{name: x, suffix_match: c}`, []string{"x", "abc"}, true},
		{"deprecated contains", `{name: x, contains_match: b}`, []string{"x", "abc"}, true},
		{"no specifier is presence", `{name: x}`, []string{"x", ""}, true},
		{"no specifier absent", `{name: x}`, nil, false},
		{"present true", `{name: x, present_match: true}`, []string{"x", "1"}, true},
		{"present false means absent", `{name: x, present_match: false}`, nil, true},
		{"present false present", `{name: x, present_match: false}`, []string{"x", "1"}, false},
		{"present inverted", `{name: x, present_match: true, invert_match: true}`, nil, true},
		{"range in", `{name: x, range_match: {start: -10, end: 10}}`, []string{"x", "-10"}, true},
		{"range end excluded", `{name: x, range_match: {start: -10, end: 10}}`, []string{"x", "10"}, false},
		{"range not a number", `{name: x, range_match: {start: 0, end: 10}}`, []string{"x", "5a"}, false},
		{"inverted", `{name: x, string_match: {exact: a}, invert_match: true}`, []string{"x", "b"}, true},
		{"inverted missing does not match", `{name: x, string_match: {exact: a}, invert_match: true}`, nil, false},
		{"missing as empty", `{name: x, string_match: {exact: ""}, treat_missing_header_as_empty: true}`, nil, true},
		{"missing as empty inverted", `{name: x, range_match: {start: 0, end: 10}, invert_match: true, treat_missing_header_as_empty: true}`, nil, true},
		{"values joined", `{name: x, string_match: {exact: "a,b"}}`, []string{"x", "a", "x", "b"}, true},
		{"pseudo header", `{name: ":scheme", string_match: {exact: https}}`, []string{":scheme", "https"}, true},
		{"name case", `{name: X-Foo, string_match: {exact: a}}`, []string{"x-foo", "a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustTable(t, oneRoute(`{prefix: /, headers: [`+tt.matcher+`]}`))
			h := header.Of(append([]string{":authority", "h", ":path", "/", ":method", "GET"}, tt.headers...)...)
			if got := clusterOf(tbl, &h) == "hit"; got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - {match: {prefix: /a}, route: {cluster: first}}
  - {match: {prefix: /a/b}, route: {cluster: second}}
  - {match: {path: /c, headers: [{name: x}]}, route: {cluster: with-header}}
  - {match: {path: /c}, route: {cluster: without-header}}`)
	for path, want := range map[string]string{"/a/b": "first", "/c": "without-header", "/d": "<none>"} {
		if got := clusterOf(tbl, request("h", path)); got != want {
			t.Errorf("%s: cluster = %q, want %q", path, got, want)
		}
	}
	if got := clusterOf(tbl, request("h", "/c", "x", "1")); got != "with-header" {
		t.Errorf("/c with x: cluster = %q, want with-header", got)
	}
}

func TestRuntimeFraction(t *testing.T) {
	cfg := oneRoute(`{prefix: /, runtime_fraction: {runtime_key: k, default_value: {numerator: 30, denominator: HUNDRED}}}`)
	tbl := mustTable(t, cfg)
	for random, want := range map[uint64]string{0: "hit", 29: "hit", 30: "miss", 129: "hit", 170: "miss"} {
		if e := tbl.Match(request("h", "/"), nil, random); e.ClusterName(nil) != want {
			t.Errorf("random %d: cluster = %q, want %q", random, e.ClusterName(nil), want)
		}
	}
	var gotKey string
	hooked := mustTable(t, cfg, Options{RuntimeFeature: func(key string, def Fraction, random uint64) bool {
		gotKey = key
		return def == Fraction{Numerator: 30, Denominator: 100} && random == 99
	}})
	if e := hooked.Match(request("h", "/"), nil, 99); e.ClusterName(nil) != "hit" || gotKey != "k" {
		t.Errorf("hook: cluster %q, key %q", e.ClusterName(nil), gotKey)
	}
}

func TestDynamicMetadataMatch(t *testing.T) {
	md := map[string]map[string]any{
		"ns": {"s": "bar", "num": 2.5, "b": true, "nil": nil, "l": []any{"x", "why"},
			"o": map[string]any{"in": "deep"}},
	}
	tests := []struct {
		name    string
		matcher string
		want    bool
	}{
		{"string", `{filter: ns, path: [{key: s}], value: {string_match: {exact: bar}}}`, true},
		{"string differs", `{filter: ns, path: [{key: s}], value: {string_match: {exact: baz}}}`, false},
		{"nested", `{filter: ns, path: [{key: o}, {key: in}], value: {string_match: {prefix: de}}}`, true},
		{"missing namespace", `{filter: other, path: [{key: s}], value: {present_match: true}}`, false},
		{"missing namespace inverted", `{filter: other, path: [{key: s}], value: {present_match: true}, invert: true}`, true},
		{"double exact", `{filter: ns, path: [{key: num}], value: {double_match: {exact: 2.5}}}`, true},
		{"double range", `{filter: ns, path: [{key: num}], value: {double_match: {range: {start: 2, end: 3}}}}`, true},
		{"bool", `{filter: ns, path: [{key: b}], value: {bool_match: true}}`, true},
		{"null", `{filter: ns, path: [{key: nil}], value: {null_match: {}}}`, true},
		{"present", `{filter: ns, path: [{key: s}], value: {present_match: true}}`, true},
		{"present missing key", `{filter: ns, path: [{key: zz}], value: {present_match: true}}`, false},
		{"list", `{filter: ns, path: [{key: l}], value: {list_match: {one_of: {string_match: {exact: why}}}}}`, true},
		{"or", `{filter: ns, path: [{key: s}], value: {or_match: {value_matchers: [{bool_match: true}, {string_match: {exact: bar}}]}}}`, true},
		{"type mismatch", `{filter: ns, path: [{key: s}], value: {double_match: {exact: 1}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustTable(t, oneRoute(`{prefix: /, dynamic_metadata: [`+tt.matcher+`]}`))
			info := &streaminfo.Info{Metadata: md}
			if got := tbl.Match(request("h", "/"), info, 0).ClusterName(nil) == "hit"; got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVirtualClusters(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- name: with
  domains: [with]
  routes: [{match: {prefix: /}, route: {cluster: c}}]
  virtual_clusters:
  - {name: users, headers: [{name: ":path", string_match: {safe_regex: {regex: "^/users/\\d+$"}}}, {name: ":method", string_match: {exact: PUT}}]}
  - {name: any-post, headers: [{name: ":method", string_match: {exact: POST}}]}
- name: without
  domains: [without]
  routes: [{match: {prefix: /}, route: {cluster: c}}]`)
	tests := []struct{ host, path, method, want string }{
		{"with", "/users/1", "PUT", "users"},
		{"with", "/users/1", "POST", "any-post"},
		{"with", "/users/x", "PUT", OtherVirtualCluster},
		{"without", "/users/1", "PUT", ""},
	}
	for _, tt := range tests {
		h := header.Of(":authority", tt.host, ":path", tt.path, ":method", tt.method)
		if got := tbl.Match(&h, nil, 0).VirtualClusterName(&h); got != tt.want {
			t.Errorf("%s %s %s: virtual cluster = %q, want %q", tt.host, tt.method, tt.path, got, tt.want)
		}
	}
}
