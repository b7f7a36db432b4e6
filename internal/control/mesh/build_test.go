package mesh_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

func TestBuildServices(t *testing.T) {
	const host = "reviews.shop.svc.cluster.local"
	ep := func(addr string) *mesh.Endpoint { return &mesh.Endpoint{Address: addr, Port: 9080, ServicePort: 9080} }
	tests := []struct {
		name       string
		regs       []*fakeRegistry
		wantSource string
		wantAddrs  []string
	}{
		{
			name: "oldest definition wins, endpoints of the same namespace merge in registry order",
			regs: []*fakeRegistry{
				{services: []*mesh.Service{withSource(service(host, "shop", 5, 9080), "new")},
					endpoints: map[string]map[uint32][]*mesh.Endpoint{host: {9080: {ep("10.0.0.1")}}}},
				{services: []*mesh.Service{withSource(service(host, "shop", 1, 9080), "old")},
					endpoints: map[string]map[uint32][]*mesh.Endpoint{host: {9080: {ep("10.0.0.2")}}}},
			},
			wantSource: "old", wantAddrs: []string{"10.0.0.1", "10.0.0.2"},
		},
		{
			name: "a definition in another namespace loses and keeps its endpoints to itself",
			regs: []*fakeRegistry{
				{services: []*mesh.Service{withSource(service(host, "other", 5, 9080), "other")},
					endpoints: map[string]map[uint32][]*mesh.Endpoint{host: {9080: {ep("10.0.0.9")}}}},
				{services: []*mesh.Service{withSource(service(host, "shop", 1, 9080), "shop")},
					endpoints: map[string]map[uint32][]*mesh.Endpoint{host: {9080: {ep("10.0.0.2")}}}},
			},
			wantSource: "shop", wantAddrs: []string{"10.0.0.2"},
		},
		{
			name: "as old: the earlier registry wins",
			regs: []*fakeRegistry{
				{services: []*mesh.Service{withSource(service(host, "z", 1, 9080), "first")}},
				{services: []*mesh.Service{withSource(service(host, "a", 1, 9080), "second")}},
			},
			wantSource: "first", wantAddrs: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := mesh.Build("v7", nil, tc.regs, mesh.DefaultMeshConfig())
			if snap.Version != "v7" || len(snap.ServiceList) != 1 || snap.Services[host] != snap.ServiceList[0] {
				t.Fatalf("services = %+v", snap.ServiceList)
			}
			if got := snap.Services[host].Source; got != tc.wantSource {
				t.Errorf("winner %q, want %q", got, tc.wantSource)
			}
			var addrs []string
			for _, e := range snap.EndpointsOf(host, 9080) {
				addrs = append(addrs, e.Address)
			}
			if diff := cmp.Diff(tc.wantAddrs, addrs); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

func withSource(s *mesh.Service, src string) *mesh.Service { s.Source = src; return s }

func TestBuildServiceListSorted(t *testing.T) {
	snap := mesh.Build("v", nil, []*fakeRegistry{{services: []*mesh.Service{service("b", "ns", 0), service("a", "ns", 0)}},
		{services: []*mesh.Service{service("c", "ns", 0)}}}, mesh.DefaultMeshConfig())
	var hosts []string
	for _, s := range snap.ServiceList {
		hosts = append(hosts, s.Hostname)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, hosts); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestBuildConfig(t *testing.T) {
	first := store(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec: {host: reviews-from-first}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b, namespace: a}
spec: {host: b}
`)
	second := store(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec: {host: reviews-from-second}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a, namespace: a}
spec: {host: a}
`)
	snap := mesh.Build[*fakeRegistry]("v", []config.Store{first, second}, nil, mesh.DefaultMeshConfig())
	got := snap.List(config.DestinationRule)
	if diff := cmp.Diff([]string{"a/a", "a/b", "shop/reviews"}, names(got)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if h := got[2].Spec.(*networking.DestinationRule).Host; h != "reviews-from-first" {
		t.Errorf("duplicate taken from the second store: %s", h)
	}
	if len(snap.List(config.VirtualService)) != 0 {
		t.Error("virtual services from nowhere")
	}
}
