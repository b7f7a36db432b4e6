package ads

import (
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/status"
)

func TestDeltaWildcardAndRemoval(t *testing.T) {
	h := newHarness(t)
	c := h.delta(node("app", "ns1"))
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: ClusterType})
	r := c.recv()
	if diff := cmp.Diff([]string{clusterA, clusterB}, deltaNames(r)); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	for _, res := range r.GetResources() {
		if res.GetVersion() == "" {
			t.Errorf("resource %s has no version", res.GetName())
		}
	}
	if r.GetSystemVersionInfo() != h.s.Snapshot().Version {
		t.Errorf("system version %q, want %q", r.GetSystemVersionInfo(), h.s.Snapshot().Version)
	}
	c.ack(r)
	h.waitSync("app.ns1", ClusterType, synced)

	// A deleted service is a removed resource; nothing else is resent.
	h.configChanged(func(m map[string]fakeService) { delete(m, "b.ns1.svc.cluster.local") })
	r = c.recv()
	if len(r.GetResources()) != 0 || !cmp.Equal(r.GetRemovedResources(), []string{clusterB}) {
		t.Errorf("resources %v removed %v, want none and [%s]", deltaNames(r), r.GetRemovedResources(), clusterB)
	}
	c.ack(r)
	c.none()
}

func TestDeltaSubscribeUnsubscribe(t *testing.T) {
	h := newHarness(t)
	c := h.delta(node("app", "ns1"))
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: EndpointType, ResourceNamesSubscribe: []string{clusterA, "missing"}})
	r := c.recv()
	if !cmp.Equal(deltaNames(r), []string{clusterA}) || !cmp.Equal(r.GetRemovedResources(), []string{"missing"}) {
		t.Errorf("resources %v removed %v, want [%s] and [missing]", deltaNames(r), r.GetRemovedResources(), clusterA)
	}
	c.ack(r)

	// Unsubscribed resources are not pushed.
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: EndpointType, ResourceNamesUnsubscribe: []string{clusterA}})
	c.none()
	v := h.s.Snapshot().Version
	h.endpointsChanged(func(m map[string]fakeService) {
		s := m["a.ns1.svc.cluster.local"]
		s.ips = []string{"10.0.0.9"}
		m["a.ns1.svc.cluster.local"] = s
	})
	h.waitRebuild(v)
	c.none()

	// Subscribing again sends the resource as it is now.
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: EndpointType, ResourceNamesSubscribe: []string{clusterA}})
	r = c.recv()
	if !cmp.Equal(deltaNames(r), []string{clusterA}) || len(r.GetRemovedResources()) != 0 {
		t.Errorf("resources %v removed %v, want [%s]", deltaNames(r), r.GetRemovedResources(), clusterA)
	}
	c.ack(r)
	h.waitSync("app.ns1", EndpointType, synced)
}

func TestDeltaNACK(t *testing.T) {
	h := newHarness(t)
	c := h.delta(node("app", "ns1"))
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: ListenerType})
	r1 := c.recv()
	c.ack(r1)
	h.configChanged(func(m map[string]fakeService) {
		m["d.ns1.svc.cluster.local"] = fakeService{namespace: "ns1", port: 8080}
	})
	r2 := c.recv()
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: ListenerType, ResponseNonce: r2.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: "bad listener"}})
	st := h.waitSync("app.ns1", ListenerType, func(r ResourceStatus) bool { return r.LastError == "bad listener" })
	if st.AckedVersion != r1.GetSystemVersionInfo() || st.NackedVersion != r2.GetSystemVersionInfo() || st.State() != Stale {
		t.Errorf("syncz after NACK = %+v", st)
	}
	if got := h.metric("pilot_total_xds_rejects", "type=lds"); got != 1 {
		t.Errorf("pilot_total_xds_rejects{type=lds} = %v, want 1", got)
	}
	c.none()
}

// TestDeltaReconnectInitialVersions: a client reconnecting with the versions it holds
// gets only what changed meanwhile, and removals for what is gone.
func TestDeltaReconnectInitialVersions(t *testing.T) {
	h := newHarness(t)
	c := h.delta(node("app", "ns1"))
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: ClusterType})
	r := c.recv()
	held := map[string]string{"gone": "1234"}
	for _, res := range r.GetResources() {
		held[res.GetName()] = res.GetVersion()
	}
	c.close()

	h.configChanged(func(m map[string]fakeService) {
		s := m["b.ns1.svc.cluster.local"]
		s.edit = "v2"
		m["b.ns1.svc.cluster.local"] = s
	})
	h.waitRebuild(r.GetSystemVersionInfo())
	c = h.delta(node("app", "ns1"))
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: ClusterType, InitialResourceVersions: held})
	r = c.recv()
	if !cmp.Equal(deltaNames(r), []string{clusterB}) || !cmp.Equal(r.GetRemovedResources(), []string{"gone"}) {
		t.Errorf("resources %v removed %v, want [%s] and [gone]", deltaNames(r), r.GetRemovedResources(), clusterB)
	}
}
