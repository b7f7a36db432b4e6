package xdsgen

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// TestProxyBuilds goes one step past the coverage check for every golden case: the
// proxy's route compiler takes every route configuration (RDS and inline) and its
// load-balancer builder every balanced cluster.
func TestProxyBuilds(t *testing.T) {
	for _, tc := range goldenCases {
		if tc.node().Proxyless {
			continue
		}
		all := generateAll(t, tc.opts, tc.node(), tc.world(t).snap)
		var rcs []*routev3.RouteConfiguration
		for _, r := range all[RouteType] {
			rcs = append(rcs, r.Message.(*routev3.RouteConfiguration))
		}
		for _, r := range all[ListenerType] {
			l := r.Message.(*listenerv3.Listener)
			for _, fc := range append(l.GetFilterChains(), l.GetDefaultFilterChain()) {
				if fc != nil && fc.GetFilters()[0].GetName() == hcmFilter {
					if rc := hcmOf(t, fc).GetRouteConfig(); rc != nil {
						rcs = append(rcs, rc)
					}
				}
			}
		}
		for _, rc := range rcs {
			if _, err := route.New(rc, route.Options{ParseFilterConfig: func(_ string, a *anypb.Any) (any, error) { return a, nil }}); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		for _, r := range all[ClusterType] {
			c := r.Message.(*clusterv3.Cluster)
			if c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
				continue
			}
			if _, _, err := lb.FromCluster(c); err != nil {
				t.Errorf("%s: cluster %s: %v", tc.name, c.GetName(), err)
			}
		}
	}
}

// TestEndpoints: subsets filter by labels, not-ready endpoints and non-IP addresses
// stay out, localities group and weigh their endpoints.
func TestEndpoints(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all.yaml")
	svc := w.snap.Services["reviews.default.svc.cluster.local"]
	eps := w.snap.Endpoints[svc.Hostname][9080]
	eps[0].Locality = mesh.Locality{Region: "eu", Zone: "eu-1"}
	eps[1].Locality, eps[1].Weight = mesh.Locality{Region: "us", Zone: "us-1"}, 3
	eps[2].Locality = mesh.Locality{Region: "us", Zone: "us-1"}
	w.endpoint(svc, "10.1.0.99", map[string]string{"app": "reviews", "version": "v1"})
	w.snap.Endpoints[svc.Hostname][9080][3].Healthy = false
	w.endpoint(svc, "reviews-v1.example.com", map[string]string{"app": "reviews", "version": "v1"})

	rs, err := Generate(productpage(), w.snap, EndpointType)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*endpointv3.ClusterLoadAssignment{}
	for _, r := range rs {
		byName[r.Name] = r.Message.(*endpointv3.ClusterLoadAssignment)
	}
	all := byName["outbound|9080||"+reviews]
	if got := addrs(all); !slices.Equal(got, []string{"eu/10.1.0.7", "us/10.1.0.8", "us/10.1.0.9"}) {
		t.Errorf("default: %v", got)
	}
	if w := all.GetEndpoints()[1].GetLoadBalancingWeight().GetValue(); w != 4 {
		t.Errorf("us locality weight %d, want 4 (3+1)", w)
	}
	if got := addrs(byName[reviewsV1]); !slices.Equal(got, []string{"eu/10.1.0.7"}) {
		t.Errorf("v1: %v", got)
	}
	if got := addrs(byName[reviewsV3]); !slices.Equal(got, []string{"us/10.1.0.9"}) {
		t.Errorf("v3: %v", got)
	}
}

func addrs(cla *endpointv3.ClusterLoadAssignment) []string {
	var out []string
	for _, l := range cla.GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			out = append(out, l.GetLocality().GetRegion()+"/"+e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
		}
	}
	return out
}

// TestProxylessNames: a gRPC client's listener names are the targets it dials.
func TestProxylessNames(t *testing.T) {
	rs, err := Options{}.Generate(grpcClient(), bookinfo(t).snap, ListenerType,
		"reviews:9080", "ratings.default:9080", "details.default.svc.cluster.local:9080", "productpage", "nope:1", "reviews:1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	want := []string{"details.default.svc.cluster.local:9080", "productpage", "ratings.default:9080", "reviews:9080"}
	if !slices.Equal(names, want) {
		t.Errorf("listeners %v, want %v", names, want)
	}
}

// TestInboundByLabels: a node finds its ports through service selectors, without IPs
// and before its own endpoint is published (a pod is not ready, so not an endpoint,
// until its sidecar serves the inbound port).
func TestInboundByLabels(t *testing.T) {
	noIPs := productpage()
	noIPs.IPs = nil
	notPublished := productpage()
	notPublished.IPs = []string{"10.1.0.99"}
	for name, node := range map[string]*mesh.Node{"without IPs": noIPs, "not yet an endpoint": notPublished} {
		l := listenerNamed(t, Options{}, node, bookinfo(t), virtualInboundName)
		var names []string
		for _, fc := range l.GetFilterChains() {
			names = append(names, fc.GetName())
		}
		if !slices.Contains(names, "0.0.0.0_9080") {
			t.Errorf("%s: virtualInbound chains %v lack 0.0.0.0_9080", name, names)
		}
	}
}

// TestTranslatedNames: every message and field the Istio check lists exists, so a typo
// cannot turn a translated field into an error or hide an untranslated one.
func TestTranslatedNames(t *testing.T) {
	for name, fields := range translated {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		md := d.(protoreflect.MessageDescriptor)
		for _, f := range fields {
			if md.Fields().ByJSONName(f) == nil {
				t.Errorf("%s has no field %q", name, f)
			}
		}
	}
	for key := range why {
		i := strings.LastIndex(key, ".")
		msg, field := key[:i], key[i+1:]
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("istio.networking.v1alpha3." + msg))
		if err != nil || d.(protoreflect.MessageDescriptor).Fields().ByJSONName(field) == nil {
			t.Errorf("why[%q] names no field", key)
		}
	}
}

// TestImports keeps the package's promise in doc.go: from weft it imports only the
// mesh and config packages and the proxy's config checker.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/weftmesh/weft/internal/control/mesh":   true,
		"github.com/weftmesh/weft/internal/control/config": true,
		"github.com/weftmesh/weft/internal/proxy/config":   true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if (strings.HasPrefix(path, "github.com/weftmesh/weft/") && !allowed[path]) || strings.HasPrefix(path, "k8s.io/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}

// TestValidateUsesProxyCheck: with the proxy's packages linked, a field the proxy does
// not implement fails validation, naming it.
func TestValidateUsesProxyCheck(t *testing.T) {
	l := listenerNamed(t, Options{}, productpage(), bookinfo(t), virtualOutboundName)
	l.Freebind = wrapperspb.Bool(true)
	if err := validate(l, false); err == nil || !strings.Contains(err.Error(), "freebind") {
		t.Errorf("want an error naming freebind, got %v", err)
	}
	if err := validate(l, true); err != nil {
		t.Errorf("proxyless resources skip the proxy's check: %v", err)
	}
}

// TestWarmup: a DestinationRule's warmup becomes the cluster's slow start, for least
// request (Istio's default) and round robin; the deprecated warmupDurationSecs too.
func TestWarmup(t *testing.T) {
	w := bookinfo(t).yaml("default", `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      warmup: {duration: 60s, minimumPercent: 5, aggression: 2}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s}
`)
	all := generateAll(t, Options{}, productpage(), w.snap)
	got := map[string]string{}
	for _, r := range all[ClusterType] {
		c := r.Message.(*clusterv3.Cluster)
		var ss *clusterv3.Cluster_SlowStartConfig
		switch {
		case c.GetLeastRequestLbConfig() != nil:
			ss = c.GetLeastRequestLbConfig().GetSlowStartConfig()
		case c.GetRoundRobinLbConfig() != nil:
			ss = c.GetRoundRobinLbConfig().GetSlowStartConfig()
		}
		if ss != nil {
			got[c.GetName()] = fmt.Sprintf("%s %v window %v aggression %v min %v", c.GetLbPolicy(), ss != nil,
				ss.GetSlowStartWindow().AsDuration(), ss.GetAggression().GetDefaultValue(), ss.GetMinWeightPercent().GetValue())
		}
	}
	want := map[string]string{
		"outbound|9080||reviews.default.svc.cluster.local":   "LEAST_REQUEST true window 1m0s aggression 2 min 5",
		"outbound|9080|v1|reviews.default.svc.cluster.local": "ROUND_ROBIN true window 30s aggression 0 min 0",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("slow start (-want +got):\n%s", d)
	}
}
