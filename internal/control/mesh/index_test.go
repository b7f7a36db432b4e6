package mesh_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

const drConfig = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop, creationTimestamp: "2024-01-01T00:01:00Z"}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-more, namespace: shop, creationTimestamp: "2024-01-01T00:02:00Z"}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets: [{name: v1, labels: {version: other}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-for-ratings, namespace: shop}
spec:
  host: reviews
  workloadSelector: {matchLabels: {app: ratings}}
  subsets: [{name: ratings-only}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-from-front, namespace: front}
spec:
  host: reviews.shop.svc.cluster.local
  subsets: [{name: front}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: private, namespace: shop}
spec:
  host: ratings
  exportTo: ["."]
  subsets: [{name: private}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mesh-default, namespace: istio-system}
spec:
  host: "*.svc.cluster.local"
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: shop-wide, namespace: shop}
spec:
  host: "*.shop.svc.cluster.local"
  subsets: [{name: wide}]
`

func TestDestinationRule(t *testing.T) {
	snap := snapshot(t, drConfig,
		service("reviews.shop.svc.cluster.local", "shop", 0, 9080),
		service("ratings.shop.svc.cluster.local", "shop", 0, 9080),
		service("details.shop.svc.cluster.local", "shop", 0, 9080),
		service("istiod.istio-system.svc.cluster.local", "istio-system", 0, 15010))
	tests := []struct {
		name string
		node *mesh.Node
		host string
		want string // namespace/name, "" for none
	}{
		{"the client's namespace first", node("front", nil), "reviews.shop.svc.cluster.local", "front/reviews-from-front"},
		{"then the service's namespace", node("other", nil), "reviews.shop.svc.cluster.local", "shop/reviews"},
		{"a matching workload selector beats the rest", node("shop", map[string]string{"app": "ratings"}), "reviews.shop.svc.cluster.local", "shop/reviews-for-ratings"},
		{"a selector that does not match", node("shop", map[string]string{"app": "web"}), "reviews.shop.svc.cluster.local", "shop/reviews"},
		{"exact host before wildcard", node("shop", nil), "details.shop.svc.cluster.local", "shop/shop-wide"},
		{"not exported: the wildcard of the service's namespace", node("other", nil), "ratings.shop.svc.cluster.local", "shop/shop-wide"},
		{"exported to its own namespace", node("shop", nil), "ratings.shop.svc.cluster.local", "shop/private"},
		{"then the root namespace", node("other", nil), "istiod.istio-system.svc.cluster.local", "istio-system/mesh-default"},
		{"unknown host, root namespace wildcard", node("other", nil), "x.y.svc.cluster.local", "istio-system/mesh-default"},
		{"nothing", node("other", nil), "www.example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := snap.DestinationRule(tc.node, tc.host); c != nil {
				got = c.Namespace + "/" + c.Name
			}
			if got != tc.want {
				t.Errorf("DestinationRule(%s, %s) = %q, want %q", tc.node.Namespace, tc.host, got, tc.want)
			}
		})
	}
}

// TestDestinationRuleMerge checks that rules for one host in one namespace merge as in
// Istio: the oldest rule's name and traffic policy (or the first set), all subsets, the
// first of each name.
func TestDestinationRuleMerge(t *testing.T) {
	snap := snapshot(t, drConfig, service("reviews.shop.svc.cluster.local", "shop", 0, 9080))
	got := snap.DestinationRule(node("other", nil), "reviews.shop.svc.cluster.local")
	want := &networking.DestinationRule{
		Host:          "reviews",
		TrafficPolicy: &networking.TrafficPolicy{LoadBalancer: &networking.LoadBalancerSettings{LbPolicy: &networking.LoadBalancerSettings_Simple{Simple: networking.LoadBalancerSettings_RANDOM}}},
		Subsets: []*networking.Subset{
			{Name: "v1", Labels: map[string]string{"version": "v1"}},
			{Name: "v2", Labels: map[string]string{"version": "v2"}},
		},
	}
	if diff := cmp.Diff(want, got.Spec, protocmp.Transform()); diff != "" {
		t.Errorf("merged rule (-want +got):\n%s", diff)
	}
	if sub := mesh.Subset(got, "v2"); sub == nil || sub.Labels["version"] != "v2" {
		t.Errorf("Subset(v2) = %v", sub)
	}
	if mesh.Subset(got, "v9") != nil || mesh.Subset(nil, "v1") != nil {
		t.Error("Subset found a missing subset")
	}
	// The stored rules are untouched.
	for _, c := range snap.List(config.DestinationRule) {
		if c.Name == "reviews" && len(c.Spec.(*networking.DestinationRule).Subsets) != 1 {
			t.Error("merging changed the original rule")
		}
	}
}

// TestLookupsWithoutIndex checks that a snapshot made by hand answers the same.
func TestLookupsWithoutIndex(t *testing.T) {
	built := snapshot(t, drConfig, service("reviews.shop.svc.cluster.local", "shop", 0, 9080))
	byHand := &mesh.Snapshot{Services: built.Services, ServiceList: built.ServiceList, Config: built.Config, Mesh: built.Mesh}
	n := node("other", nil)
	if a, b := built.DestinationRule(n, "reviews.shop.svc.cluster.local"), byHand.DestinationRule(n, "reviews.shop.svc.cluster.local"); a.Name != b.Name {
		t.Errorf("by hand %s, built %s", b.Name, a.Name)
	}
}

const vsConfig = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, creationTimestamp: "2024-01-01T00:03:00Z"}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: shop, creationTimestamp: "2024-01-01T00:01:00Z"}
spec:
  hosts: [reviews.shop.svc.cluster.local, shop.example.com]
  gateways: [mesh, ingress]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: shop, creationTimestamp: "2024-01-01T00:02:00Z"}
spec:
  hosts: [ratings]
  exportTo: ["."]
  http: [{route: [{destination: {host: ratings}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [shop/ingress, gw.istio-system.svc.cluster.local]
  http: [{route: [{destination: {host: reviews.shop.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: any, namespace: istio-system}
spec:
  servers: [{port: {number: 81, name: http, protocol: HTTP}, hosts: ["*"]}]
`

func TestVirtualServices(t *testing.T) {
	snap := snapshot(t, vsConfig)
	tests := []struct {
		name    string
		node    *mesh.Node
		gateway string
		host    string // for VirtualServicesForHost; "" to skip
		want    []string
	}{
		{"mesh, from another namespace", node("front", nil), mesh.MeshGateway, "", []string{"shop/both", "shop/reviews"}},
		{"mesh, from the same namespace, oldest first", node("shop", nil), mesh.MeshGateway, "", []string{"shop/both", "shop/private", "shop/reviews"}},
		{"a gateway, short and qualified references", node("istio-system", nil), "shop/ingress", "", []string{"shop/both", "istio-system/edge"}},
		{"a gateway, legacy reference", node("istio-system", nil), "istio-system/gw", "", []string{"istio-system/edge"}},
		{"for a host, short names resolved", node("front", nil), mesh.MeshGateway, "reviews.shop.svc.cluster.local", []string{"shop/both", "shop/reviews"}},
		{"for a host through a wildcard", node("front", nil), "shop/ingress", "anything.example.com", []string{"istio-system/edge"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []config.Config
			if tc.host == "" {
				got = snap.VirtualServices(tc.node, tc.gateway)
			} else {
				got = snap.VirtualServicesForHost(tc.node, tc.gateway, tc.host)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGatewayRef(t *testing.T) {
	tests := []struct{ ns, ref, want string }{
		{"shop", "mesh", "mesh"},
		{"shop", "ingress", "shop/ingress"},
		{"shop", "./ingress", "shop/ingress"},
		{"shop", "istio-system/ingress", "istio-system/ingress"},
		{"shop", "ingress.istio-system.svc.cluster.local", "istio-system/ingress"},
	}
	for _, tc := range tests {
		if got := mesh.GatewayRef(tc.ns, tc.ref); got != tc.want {
			t.Errorf("GatewayRef(%q, %q) = %q, want %q", tc.ns, tc.ref, got, tc.want)
		}
	}
}

func TestGateways(t *testing.T) {
	snap := snapshot(t, vsConfig)
	router := &mesh.Node{Type: mesh.Router, Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway", "app": "x"}}
	if diff := cmp.Diff([]string{"istio-system/any", "shop/ingress"}, names(snap.Gateways(router))); diff != "" {
		t.Errorf("router gateways (-want +got):\n%s", diff)
	}
	if got := snap.Gateways(node("shop", map[string]string{"istio": "ingressgateway"})); len(got) != 0 {
		t.Errorf("a sidecar got gateways %v", names(got))
	}
	if got := mesh.GatewayName(&snap.Gateways(router)[1]); got != "shop/ingress" {
		t.Errorf("GatewayName = %q", got)
	}
}
