package xdsgen

import (
	"fmt"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// scaledWorld has perNS HTTP services in each of namespaces a, b, c and istio-system,
// each with two endpoints; b's first service is exported to b only.
func scaledWorld(t testing.TB, perNS int) *world {
	w := newWorld(t)
	ip := 0
	for _, ns := range []string{"a", "b", "c", "istio-system"} {
		for i := range perNS {
			svc := &mesh.Service{Hostname: fmt.Sprintf("svc-%d", i), Namespace: ns,
				Addresses: []string{fmt.Sprintf("10.96.%d.%d", ip/250, ip%250+1)},
				Ports:     []mesh.Port{{Name: "http", Number: 8080, Protocol: mesh.HTTP}}}
			if ns == "b" && i == 0 {
				svc.ExportTo = []string{"."}
			}
			w.service(svc)
			w.endpoint(svc, fmt.Sprintf("10.2.%d.%d", ip/250, ip%250+1), map[string]string{"app": svc.Hostname})
			w.endpoint(svc, fmt.Sprintf("10.3.%d.%d", ip/250, ip%250+1), map[string]string{"app": svc.Hostname})
			ip++
		}
	}
	return w
}

func nodeIn(ns string, labels map[string]string) *mesh.Node {
	return &mesh.Node{ID: "sidecar~10.9.0.1~client-1." + ns + "~" + ns + ".svc.cluster.local", Type: mesh.SidecarProxy,
		IPs: []string{"10.9.0.1"}, Name: "client-1", Namespace: ns, DNSDomain: ns + ".svc.cluster.local", Labels: labels}
}

// footprint counts what a node gets and its encoded size.
type footprint struct {
	clusters, endpoints, vhosts, listeners, bytes int
}

func measure(t testing.TB, node *mesh.Node, w *world) footprint {
	all := generateAll(t, Options{}, node, w.snap)
	var f footprint
	f.clusters, f.endpoints, f.listeners = len(all[ClusterType]), len(all[EndpointType]), len(all[ListenerType])
	for _, rs := range all {
		for _, r := range rs {
			f.bytes += proto.Size(r.Message)
			if rc, ok := r.Message.(*routev3.RouteConfiguration); ok {
				f.vhosts += len(rc.GetVirtualHosts())
			}
		}
	}
	return f
}

// TestSidecarScoping shows what the Sidecar resource saves (seed 000): a node in
// namespace a that only talks to its own namespace and istio-system gets half the
// clusters, endpoints and bytes.
func TestSidecarScoping(t *testing.T) {
	const perNS = 50
	const fixed = 3 // BlackHole, Passthrough and InboundPassthrough; the node serves nothing
	cases := []struct {
		name     string
		sidecar  string
		labels   map[string]string
		services int
	}{
		{"no Sidecar (exportTo hides b/svc-0)", "", nil, 4*perNS - 1},
		{"namespace Sidecar ./* istio-system/*", "{name: default, namespace: a}\nspec: {egress: [{hosts: [./*, istio-system/*]}]}", nil, 2 * perNS},
		{"root Sidecar ./*", "{name: default, namespace: istio-system}\nspec: {egress: [{hosts: [./*]}]}", nil, perNS},
		{"selector beats namespace default", "{name: default, namespace: a}\nspec: {egress: [{hosts: [./*]}]}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\n" +
			"metadata: {name: narrow, namespace: a}\nspec: {workloadSelector: {labels: {app: client}}, egress: [{hosts: [c/svc-1.c.svc.cluster.local, b/svc-0.b.svc.cluster.local]}]}",
			map[string]string{"app": "client"}, 1},
		{"~/* sees nothing", "{name: default, namespace: a}\nspec: {egress: [{hosts: [~/*]}]}", nil, 0},
	}
	var unscoped footprint
	for i, tc := range cases {
		w := scaledWorld(t, perNS)
		if tc.sidecar != "" {
			w.yaml("a", "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: "+tc.sidecar)
		}
		f := measure(t, nodeIn("a", tc.labels), w)
		if f.clusters != tc.services+fixed || f.endpoints != tc.services {
			t.Errorf("%s: %d clusters and %d endpoint sets, want %d and %d", tc.name, f.clusters, f.endpoints, tc.services+fixed, tc.services)
		}
		if i == 0 {
			unscoped = f
		}
		t.Logf("%-40s clusters %4d  endpoints %4d  vhosts %4d  listeners %d  bytes %7d (%3.0f%%)",
			tc.name, f.clusters, f.endpoints, f.vhosts, f.listeners, f.bytes, 100*float64(f.bytes)/float64(unscoped.bytes))
	}
}

// TestExportTo: config exported to its own namespace applies only there.
func TestExportTo(t *testing.T) {
	w := scaledWorld(t, 2).yaml("b", `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: private}
spec:
  host: svc-1
  exportTo: ["."]
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private}
spec:
  hosts: [svc-1]
  exportTo: ["."]
  http: [{route: [{destination: {host: svc-0}}]}]
`)
	for ns, wantLB := range map[string]string{"a": "LEAST_REQUEST", "b": "RANDOM"} {
		node := nodeIn(ns, nil)
		rs, err := Generate(node, w.snap, ClusterType)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if c := r.Message.(*clusterv3.Cluster); r.Name == "outbound|8080||svc-1.b.svc.cluster.local" && c.GetLbPolicy().String() != wantLB {
				t.Errorf("node in %s: lb %s, want %s", ns, c.GetLbPolicy(), wantLB)
			}
		}
		tbl := table(t, Options{}, node, w, "8080")
		want := "outbound|8080||svc-1.b.svc.cluster.local"
		if ns == "b" {
			want = "outbound|8080||svc-0.b.svc.cluster.local"
		}
		if got := clusterOf(tbl, request("svc-1.b:8080", "/"), 0); got != want {
			t.Errorf("node in %s: svc-1.b goes to %q, want %q", ns, got, want)
		}
	}
}

// BenchmarkGenerate generates everything for one node of a 1000-service mesh, with and
// without validation.
func BenchmarkGenerate(b *testing.B) {
	w := scaledWorld(b, 250)
	node := nodeIn("a", nil)
	for _, o := range []Options{{}, {SkipValidation: true}} {
		b.Run(fmt.Sprintf("skipValidation=%v", o.SkipValidation), func(b *testing.B) {
			for b.Loop() {
				for _, typ := range []string{ListenerType, RouteType, ClusterType, EndpointType} {
					if _, err := o.Generate(node, w.snap, typ); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
