package route

import (
	"testing"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

const fuzzConfig = `
virtual_hosts:
- name: a
  domains: [a.com, "*.a.com", "a.*", "[::1]:8080"]
  require_tls: EXTERNAL_ONLY
  virtual_clusters: [{name: vc, headers: [{name: ":path", string_match: {safe_regex: {regex: "/v[0-9]+"}}}]}]
  routes:
  - match: {path_separated_prefix: /sep, case_sensitive: false}
    route: {cluster: sep, prefix_rewrite: /x, host_rewrite_path_regex: {pattern: {regex: "^/sep/([^/]*).*"}, substitution: "\\1"}}
  - match: {safe_regex: {regex: "/re/([a-z]+)/(.*)"}}
    route: {cluster: re, regex_rewrite: {pattern: {regex: "([a-z]+)"}, substitution: "<\\1>"}}
  - match: {prefix: /q, query_parameters: [{name: k, string_match: {prefix: v}}]}
    route: {cluster_header: x-cluster, host_rewrite_header: x-host, append_x_forwarded_host: true}
  - match: {prefix: /h, headers: [{name: x, range_match: {start: -5, end: 5}}, {name: "y", string_match: {contains: Z, ignore_case: true}, invert_match: true}]}
    redirect: {regex_rewrite: {pattern: {regex: "h"}, substitution: "H"}, port_redirect: 99, strip_query: true}
  - match: {prefix: /r}
    redirect: {prefix_rewrite: /rr, scheme_redirect: https}
  - match: {prefix: /d, dynamic_metadata: [{filter: f, path: [{key: k}], value: {string_match: {exact: v}}}]}
    direct_response: {status: 200, body: {inline_string: body}}
  - match: {prefix: /}
    route:
      weighted_clusters:
        header_name: x-random
        clusters: [{name: w1, weight: 1}, {name: w2, weight: 2, host_rewrite_literal: w2}]
- name: any
  domains: ["*"]
  routes: [{match: {prefix: "", grpc: {}}, route: {cluster: grpc}}]
`

// FuzzMatch routes random paths, hosts and header values and finalizes the result; it
// must never panic.
func FuzzMatch(f *testing.F) {
	tbl := mustTable(f, fuzzConfig)
	f.Add("a.com", "/sep/x/y?q", "1", "zz", uint64(3))
	f.Add("b.a.com:80", "/re/abc/def", "-5", "", uint64(0))
	f.Add("A.Com", "/q?k=v1&k=2", "x", "Z", uint64(1<<63))
	f.Add("[::1]:8080", "/h?x", "4", "a", uint64(7))
	f.Add("other", "", "", "", uint64(0))
	f.Add("a.com", "/d", "", "", uint64(1))
	f.Add("a.x", "?", ":", "%", uint64(2))
	f.Fuzz(func(t *testing.T, host, path, x, y string, random uint64) {
		req := header.Of(":authority", host, ":path", path, ":method", "GET", "x", x, "y", y,
			"x-random", x, "x-cluster", y, "x-host", y, "content-type", x, "x-forwarded-proto", y, "x-envoy-internal", x)
		info := &streaminfo.Info{RequestHeaders: &req, Metadata: map[string]map[string]any{"f": {"k": y}}}
		e := tbl.Match(&req, info, random)
		if e == nil {
			return
		}
		e.ClusterName(&req)
		e.VirtualClusterName(&req)
		e.NewURI(&req)
		if _, ok := e.LocalReply(&req, info); !ok {
			e.FinalizeRequest(&req, info)
		}
		resp := header.Of(":status", "200")
		e.FinalizeResponse(&resp, info)
	})
}
