package ads

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	clusterA = "outbound|80||a.ns1.svc.cluster.local"
	clusterB = "outbound|80||b.ns1.svc.cluster.local"
	clusterD = "outbound|8080||d.ns1.svc.cluster.local"
)

func TestSotWSubscribeAndACK(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r := c.subscribe(ClusterType)
	if diff := cmp.Diff([]string{clusterA, clusterB}, names(t, r.GetResources())); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	if r.GetVersionInfo() != h.s.Snapshot().Version || r.GetNonce() == "" {
		t.Errorf("version %q nonce %q, want version %q and a nonce", r.GetVersionInfo(), r.GetNonce(), h.s.Snapshot().Version)
	}
	c.ack(r)
	st := h.waitSync("app.ns1", ClusterType, synced)
	if st.AckedVersion != r.GetVersionInfo() || st.Resources != 2 || !st.Wildcard {
		t.Errorf("syncz cds = %+v", st)
	}
	l := c.subscribe(ListenerType)
	if diff := cmp.Diff([]string{"0.0.0.0_80"}, names(t, l.GetResources())); diff != "" {
		t.Errorf("listeners (-want +got):\n%s", diff)
	}
	c.ack(l)
	h.waitSync("app.ns1", ListenerType, synced)
	c.none()
}

// TestSotWEmptyWildcard: a wildcard LDS or CDS request is answered even when the node
// gets nothing, so Envoy's initial fetch completes.
func TestSotWEmptyWildcard(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "empty"))
	if r := c.subscribe(ClusterType); len(r.GetResources()) != 0 {
		t.Errorf("resources = %d, want 0", len(r.GetResources()))
	}
}

func TestSotWNACKKeepsLastGood(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r1 := c.subscribe(ListenerType)
	c.ack(r1)
	h.waitSync("app.ns1", ListenerType, synced)

	h.configChanged(func(m map[string]fakeService) {
		m["d.ns1.svc.cluster.local"] = fakeService{namespace: "ns1", port: 8080}
	})
	r2 := c.recv()
	if diff := cmp.Diff([]string{"0.0.0.0_80", "0.0.0.0_8080"}, names(t, r2.GetResources())); diff != "" {
		t.Errorf("listeners (-want +got):\n%s", diff)
	}
	const reason = "listener 0.0.0.0_8080: invalid"
	c.nack(r2, r1.GetVersionInfo(), reason)
	st := h.waitSync("app.ns1", ListenerType, func(r ResourceStatus) bool { return r.LastError != "" })
	want := ResourceStatus{Sent: r2.GetNonce(), Acked: r1.GetNonce(), SentVersion: r2.GetVersionInfo(),
		AckedVersion: r1.GetVersionInfo(), LastError: reason, NackedVersion: r2.GetVersionInfo(), Resources: 2, Wildcard: true}
	st.SentTime, st.NackTime = want.SentTime, want.NackTime
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("syncz after NACK (-want +got):\n%s", diff)
	}
	if st.State() != Stale {
		t.Errorf("state = %s, want %s", st.State(), Stale)
	}
	if got := h.metric("pilot_total_xds_rejects", "type=lds"); got != 1 {
		t.Errorf("pilot_total_xds_rejects{type=lds} = %v, want 1", got)
	}
	// The rejected config is not sent again, not even after an unrelated rebuild.
	v := h.s.Snapshot().Version
	h.configChanged(func(map[string]fakeService) {})
	h.waitRebuild(v)
	c.none()

	// A change that fixes the config is pushed, and its ACK clears the error.
	h.configChanged(func(m map[string]fakeService) { delete(m, "d.ns1.svc.cluster.local") })
	r3 := c.recv()
	if diff := cmp.Diff([]string{"0.0.0.0_80"}, names(t, r3.GetResources())); diff != "" {
		t.Errorf("listeners (-want +got):\n%s", diff)
	}
	c.ack(r3)
	if st := h.waitSync("app.ns1", ListenerType, synced); st.LastError != "" {
		t.Errorf("error not cleared: %+v", st)
	}
}

func TestSotWNamedSubscriptions(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r := c.subscribe(EndpointType, clusterA)
	if diff := cmp.Diff([]string{clusterA}, names(t, r.GetResources())); diff != "" {
		t.Errorf("eds (-want +got):\n%s", diff)
	}
	// Adding a name sends only the new resource: EDS responses need not carry all.
	c.ack(r, clusterA, clusterB)
	r = c.recv()
	if diff := cmp.Diff([]string{clusterB}, names(t, r.GetResources())); diff != "" {
		t.Errorf("eds after adding b (-want +got):\n%s", diff)
	}
	c.ack(r, clusterA, clusterB)
	c.none()
	// Dropping a name sends nothing; asking for it again sends it again.
	c.ack(r, clusterB)
	c.none()
	c.ack(r, clusterA, clusterB)
	r = c.recv()
	if diff := cmp.Diff([]string{clusterA}, names(t, r.GetResources())); diff != "" {
		t.Errorf("eds after re-adding a (-want +got):\n%s", diff)
	}
	c.ack(r, clusterA, clusterB)

	// An endpoint change of one cluster sends that cluster alone.
	h.endpointsChanged(func(m map[string]fakeService) {
		s := m["b.ns1.svc.cluster.local"]
		s.ips = append(s.ips, "10.0.0.3")
		m["b.ns1.svc.cluster.local"] = s
	})
	r = c.recv()
	if diff := cmp.Diff([]string{clusterB}, names(t, r.GetResources())); diff != "" {
		t.Errorf("eds push (-want +got):\n%s", diff)
	}
	c.ack(r, clusterA, clusterB)

	// RDS is named too; a name that does not exist gets no answer.
	rds := c.subscribe(RouteType, "80")
	if diff := cmp.Diff([]string{"80"}, names(t, rds.GetResources())); diff != "" {
		t.Errorf("rds (-want +got):\n%s", diff)
	}
	c.ack(rds, "80", "9999")
	c.none()
}

// TestSotWStaleNonce: a request carrying a nonce older than the last response is
// ignored; the client answers the newer response as well.
func TestSotWStaleNonce(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r1 := c.subscribe(EndpointType, clusterA)
	c.ack(r1, clusterA, clusterB)
	r2 := c.recv()
	c.ack(r1, clusterA, clusterB, "unknown") // stale: names the first response
	c.none()
	if got := h.metric("pilot_xds_expired_nonce", "type=eds"); got != 1 {
		t.Errorf("pilot_xds_expired_nonce{type=eds} = %v, want 1", got)
	}
	c.ack(r2, clusterA, clusterB)
	h.waitSync("app.ns1", EndpointType, synced)
}

func TestPushOrder(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	// Subscribe in an order Envoy never uses, to show the push order is the server's.
	for _, sub := range []struct {
		typeURL string
		names   []string
	}{{RouteType, []string{"80"}}, {ListenerType, nil}, {EndpointType, []string{clusterA, clusterB}}, {ClusterType, nil}} {
		c.ack(c.subscribe(sub.typeURL, sub.names...), sub.names...)
	}
	h.configChanged(func(m map[string]fakeService) {
		s := m["a.ns1.svc.cluster.local"]
		s.tag = "v2"
		m["a.ns1.svc.cluster.local"] = s
	})
	var got []string
	for range 4 {
		got = append(got, ShortType(c.recv().GetTypeUrl()))
	}
	if diff := cmp.Diff([]string{"cds", "eds", "lds", "rds"}, got); diff != "" {
		t.Errorf("push order (-want +got):\n%s", diff)
	}
	c.none()
}

// TestEDSResentForChangedClusters: a cluster Envoy re-creates from CDS waits for its
// endpoints again, so the push sends them even when they did not change.
func TestEDSResentForChangedClusters(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	c.ack(c.subscribe(EndpointType, clusterA, clusterB), clusterA, clusterB)
	h.configChanged(func(m map[string]fakeService) {
		s := m["b.ns1.svc.cluster.local"]
		s.edit = "v2" // changes the cluster, not its endpoints
		m["b.ns1.svc.cluster.local"] = s
	})
	if r := c.recv(); r.GetTypeUrl() != ClusterType {
		t.Fatalf("first push %s, want cds", ShortType(r.GetTypeUrl()))
	}
	r := c.recv()
	if diff := cmp.Diff([]string{clusterB}, names(t, r.GetResources())); diff != "" {
		t.Errorf("eds (-want +got):\n%s", diff)
	}
}

func TestInvalidNode(t *testing.T) {
	h := newHarness(t)
	n := node("app", "ns1")
	n.Id = "not-an-istio-id"
	c := h.sotw(n)
	c.request(ClusterType, nil, "", "")
	err := c.wait()
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("err = %v, want InvalidArgument", err)
	}
}
