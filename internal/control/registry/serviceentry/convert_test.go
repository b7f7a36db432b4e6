package serviceentry_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

const staticSE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: mongo
  namespace: data
  labels: {team: storage}
  creationTimestamp: "2024-03-01T00:00:00Z"
spec:
  hosts: [mymongodb.somedomain, mongo.data.svc.cluster.local]
  addresses: [192.192.192.192/24, 10.1.1.1/32]
  ports:
  - {number: 27018, name: grpc, protocol: GRPC, targetPort: 27019}
  - {number: 8080, name: http, protocol: http}
  location: MESH_INTERNAL
  resolution: STATIC
  exportTo: [".", ops]
  subjectAltNames: [spiffe://cluster.local/ns/data/sa/mongo]
  endpoints:
  - address: 2.2.2.2
  - address: 3.3.3.3
    ports: {grpc: 27020}
    labels: {version: v2}
    locality: us-east/zone1/rack7
    network: net-b
    weight: 5
    serviceAccount: mongo
  - address: 4.4.4.4
    labels: {istio-locality: eu-west.z2, security.istio.io/tlsMode: istio}
`

func TestServicesFromServiceEntry(t *testing.T) {
	r, _, _ := running(t, staticSE)
	created := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ports := []mesh.Port{{Name: "grpc", Number: 27018, Protocol: mesh.GRPC, TargetPort: 27019},
		{Name: "http", Number: 8080, Protocol: mesh.HTTP}}
	svc := func(host string) *mesh.Service {
		return &mesh.Service{Hostname: host, Namespace: "data", Addresses: []string{"192.192.192.192/24", "10.1.1.1"},
			Ports: ports, Resolution: mesh.ClientSideLB, ExportTo: []string{".", "ops"},
			Labels: map[string]string{"team": "storage"}, CreationTime: created, Source: "ServiceEntry data/mongo",
			SubjectAltNames: []string{"spiffe://cluster.local/ns/data/sa/mongo"}}
	}
	want := []*mesh.Service{svc("mongo.data.svc.cluster.local"), svc("mymongodb.somedomain")}
	if diff := cmp.Diff(want, r.Services()); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if r.Name() != "ServiceEntry" {
		t.Errorf("Name = %q", r.Name())
	}
}

func TestInlineEndpoints(t *testing.T) {
	r, _, _ := running(t, staticSE, serviceentry.WithTrustDomain("example.org"))
	tests := []struct {
		port uint32
		want []string
	}{
		{27018, []string{
			"2.2.2.2 27019 27018  //  1 disabled data/",
			"3.3.3.3 27020 27018 spiffe://example.org/ns/data/sa/mongo us-east/zone1/rack7 net-b 5 istio data/",
			"4.4.4.4 27019 27018  eu-west/z2/  1 istio data/",
		}},
		{8080, []string{
			"2.2.2.2 8080 8080  //  1 disabled data/",
			"3.3.3.3 8080 8080 spiffe://example.org/ns/data/sa/mongo us-east/zone1/rack7 net-b 5 istio data/",
			"4.4.4.4 8080 8080  eu-west/z2/  1 istio data/",
		}},
		{9999, nil},
	}
	for _, tc := range tests {
		for _, host := range []string{"mymongodb.somedomain", "mongo.data.svc.cluster.local"} {
			if diff := cmp.Diff(tc.want, endpointView(r.Endpoints(host, tc.port))); diff != "" {
				t.Errorf("%s:%d endpoints (-want +got):\n%s", host, tc.port, diff)
			}
		}
	}
	if l := r.Endpoints("mymongodb.somedomain", 27018)[1].Labels; l["version"] != "v2" {
		t.Errorf("labels %v", l)
	}
}

const selectorSE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details, namespace: shop}
spec:
  hosts: [details.bookinfo.com]
  location: MESH_INTERNAL
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  - {number: 9090, name: grpc, protocol: GRPC}
  resolution: STATIC
  workloadSelector:
    labels: {app: details-legacy}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-b, namespace: shop}
spec:
  address: 10.0.0.2
  labels: {app: details-legacy, instance-id: b}
  ports: {grpc: 19090}
  serviceAccount: details
  network: vm-net
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-a, namespace: shop}
spec:
  address: 10.0.0.1
  labels: {app: details-legacy}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: other-app, namespace: shop}
spec:
  address: 10.0.0.3
  labels: {app: ratings}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: other-namespace, namespace: elsewhere}
spec:
  address: 10.0.0.4
  labels: {app: details-legacy}
`

func TestWorkloadSelector(t *testing.T) {
	r, _, _ := running(t, selectorSE)
	tests := []struct {
		port uint32
		want []string
	}{
		{80, []string{
			"10.0.0.1 8080 80  //  1 disabled shop/vm-a",
			"10.0.0.2 8080 80 spiffe://cluster.local/ns/shop/sa/details // vm-net 1 istio shop/vm-b",
		}},
		{9090, []string{
			"10.0.0.1 9090 9090  //  1 disabled shop/vm-a",
			"10.0.0.2 19090 9090 spiffe://cluster.local/ns/shop/sa/details // vm-net 1 istio shop/vm-b",
		}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, endpointView(r.Endpoints("details.bookinfo.com", tc.port))); diff != "" {
			t.Errorf("port %d endpoints (-want +got):\n%s", tc.port, diff)
		}
	}
	svc := r.Services()[0]
	if svc.MeshExternal || svc.Resolution != mesh.ClientSideLB || svc.Selector["app"] != "details-legacy" {
		t.Errorf("service %+v", svc)
	}
}

func TestResolutions(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		resolution mesh.Resolution
		external   bool
		want       map[string][]string // host -> endpoints of port 443
	}{
		{"DNS without endpoints: one endpoint per host", `
  hosts: [api.dropboxapi.com, www.googleapis.com]
  ports: [{number: 443, name: https, protocol: TLS, targetPort: 8443}]
  resolution: DNS`, mesh.DNSLB, true, map[string][]string{
			"api.dropboxapi.com": {"api.dropboxapi.com 8443 443  //  1 disabled ns/"},
			"www.googleapis.com": {"www.googleapis.com 8443 443  //  1 disabled ns/"},
		}},
		{"DNS round robin with an endpoint", `
  hosts: [db.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: db-primary.example.com, weight: 3}]`, mesh.DNSRoundRobinLB, true, map[string][]string{
			"db.example.com": {"db-primary.example.com 443 443  //  3 disabled ns/"},
		}},
		{"NONE: passthrough, no endpoints", `
  hosts: ["*.example.com"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_INTERNAL`, mesh.Passthrough, false, map[string][]string{"*.example.com": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := running(t, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: ns}\nspec:"+tc.spec+"\n")
			if len(r.Services()) != len(tc.want) {
				t.Fatalf("%d services, want %d", len(r.Services()), len(tc.want))
			}
			for _, svc := range r.Services() {
				if svc.Resolution != tc.resolution || svc.MeshExternal != tc.external {
					t.Errorf("%s: resolution %v external %v", svc.Hostname, svc.Resolution, svc.MeshExternal)
				}
				if diff := cmp.Diff(tc.want[svc.Hostname], endpointView(r.Endpoints(svc.Hostname, 443))); diff != "" {
					t.Errorf("%s endpoints (-want +got):\n%s", svc.Hostname, diff)
				}
			}
		})
	}
}

// TestDuplicateHosts checks that the oldest ServiceEntry owns a host, and that entries
// in its namespace add endpoints while those elsewhere do not.
func TestDuplicateHosts(t *testing.T) {
	r, _, _ := running(t, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: newer, namespace: a, creationTimestamp: "2024-01-02T00:00:00Z"}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}, {number: 6000, name: extra, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: older, namespace: a, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: postgres, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: elsewhere, namespace: b, creationTimestamp: "2024-01-03T00:00:00Z"}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.3}]
`)
	svcs := r.Services()
	if len(svcs) != 1 || svcs[0].Source != "ServiceEntry a/older" || len(svcs[0].Ports) != 1 {
		t.Fatalf("services %+v", svcs)
	}
	want := []string{"10.0.0.1 5432 5432  //  1 disabled a/", "10.0.0.2 5432 5432  //  1 disabled a/"}
	if diff := cmp.Diff(want, endpointView(r.Endpoints("db.example.com", 5432))); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if got := r.Endpoints("db.example.com", 6000); len(got) != 0 {
		t.Errorf("endpoints on a port the owner does not have: %v", endpointView(got))
	}
}
