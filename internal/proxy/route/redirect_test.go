package route

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
)

func TestRedirects(t *testing.T) {
	tests := []struct {
		name     string
		redirect string
		match    string
		host     string
		path     string
		https    bool
		wantURI  string
		wantCode int
	}{
		{"keep everything", `{}`, `{prefix: /}`, "a.com", "/p?q", false, "http://a.com/p?q", 301},
		{"scheme from request", `{}`, `{prefix: /}`, "a.com", "/p", true, "https://a.com/p", 301},
		{"https redirect", `{https_redirect: true}`, `{prefix: /}`, "a.com", "/p", false, "https://a.com/p", 301},
		{"https redirect drops port 80", `{https_redirect: true}`, `{prefix: /}`, "a.com:80", "/p", false, "https://a.com/p", 301},
		{"https redirect keeps other port", `{https_redirect: true}`, `{prefix: /}`, "a.com:8080", "/p", false, "https://a.com:8080/p", 301},
		{"scheme redirect drops 443", `{scheme_redirect: http}`, `{prefix: /}`, "a.com:443", "/p", true, "http://a.com/p", 301},
		{"same scheme keeps port 80", `{}`, `{prefix: /}`, "a.com:80", "/p", false, "http://a.com:80/p", 301},
		{"host redirect", `{host_redirect: b.com}`, `{prefix: /}`, "a.com:9", "/p", false, "http://b.com/p", 301},
		{"port redirect", `{port_redirect: 8443}`, `{prefix: /}`, "a.com:9", "/p", false, "http://a.com:8443/p", 301},
		{"port redirect ipv6", `{port_redirect: 8443}`, `{prefix: /}`, "[::1]:9", "/p", false, "http://[::1]:8443/p", 301},
		{"path redirect keeps query", `{path_redirect: /new}`, `{prefix: /}`, "a.com", "/old?x=1", false, "http://a.com/new?x=1", 301},
		{"path redirect with query wins", `{path_redirect: "/new?y=2", strip_query: true}`, `{prefix: /}`, "a.com", "/old?x=1", false, "http://a.com/new?y=2", 301},
		{"path redirect strip query", `{path_redirect: /new, strip_query: true}`, `{prefix: /}`, "a.com", "/old?x=1", false, "http://a.com/new", 301},
		{"strip query", `{strip_query: true}`, `{prefix: /}`, "a.com", "/old?x=1", false, "http://a.com/old", 301},
		{"prefix rewrite", `{prefix_rewrite: /blah}`, `{prefix: /rewrite}`, "a.com", "/rewrite/x?q", false, "http://a.com/blah/x?q", 301},
		{"regex rewrite", `{regex_rewrite: {pattern: {regex: "^/(\\w+)/(\\w+)$"}, substitution: "/\\2/\\1"}}`, `{prefix: /}`, "a.com", "/a/b?q", false, "http://a.com/b/a?q", 301},
		{"found", `{response_code: FOUND}`, `{prefix: /}`, "a.com", "/", false, "http://a.com/", 302},
		{"see other", `{response_code: SEE_OTHER}`, `{prefix: /}`, "a.com", "/", false, "http://a.com/", 303},
		{"temporary", `{response_code: TEMPORARY_REDIRECT}`, `{prefix: /}`, "a.com", "/", false, "http://a.com/", 307},
		{"permanent", `{response_code: PERMANENT_REDIRECT}`, `{prefix: /}`, "a.com", "/", false, "http://a.com/", 308},
		{"all at once", `{https_redirect: true, host_redirect: b.com, port_redirect: 8443, path_redirect: /n}`, `{prefix: /}`, "a.com", "/o", false, "https://b.com:8443/n", 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustTable(t, `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: `+tt.match+`, redirect: `+tt.redirect+`}]}]`)
			scheme := "http"
			if tt.https {
				scheme = "https"
			}
			req := header.Of(":authority", tt.host, ":path", tt.path, ":method", "GET", ":scheme", scheme, "x-forwarded-proto", scheme)
			e := tbl.Match(&req, nil, 0)
			if e == nil || e.Action() != ActionRedirect {
				t.Fatalf("no redirect route")
			}
			reply, ok := e.LocalReply(&req, nil)
			got := []any{ok, reply.Status, reply.Headers.Get("location"), reply.Headers.Get(":status")}
			want := []any{true, tt.wantCode, tt.wantURI, strconv.Itoa(tt.wantCode)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[ok status location :status] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequireTLS(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- {name: all, domains: [all], require_tls: ALL, routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: ext, domains: [ext], require_tls: EXTERNAL_ONLY, routes: [{match: {prefix: /}, route: {cluster: c}}]}`)
	tests := []struct {
		host            string
		https, internal bool
		wantURI         string
	}{
		{"all", false, false, "https://all/p?q"},
		{"all", false, true, "https://all/p?q"},
		{"all", true, false, ""},
		{"ext", false, false, "https://ext/p?q"},
		{"ext", false, true, ""},
		{"ext", true, false, ""},
	}
	for _, tt := range tests {
		scheme := "http"
		if tt.https {
			scheme = "https"
		}
		req := header.Of(":authority", tt.host, ":path", "/p?q", "x-forwarded-proto", scheme)
		if tt.internal {
			req.Add("x-envoy-internal", "true")
		}
		e := tbl.Match(&req, nil, 0)
		got := e.NewURI(&req)
		if got != tt.wantURI {
			t.Errorf("%+v: redirect %q, want %q", tt, got, tt.wantURI)
		}
		if tt.wantURI != "" && (e.ResponseCode() != 301 || e.VirtualHost().Name() != "" || e.Action() != ActionRedirect) {
			t.Errorf("%+v: code %d, vhost %q", tt, e.ResponseCode(), e.VirtualHost().Name())
		}
	}
}

func TestDirectResponse(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {path: /ping}
    direct_response: {status: 200, body: {inline_string: "Success!"}}
    response_headers_to_add: [{header: {key: x-ping, value: "yes"}}]
  - match: {path: /json}
    direct_response: {status: 200, body: {inline_bytes: "e30="}}
    response_headers_to_add: [{header: {key: content-type, value: application/json}}]
  - match: {path: /empty}
    direct_response: {status: 201}
    response_headers_to_add: [{header: {key: content-type, value: application/json}}]
  - match: {path: /fwd}
    route: {cluster: c}`)
	tests := []struct {
		path string
		want []string // status, body, content-type values, content-length, location, x-ping
	}{
		{"/ping", []string{"200", "Success!", "text/plain", "8", "", "yes"}},
		{"/json", []string{"200", "{}", "application/json", "2", "", ""}},
		{"/empty", []string{"201", "", "", "", "http://h/empty", ""}},
	}
	for _, tt := range tests {
		req := request("h", tt.path)
		e := tbl.Match(req, nil, 0)
		r, ok := e.LocalReply(req, nil)
		got := []string{r.Headers.Get(":status"), r.Body, r.Headers.Get("content-type"), r.Headers.Get("content-length"),
			r.Headers.Get("location"), r.Headers.Get("x-ping")}
		if diff := cmp.Diff(tt.want, got); !ok || diff != "" || e.NewURI(req) != "http://h"+tt.path {
			t.Errorf("%s: ok %v, NewURI %q, (-want +got):\n%s", tt.path, ok, e.NewURI(req), diff)
		}
	}
	req := request("h", "/fwd")
	if _, ok := tbl.Match(req, nil, 0).LocalReply(req, nil); ok {
		t.Error("LocalReply on a forwarding route returned ok")
	}
}
