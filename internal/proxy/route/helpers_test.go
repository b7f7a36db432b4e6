package route

import (
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
)

// parseConfig parses a RouteConfiguration written in YAML.
func parseConfig(t testing.TB, yaml string) *routev3.RouteConfiguration {
	t.Helper()
	rc := &routev3.RouteConfiguration{}
	if err := config.Unmarshal([]byte(yaml), rc); err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return rc
}

// mustTable builds a table from YAML.
func mustTable(t testing.TB, yaml string, opts ...Options) *Table {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	tbl, err := New(parseConfig(t, yaml), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tbl
}

// request builds request headers for host and path, plus extra name/value pairs.
func request(host, path string, extra ...string) *header.Map {
	h := header.Of(append([]string{":method", "GET", ":path", path, ":authority", host, ":scheme", "http",
		"x-forwarded-proto", "http"}, extra...)...)
	return &h
}

// clusterOf routes the request and returns the cluster, or "<none>" without a route.
func clusterOf(tbl *Table, req *header.Map) string {
	e := tbl.Match(req, nil, 0)
	if e == nil {
		return "<none>"
	}
	return e.ClusterName(req)
}
