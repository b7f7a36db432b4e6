package xdsgen

import (
	"math/rand/v2"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// The simulation tests send requests through generated routes with the proxy's own
// route matcher (route.New, Table.Match), as Istio's simulation tests do with Envoy's.

// table compiles the generated route configuration called name.
func table(t *testing.T, o Options, node *mesh.Node, w *world, name string) *route.Table {
	t.Helper()
	rs, err := o.Generate(node, w.snap, RouteType)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		tbl, err := route.New(r.Message.(*routev3.RouteConfiguration), route.Options{
			ParseFilterConfig: func(_ string, cfg *anypb.Any) (any, error) { return cfg, nil },
		})
		if err != nil {
			t.Fatalf("route config %s: %v", name, err)
		}
		return tbl
	}
	t.Fatalf("no route configuration %q", name)
	return nil
}

// request is a request head as the connection manager hands it to the router.
func request(authority, path string, kv ...string) *header.Map {
	m := header.Of(append([]string{":authority", authority, ":path", path, ":method", "GET", ":scheme", "http"}, kv...)...)
	return &m
}

// clusterOf matches req once and returns the chosen cluster, "" when no route matches.
func clusterOf(tbl *route.Table, req *header.Map, random uint64) string {
	e := tbl.Match(req, nil, random)
	if e == nil {
		return ""
	}
	return e.ClusterName(req)
}

// shares matches req n times with random values and returns each cluster's share.
func shares(tbl *route.Table, req *header.Map, n int) map[string]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for range n {
		counts[clusterOf(tbl, req, rng.Uint64())]++
	}
	out := map[string]float64{}
	for c, k := range counts {
		out[c] = float64(k) / float64(n)
	}
	return out
}

const (
	reviews     = "reviews.default.svc.cluster.local"
	reviewsV1   = "outbound|9080|v1|" + reviews
	reviewsV2   = "outbound|9080|v2|" + reviews
	reviewsV3   = "outbound|9080|v3|" + reviews
	productPage = "outbound|9080||productpage.default.svc.cluster.local"
)

// TestSimulateDomains: every name a client may use for a service reaches it; unknown
// hosts pass through, or are refused under REGISTRY_ONLY.
func TestSimulateDomains(t *testing.T) {
	tbl := table(t, Options{}, productpage(), bookinfo(t), "9080")
	for _, authority := range []string{"reviews:9080", "reviews", "reviews.default", "reviews.default.svc",
		"reviews.default.svc.cluster.local:9080", "10.96.0.12:9080", "REVIEWS:9080"} {
		if got := clusterOf(tbl, request(authority, "/"), 0); got != "outbound|9080||"+reviews {
			t.Errorf("%s: cluster %q", authority, got)
		}
	}
	if got := clusterOf(tbl, request("example.com", "/"), 0); got != passthroughCluster {
		t.Errorf("unknown host: cluster %q, want the passthrough", got)
	}

	w := bookinfo(t)
	w.snap.Mesh.OutboundAllowAny = false
	e := table(t, Options{}, productpage(), w, "9080").Match(request("example.com", "/"), nil, 0)
	if e == nil || e.Action() != route.ActionDirectResponse || e.ResponseCode() != 502 {
		t.Errorf("REGISTRY_ONLY: unknown host should get a 502 direct response, got %+v", e)
	}
}

// TestSimulateAllV1: virtual-service-all-v1 sends each service to its v1 subset.
func TestSimulateAllV1(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-all-v1.yaml")
	tbl := table(t, Options{}, productpage(), w, "9080")
	for _, svc := range []string{"productpage", "details", "reviews", "ratings"} {
		want := "outbound|9080|v1|" + svc + ".default.svc.cluster.local"
		if got := clusterOf(tbl, request(svc+":9080", "/"), 0); got != want {
			t.Errorf("%s: cluster %q, want %q", svc, got, want)
		}
	}
}

// TestSimulateWeights: weighted routes split traffic within statistical bounds.
func TestSimulateWeights(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]float64
	}{
		{"virtual-service-reviews-v2-v3.yaml", map[string]float64{reviewsV2: 0.5, reviewsV3: 0.5}},
		{"virtual-service-reviews-90-10.yaml", map[string]float64{reviewsV1: 0.9, reviewsV2: 0.1}},
	} {
		w := bookinfo(t).file("default", "destination-rule-all.yaml").file("default", tc.file)
		got := shares(table(t, Options{}, productpage(), w, "9080"), request("reviews:9080", "/"), 20000)
		for c, want := range tc.want {
			if d := got[c] - want; d > 0.02 || d < -0.02 {
				t.Errorf("%s: %s got %.3f of requests, want %.2f±0.02", tc.file, c, got[c], want)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: clusters %v, want only %v", tc.file, got, tc.want)
		}
	}
}

// TestSimulateHeaderMatch: jason goes to v2, everyone else to v3.
func TestSimulateHeaderMatch(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-jason-v2-v3.yaml")
	tbl := table(t, Options{}, productpage(), w, "9080")
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{"end-user", "jason"}, reviewsV2},
		{[]string{"end-user", "alice"}, reviewsV3},
		{nil, reviewsV3},
	} {
		if got := clusterOf(tbl, request("reviews:9080", "/reviews/0", tc.kv...), 0); got != tc.want {
			t.Errorf("%v: cluster %q, want %q", tc.kv, got, tc.want)
		}
	}
}

// TestSimulateFault: the details route carries the abort, and the port's connection
// manager runs the fault filter before the router.
func TestSimulateFault(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "fault-injection-details-v1.yaml")
	tbl := table(t, Options{}, productpage(), w, "9080")
	e := tbl.Match(request("details:9080", "/details/0"), nil, 0)
	if e == nil || e.PerFilterConfig(faultFilter) == nil {
		t.Fatalf("details route has no fault config: %+v", e)
	}
	if e := tbl.Match(request("reviews:9080", "/"), nil, 0); e == nil || e.PerFilterConfig(faultFilter) != nil {
		t.Errorf("reviews route should have no fault config")
	}
	l := listenerNamed(t, Options{}, productpage(), w, "0.0.0.0_9080")
	filters := hcmOf(t, l.GetFilterChains()[0]).GetHttpFilters()
	if len(filters) != 2 || filters[0].GetName() != faultFilter || filters[1].GetName() != routerFilter {
		t.Errorf("http filters %v, want fault then router", filters)
	}
	l = listenerNamed(t, Options{}, productpage(), bookinfo(t), "0.0.0.0_9080")
	if n := len(hcmOf(t, l.GetFilterChains()[0]).GetHttpFilters()); n != 1 {
		t.Errorf("without faults the chain should be the router alone, got %d filters", n)
	}
}

// TestSimulateResilience walks the routes of resilienceWorld.
func TestSimulateResilience(t *testing.T) {
	tbl := table(t, Options{}, productpage(), resilienceWorld(t), "9080")
	canary := request("reviews:9080", "/api/v1/items?debug=1", "x-canary", "true")
	got := shares(tbl, canary, 20000)
	if d := got[reviewsV2] - 0.8; d > 0.02 || d < -0.02 {
		t.Errorf("canary split: %v, want v2 0.8 v3 0.2", got)
	}
	e := tbl.Match(canary, nil, 0)
	if e.Name() != "api.canary" || e.Timeout().Seconds() != 3 || e.RetryPolicy().NumRetries != 3 || len(e.MirrorPolicies()) != 1 {
		t.Errorf("canary route: name %q timeout %v retry %+v mirrors %d", e.Name(), e.Timeout(), e.RetryPolicy(), len(e.MirrorPolicies()))
	}
	for _, tc := range []struct {
		req    *header.Map
		want   string
		action route.Action
	}{
		{request("reviews:9080", "/api/v1/items?debug=1", "x-canary", "false"), reviewsV1, route.ActionCluster},
		{request("reviews:9080", "/V2/x"), "", route.ActionCluster}, // weighted v2/v3
		{request("reviews:9080", "/v2/x", "x-legacy", "1"), reviewsV1, route.ActionCluster},
		{request("reviews:9080", "/old"), "", route.ActionRedirect},
		{request("reviews:9080", "/health"), "", route.ActionDirectResponse},
		{request("reviews:9080", "/never"), reviewsV1, route.ActionCluster},
	} {
		e := tbl.Match(tc.req, nil, 0)
		if e == nil || e.Action() != tc.action || (tc.want != "" && e.ClusterName(tc.req) != tc.want) {
			t.Errorf("%s: got %+v", tc.req.Get(":path"), e)
		}
	}
	if e := tbl.Match(request("ratings:9080", "/"), nil, 0); len(e.HashPolicies()) != 1 || e.RetryPolicy().PreviousHosts {
		t.Errorf("ratings: want a hash policy and retries that keep the host, got %+v", e.RetryPolicy())
	}
}

// TestSimulateGateway: the bookinfo gateway sends the listed paths to productpage, on
// any host, and nothing else.
func TestSimulateGateway(t *testing.T) {
	tbl := table(t, Options{}, ingress(), bookinfo(t).file("default", "bookinfo-gateway.yaml"), "http.8080")
	for path, want := range map[string]string{
		"/productpage": productPage, "/static/style.css": productPage, "/login": productPage,
		"/api/v1/products/1": productPage, "/admin": "", "/productpage/x": "",
	} {
		if got := clusterOf(tbl, request("bookinfo.example.com:8080", path), 0); got != want {
			t.Errorf("%s: cluster %q, want %q", path, got, want)
		}
	}
	tls := table(t, Options{}, ingress(), gatewayTLSWorld(t), "http.80")
	if e := tls.Match(request("bookinfo.example.com", "/"), nil, 0); e == nil || e.Action() != route.ActionRedirect {
		t.Errorf("httpsRedirect: want a redirect, got %+v", e)
	}
	https := table(t, Options{}, ingress(), gatewayTLSWorld(t), "https.443.https.edge.istio-system")
	if got := clusterOf(https, request("bookinfo.example.com", "/reviews/1"), 0); got != "outbound|9080||"+reviews {
		t.Errorf("https /reviews: cluster %q", got)
	}
}

// TestSimulateConnections follows connections the way virtualOutbound hands them on:
// to the listener at the original destination, else to 0.0.0.0 at its port, else the
// default chain.
func TestSimulateConnections(t *testing.T) {
	ls := map[string]*listenerv3.Listener{}
	rs, err := Generate(productpage(), egressWorld(t).snap, ListenerType)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		ls[r.Name] = r.Message.(*listenerv3.Listener)
	}
	for _, tc := range []struct {
		addr string
		port uint32
		want string // route configuration or cluster
	}{
		{"10.96.0.12", 9080, "rds:9080"},
		{"10.96.0.20", 27017, "weighted:outbound|27017|v1|mongodb.default.svc.cluster.local"},
		{"10.1.2.3", 5432, "outbound|5432||external-db.example.com"},
		{"10.1.2.3", 6666, passthroughCluster},
	} {
		l := ls[listenerName(tc.addr, tc.port)]
		if l == nil {
			l = ls[listenerName(wildcardAddress, tc.port)]
		}
		var fc *listenerv3.FilterChain
		switch {
		case l == nil:
			fc = ls[virtualOutboundName].GetDefaultFilterChain()
		case len(l.GetFilterChains()) > 0:
			fc = l.GetFilterChains()[0]
		default:
			fc = l.GetDefaultFilterChain()
		}
		if got := chainTarget(t, fc); got != tc.want {
			t.Errorf("%s:%d: %s, want %s", tc.addr, tc.port, got, tc.want)
		}
	}
}

// chainTarget names where a plaintext chain sends traffic.
func chainTarget(t *testing.T, fc *listenerv3.FilterChain) string {
	f := fc.GetFilters()[0]
	switch f.GetName() {
	case hcmFilter:
		return "rds:" + hcmOf(t, fc).GetRds().GetRouteConfigName()
	case tcpProxyFilter:
		var tp tcpv3.TcpProxy
		if err := f.GetTypedConfig().UnmarshalTo(&tp); err != nil {
			t.Fatal(err)
		}
		if wc := tp.GetWeightedClusters(); wc != nil {
			return "weighted:" + wc.GetClusters()[0].GetName()
		}
		return tp.GetCluster()
	}
	return f.GetName()
}

func listenerNamed(t *testing.T, o Options, node *mesh.Node, w *world, name string) *listenerv3.Listener {
	t.Helper()
	rs, err := o.Generate(node, w.snap, ListenerType)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == name {
			return r.Message.(*listenerv3.Listener)
		}
	}
	t.Fatalf("no listener %q", name)
	return nil
}

func hcmOf(t *testing.T, fc *listenerv3.FilterChain) *hcmv3.HttpConnectionManager {
	t.Helper()
	var h hcmv3.HttpConnectionManager
	if err := fc.GetFilters()[0].GetTypedConfig().UnmarshalTo(&h); err != nil {
		t.Fatal(err)
	}
	return &h
}

// noCapture is productpage's sidecar as weft up runs it without root: no iptables, the
// app on an address of its own.
func noCapture() *mesh.Node {
	n := productpage()
	n.IPs, n.NoCapture, n.AppAddress = []string{"127.1.0.5"}, true, "127.2.0.5"
	return n
}

// TestSimulateHTTPProxy: a sidecar without capture routes proxied requests by the Host
// header's name and port through one table, VirtualServices applied; a name without its
// port (for a port other than 80) or outside the mesh is refused.
func TestSimulateHTTPProxy(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-jason-v2-v3.yaml")
	tbl := table(t, Options{}, noCapture(), w, httpProxyRoutes)
	for _, tc := range []struct {
		authority string
		kv        []string
		want      string
	}{
		{"reviews:9080", []string{"end-user", "jason"}, reviewsV2},
		{"reviews.default.svc.cluster.local:9080", nil, reviewsV3},
		{"productpage.default:9080", nil, productPage},
		{"reviews", nil, ""},
		{"example.com", nil, ""},
	} {
		e := tbl.Match(request(tc.authority, "/reviews/0", tc.kv...), nil, 0)
		got := ""
		if e != nil {
			got = e.ClusterName(request(tc.authority, "/"))
		}
		if got != tc.want {
			t.Errorf("%s %v: cluster %q, want %q", tc.authority, tc.kv, got, tc.want)
		}
	}
}

// TestNoCaptureListeners: the proxy and the application's port bind the node's
// address, and the inbound cluster reaches the app at its own address.
func TestNoCaptureListeners(t *testing.T) {
	all := generateAll(t, Options{}, noCapture(), bookinfo(t).snap)
	var names []string
	for _, r := range all[ListenerType] {
		l := r.Message.(*listenerv3.Listener)
		names = append(names, l.GetName())
		if a := l.GetAddress().GetSocketAddress(); a.GetAddress() != "127.1.0.5" || l.GetBindToPort() != nil && !l.GetBindToPort().GetValue() {
			t.Errorf("listener %s on %s, bind %v: want a bound listener on the node's address", l.GetName(), a.GetAddress(), l.GetBindToPort())
		}
	}
	if d := cmp.Diff([]string{"127.1.0.5_15001", "127.1.0.5_9080"}, names); d != "" {
		t.Errorf("listeners (-want +got):\n%s", d)
	}
	for _, r := range all[ClusterType] {
		c := r.Message.(*clusterv3.Cluster)
		if c.GetName() != "inbound|9080||" {
			continue
		}
		got := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
		if got != "127.2.0.5" {
			t.Errorf("inbound cluster sends to %s, want the app's address 127.2.0.5", got)
		}
	}
}
