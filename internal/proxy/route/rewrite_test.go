package route

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
)

func TestFinalizeRequestRewrites(t *testing.T) {
	tests := []struct {
		name  string
		route string // a route entry in YAML flow style
		path  string
		extra []string
		want  []string // expected :path, :authority, x-envoy-original-path, x-forwarded-host
	}{
		{"no rewrite", `{match: {prefix: /a}, route: {cluster: c}}`, "/a/b?q", nil,
			[]string{"/a/b?q", "h", "", ""}},
		{"prefix rewrite", `{match: {prefix: /a}, route: {cluster: c, prefix_rewrite: /x}}`, "/a/b?q=1", nil,
			[]string{"/x/b?q=1", "h", "/a/b?q=1", ""}},
		{"prefix rewrite to root", `{match: {prefix: /api/}, route: {cluster: c, prefix_rewrite: /}}`, "/api/v1", nil,
			[]string{"/v1", "h", "/api/v1", ""}},
		{"prefix rewrite case insensitive", `{match: {prefix: /api, case_sensitive: false}, route: {cluster: c, prefix_rewrite: /x}}`, "/API/v1", nil,
			[]string{"/x/v1", "h", "/API/v1", ""}},
		{"path route prefix rewrite keeps query", `{match: {path: /a/locations, case_sensitive: false}, route: {cluster: c, prefix_rewrite: /rewrote}}`, "/A/locations?works=true", nil,
			[]string{"/rewrote?works=true", "h", "/A/locations?works=true", ""}},
		{"separated prefix rewrite", `{match: {path_separated_prefix: /api}, route: {cluster: c, prefix_rewrite: /v2}}`, "/api/x", nil,
			[]string{"/v2/x", "h", "/api/x", ""}},
		{"regex route prefix rewrite replaces the path", `{match: {safe_regex: {regex: "/r/.*"}}, route: {cluster: c, prefix_rewrite: /new}}`, "/r/x?q", nil,
			[]string{"/new?q", "h", "/r/x?q", ""}},
		{"regex rewrite", `{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: "^/service/([^/]+)(/.*)$"}, substitution: "\\2/instance/\\1"}}}`, "/service/foo/v1/api?x=1", nil,
			[]string{"/v1/api/instance/foo?x=1", "h", "/service/foo/v1/api?x=1", ""}},
		{"regex rewrite all matches", `{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: "o"}, substitution: "0"}}}`, "/foo/boo", nil,
			[]string{"/f00/b00", "h", "/foo/boo", ""}},
		{"regex rewrite dollar is literal", `{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: "a"}, substitution: "$1"}}}`, "/a", nil,
			[]string{"/$1", "h", "/a", ""}},
		{"host literal", `{match: {prefix: /}, route: {cluster: c, host_rewrite_literal: new.host}}`, "/", nil,
			[]string{"/", "new.host", "", ""}},
		{"host literal append xfh", `{match: {prefix: /}, route: {cluster: c, host_rewrite_literal: new.host, append_x_forwarded_host: true}}`, "/", []string{"x-forwarded-host", "first"},
			[]string{"/", "new.host", "", "first,h"}},
		{"host header", `{match: {prefix: /}, route: {cluster: c, host_rewrite_header: X-Host}}`, "/", []string{"x-host", "from.header", "x-host", "second"},
			[]string{"/", "from.header", "", ""}},
		{"host header missing", `{match: {prefix: /}, route: {cluster: c, host_rewrite_header: X-Host}}`, "/", nil,
			[]string{"/", "h", "", ""}},
		{"host path regex", `{match: {prefix: /}, route: {cluster: c, host_rewrite_path_regex: {pattern: {regex: "^/prefix/(.+)/.*$"}, substitution: "\\1"}}}`, "/prefix/host.example/x?q", nil,
			[]string{"/prefix/host.example/x?q", "host.example", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustTable(t, `virtual_hosts: [{name: vh, domains: ["*"], routes: [`+tt.route+`]}]`)
			req := request("h", tt.path, tt.extra...)
			e := tbl.Match(req, nil, 0)
			if e == nil {
				t.Fatal("no route")
			}
			e.FinalizeRequest(req, nil)
			got := []string{req.Get(":path"), req.Get(":authority"), req.Get(OriginalPathHeader), req.Get("x-forwarded-host")}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAutoHostRewrite(t *testing.T) {
	tbl := mustTable(t, `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c, auto_host_rewrite: true}}]}]`)
	req := request("h", "/")
	e := tbl.Match(req, nil, 0)
	e.FinalizeRequest(req, nil)
	if !e.AutoHostRewrite() || req.Get(":authority") != "h" {
		t.Errorf("AutoHostRewrite = %v, :authority = %q", e.AutoHostRewrite(), req.Get(":authority"))
	}
}

const weightedConfig = `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route:
      weighted_clusters:
        clusters:
        - {name: a, weight: 30, host_rewrite_literal: a.host, request_headers_to_add: [{header: {key: x-level, value: cluster-a}}]}
        - {name: zero, weight: 0}
        - {name: b, weight: 30}
        - {name: c, weight: 40}
`

func TestWeightedClusters(t *testing.T) {
	tbl := mustTable(t, weightedConfig)
	for random, want := range map[uint64]string{0: "a", 29: "a", 30: "b", 59: "b", 60: "c", 99: "c", 115: "a", 445: "b", 560: "c"} {
		req := request("h", "/")
		if got := tbl.Match(req, nil, random).ClusterName(req); got != want {
			t.Errorf("random %d: cluster %q, want %q", random, got, want)
		}
	}
	req := request("h", "/")
	e := tbl.Match(req, nil, 0)
	if e != tbl.Match(request("h", "/x"), nil, 100) {
		t.Error("the same weighted cluster should give the same *Entry")
	}
	e.FinalizeRequest(req, nil)
	if req.Get(":authority") != "a.host" || req.Get("x-level") != "cluster-a" || !e.WeightedCluster() {
		t.Errorf("weighted entry finalize: authority %q, x-level %q", req.Get(":authority"), req.Get("x-level"))
	}
	if _, _, c := tbl.Match(request("h", "/"), nil, 70).Position(); c != 3 {
		t.Errorf("Position cluster = %d, want 3", c)
	}
}

func TestWeightedRuntimeAndHeader(t *testing.T) {
	cfg := `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route:
      weighted_clusters:
        runtime_key_prefix: w
        header_name: x-random
        clusters: [{name: a, weight: 50}, {name: b, weight: 50}]
`
	var keys []string
	tbl := mustTable(t, cfg, Options{RuntimeUint: func(key string, def uint64) uint64 {
		keys = append(keys, key)
		if key == "w.a" {
			return 0
		}
		return def
	}})
	if got := clusterOf(tbl, request("h", "/")); got != "b" {
		t.Errorf("runtime weight a=0: cluster %q, want b", got)
	}
	if diff := cmp.Diff([]string{"w.a", "w.b"}, keys[:2]); diff != "" {
		t.Errorf("runtime keys (-want +got):\n%s", diff)
	}
	plain := mustTable(t, cfg)
	h := request("h", "/", "x-random", "75")
	if got := plain.Match(h, nil, 0).ClusterName(h); got != "b" {
		t.Errorf("x-random 75: cluster %q, want b", got)
	}
}

func TestClusterHeader(t *testing.T) {
	tbl := mustTable(t, `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster_header: X-Cluster, cluster_not_found_response_code: NOT_FOUND}}]}]`)
	h := header.Of(":authority", "h", ":path", "/", "x-cluster", "one", "x-cluster", "two")
	e := tbl.Match(&h, nil, 0)
	if got := e.ClusterName(&h); got != "one" {
		t.Errorf("cluster = %q, want one", got)
	}
	if got := e.ClusterName(request("h", "/")); got != "" {
		t.Errorf("cluster without header = %q, want empty", got)
	}
	if e.ClusterNotFoundCode() != 404 {
		t.Errorf("ClusterNotFoundCode = %d, want 404", e.ClusterNotFoundCode())
	}
}
