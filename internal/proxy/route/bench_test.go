package route

import (
	"fmt"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// bigConfig has 100 virtual hosts of 10 routes each: prefixes, an exact path, an
// exact-header route, and a catch-all last.
func bigConfig() *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{Name: "big"}
	for v := 0; v < 100; v++ {
		vh := &routev3.VirtualHost{
			Name:    fmt.Sprintf("vh%d", v),
			Domains: []string{fmt.Sprintf("svc-%d.example.com", v), fmt.Sprintf("svc-%d.example.com:80", v)},
		}
		for r := 0; r < 7; r++ {
			vh.Routes = append(vh.Routes, clusterRoute(&routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: fmt.Sprintf("/api/v%d/", r)}}, fmt.Sprintf("c%d-%d", v, r)))
		}
		vh.Routes = append(vh.Routes,
			clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/exact"}}, "exact"),
			clusterRoute(&routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
				Headers: []*routev3.HeaderMatcher{{Name: "x-canary", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
					StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "true"}}}}},
			}, "canary"),
			clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}, "default"))
		rc.VirtualHosts = append(rc.VirtualHosts, vh)
	}
	rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{Name: "wild", Domains: []string{"*.wild.example.com"},
		Routes: []*routev3.Route{clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}, "wild")}})
	return rc
}

func clusterRoute(m *routev3.RouteMatch, cluster string) *routev3.Route {
	return &routev3.Route{Match: m, Action: &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}}}
}

var benchCases = []struct {
	name, host, path string
	extra            []string
	want             string
}{
	{"prefix", "svc-50.example.com", "/api/v6/items?id=1", nil, "c50-6"},
	{"path", "svc-99.example.com:80", "/exact?x=1", nil, "exact"},
	{"header", "svc-0.example.com", "/other", []string{"x-canary", "true"}, "canary"},
	{"fallthrough", "svc-75.example.com", "/nothing/else", []string{"user-agent", "bench"}, "default"},
	{"wildcard", "a.wild.example.com", "/", nil, "wild"},
}

func benchRequest(host, path string, extra []string) header.Map {
	return header.Of(append([]string{":method", "GET", ":path", path, ":authority", host, ":scheme", "http",
		"user-agent", "curl/8", "accept", "*/*", "x-request-id", "0123456789"}, extra...)...)
}

func TestMatchDoesNotAllocate(t *testing.T) {
	tbl, err := New(bigConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range benchCases {
		req := benchRequest(c.host, c.path, c.extra)
		if got := tbl.Match(&req, nil, 7).ClusterName(&req); got != c.want {
			t.Fatalf("%s: cluster %q, want %q", c.name, got, c.want)
		}
		if n := testing.AllocsPerRun(100, func() { tbl.Match(&req, nil, 7) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per run", c.name, n)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tbl, err := New(bigConfig(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range benchCases {
		req := benchRequest(c.host, c.path, c.extra)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tbl.Match(&req, nil, 7) == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	rc := bigConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(rc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
