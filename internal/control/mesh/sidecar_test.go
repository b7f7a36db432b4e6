package mesh_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/mesh"
)

const sidecarConfig = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: selected-everywhere, namespace: istio-system}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: ["*/*"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop, creationTimestamp: "2024-01-01T00:01:00Z"}
spec:
  egress:
  - port: {number: 3306, protocol: TCP, name: mysql}
    hosts: ["db/*"]
  - hosts: ["./*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ratings, namespace: shop, creationTimestamp: "2024-01-01T00:02:00Z"}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: ["*/reviews.shop.svc.cluster.local", "~/*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, creationTimestamp: "2024-01-01T00:02:00Z"}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: payments, namespace: db, creationTimestamp: "2024-01-01T00:01:00Z"}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  http: [{route: [{destination: {host: reviews.shop.svc.cluster.local}}]}]
`

func sidecarServices() []*mesh.Service {
	private := service("internal.ops.svc.cluster.local", "ops", 0, 80)
	private.ExportTo = []string{"."}
	return []*mesh.Service{
		service("reviews.shop.svc.cluster.local", "shop", 0, 9080),
		service("ratings.shop.svc.cluster.local", "shop", 0, 9080),
		service("mysql.db.svc.cluster.local", "db", 0, 3306),
		service("istiod.istio-system.svc.cluster.local", "istio-system", 0, 15010),
		service("front.front.svc.cluster.local", "front", 0, 80),
		private,
	}
}

func TestSidecarFor(t *testing.T) {
	snap := snapshot(t, sidecarConfig, sidecarServices()...)
	tests := []struct {
		name string
		node *mesh.Node
		want string
	}{
		{"selector match in the node's namespace", node("shop", map[string]string{"app": "ratings"}), "shop/ratings"},
		{"the namespace default", node("shop", map[string]string{"app": "web"}), "shop/default"},
		{"the root namespace default", node("front", map[string]string{"app": "ratings"}), "istio-system/default"},
		{"gateways have none", &mesh.Node{Type: mesh.Router, Namespace: "shop"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := snap.SidecarFor(tc.node); c != nil {
				got = c.Namespace + "/" + c.Name
			}
			if got != tc.want {
				t.Errorf("SidecarFor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScope(t *testing.T) {
	withSidecars := snapshot(t, sidecarConfig, sidecarServices()...)
	without := snapshot(t, "", sidecarServices()...)
	tests := []struct {
		name     string
		snap     *mesh.Snapshot
		node     *mesh.Node
		services []string
		vss      []string
	}{
		{"selected sidecar: one host from any namespace", withSidecars, node("shop", map[string]string{"app": "ratings"}),
			[]string{"reviews.shop.svc.cluster.local"}, []string{"db/payments", "shop/reviews"}},
		{"namespace default: own namespace and db", withSidecars, node("shop", nil),
			[]string{"mysql.db.svc.cluster.local", "ratings.shop.svc.cluster.local", "reviews.shop.svc.cluster.local"},
			[]string{"db/payments", "shop/reviews"}},
		{"root default: own namespace and istio-system", withSidecars, node("front", nil),
			[]string{"front.front.svc.cluster.local", "istiod.istio-system.svc.cluster.local"}, []string{}},
		{"root default in a namespace with a private service", withSidecars, node("ops", nil),
			[]string{"internal.ops.svc.cluster.local", "istiod.istio-system.svc.cluster.local"}, []string{}},
		{"no sidecar: everything exported", without, node("front", nil),
			[]string{"front.front.svc.cluster.local", "istiod.istio-system.svc.cluster.local", "mysql.db.svc.cluster.local",
				"ratings.shop.svc.cluster.local", "reviews.shop.svc.cluster.local"}, []string{}},
		{"gateway: everything exported", withSidecars, &mesh.Node{Type: mesh.Router, Namespace: "ops"},
			[]string{"front.front.svc.cluster.local", "internal.ops.svc.cluster.local", "istiod.istio-system.svc.cluster.local",
				"mysql.db.svc.cluster.local", "ratings.shop.svc.cluster.local", "reviews.shop.svc.cluster.local"},
			[]string{"db/payments", "shop/reviews"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.snap.ScopeFor(tc.node)
			hosts := []string{}
			for _, s := range sc.Services() {
				hosts = append(hosts, s.Hostname)
			}
			if diff := cmp.Diff(tc.services, hosts); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.vss, names(sc.VirtualServices())); diff != "" {
				t.Errorf("virtual services (-want +got):\n%s", diff)
			}
		})
	}
}
