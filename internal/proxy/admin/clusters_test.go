package admin

import (
	"net/http"
	"strings"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestClustersText(t *testing.T) {
	f := newFixture(t)
	h := f.deps.Clusters.Cluster("backend").Hosts()[0]
	h.Stats.CxTotal.Add(3)
	h.Stats.RqTotal.Add(5)
	h.Stats.RqSuccess.Add(4)
	h.Stats.RqError.Add(1)
	h.Stats.CxActive.Add(1)
	rec := f.do(t, "GET", "/clusters")
	expect(t, rec, http.StatusOK, contentTypeText)
	golden(t, "clusters.golden", rec.Body.Bytes())
}

func TestClustersJSON(t *testing.T) {
	f := newFixture(t)
	f.deps.Clusters.Cluster("backend").Hosts()[1].Stats.RqTotal.Add(2)
	rec := f.do(t, "GET", "/clusters?format=json")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	got := &adminv3.Clusters{}
	unmarshal(t, rec, got)
	want := &adminv3.Clusters{ClusterStatuses: []*adminv3.ClusterStatus{
		{Name: "backend", ObservabilityName: "backend_stats", CircuitBreakers: defaultBreakers(), HostStatuses: []*adminv3.HostStatus{
			hostStatusFor("127.0.0.1", 8081, "backend-0", 1, 0),
			hostStatusFor("127.0.0.2", 8082, "", 3, 2),
		}},
		{Name: "dynamic", ObservabilityName: "dynamic", AddedViaApi: true, CircuitBreakers: defaultBreakers(),
			HostStatuses: []*adminv3.HostStatus{hostStatusFor("10.1.2.3", 9000, "", 1, 0)}},
		{Name: "reviews", ObservabilityName: "reviews", AddedViaApi: true, CircuitBreakers: defaultBreakers(),
			EdsServiceName: "outbound|9080||reviews.default.svc.cluster.local"},
	}}
	want.ClusterStatuses[0].HostStatuses[0].Locality = &corev3.Locality{Region: "us-east1", Zone: "us-east1-b", SubZone: "rack1"}
	want.ClusterStatuses[0].HostStatuses[1].Locality = want.ClusterStatuses[0].HostStatuses[0].Locality
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("/clusters?format=json (-want +got):\n%s", diff)
	}
	// Envoy prints the JSON with one-space indentation.
	if !strings.HasPrefix(rec.Body.String(), "{\n \"cluster_statuses\": [\n  {\n   \"name\": \"backend\",") {
		t.Errorf("unexpected layout:\n%s", rec.Body)
	}
}

func defaultBreakers() *clusterv3.CircuitBreakers {
	th := func(p corev3.RoutingPriority) *clusterv3.CircuitBreakers_Thresholds {
		return &clusterv3.CircuitBreakers_Thresholds{Priority: p, MaxConnections: wrapperspb.UInt32(1024),
			MaxPendingRequests: wrapperspb.UInt32(1024), MaxRequests: wrapperspb.UInt32(1024), MaxRetries: wrapperspb.UInt32(3)}
	}
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{th(corev3.RoutingPriority_DEFAULT), th(corev3.RoutingPriority_HIGH)}}
}

func hostStatusFor(ip string, port uint32, hostname string, weight uint32, rqTotal uint64) *adminv3.HostStatus {
	stat := func(name string, v uint64, gauge bool) *adminv3.SimpleMetric {
		m := &adminv3.SimpleMetric{Name: name, Value: v}
		if gauge {
			m.Type = adminv3.SimpleMetric_GAUGE
		}
		return m
	}
	return &adminv3.HostStatus{
		Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}},
		Hostname: hostname,
		Weight:   weight,
		Locality: &corev3.Locality{},
		Stats: []*adminv3.SimpleMetric{
			stat("cx_connect_fail", 0, false), stat("cx_total", 0, false), stat("rq_error", 0, false),
			stat("rq_success", 0, false), stat("rq_timeout", 0, false), stat("rq_total", rqTotal, false),
			stat("cx_active", 0, true), stat("rq_active", 0, true),
		},
		HealthStatus: &adminv3.HostHealthStatus{EdsHealthStatus: corev3.HealthStatus_HEALTHY},
	}
}

func TestListeners(t *testing.T) {
	f := newFixture(t)
	port := f.listenerPort(t)
	rec := f.do(t, "GET", "/listeners")
	expect(t, rec, http.StatusOK, contentTypeText)
	golden(t, "listeners.golden", []byte(strings.ReplaceAll(rec.Body.String(), ":"+port, ":PORT")))

	rec = f.do(t, "GET", "/listeners?format=json")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	got := &adminv3.Listeners{}
	unmarshal(t, rec, got)
	want := &adminv3.Listeners{ListenerStatuses: []*adminv3.ListenerStatus{{
		Name: "ingress",
		LocalAddress: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(mustAtoi(t, port))}}}},
	}}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("/listeners?format=json (-want +got):\n%s", diff)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
