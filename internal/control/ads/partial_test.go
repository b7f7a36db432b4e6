package ads

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/registry"
)

// TestEDSPushOfChangedHosts: an endpoint event naming its services regenerates only
// their assignments for each node (the generator is asked for those names alone) and
// sends them; the assignments of other services stay held as they were, so a later
// push does not resend or remove them. An event naming no service regenerates all.
func TestEDSPushOfChangedHosts(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	all := []string{clusterA, clusterB}
	c.ack(c.subscribe(EndpointType, all...), all...)
	h.waitSync("app.ns1", EndpointType, synced)

	h.mesh.update(func(m map[string]fakeService) {
		a := m["a.ns1.svc.cluster.local"]
		a.ips = []string{"10.0.0.9"}
		m["a.ns1.svc.cluster.local"] = a
	})
	h.s.RegistryChanged(registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{"a.ns1.svc.cluster.local"}})
	r := c.recv()
	if diff := cmp.Diff([]string{clusterA}, names(t, r.GetResources())); diff != "" {
		t.Errorf("EDS push for a (-want +got):\n%s", diff)
	}
	if got := *h.gen.edsNames.Load(); !cmp.Equal(got, []string{clusterA}) {
		t.Errorf("generator asked for %v, want only %s", got, clusterA)
	}
	c.ack(r, all...)
	h.waitSync("app.ns1", EndpointType, synced)

	// b is still held: an event for every service regenerates both and sends neither,
	// since neither changed.
	h.s.RegistryChanged(registry.Event{Kind: registry.EndpointsChanged})
	c.none()
	if got := *h.gen.edsNames.Load(); !cmp.Equal(got, all) {
		t.Errorf("generator asked for %v, want %v", got, all)
	}
	// An event for a service the node does not see generates nothing for it.
	calls := h.gen.count(EndpointType)
	h.s.RegistryChanged(registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{"c.ns2.svc.cluster.local"}})
	h.waitRebuild(h.s.Snapshot().Version)
	c.none()
	if n := h.gen.count(EndpointType); n != calls {
		t.Errorf("EDS generated %d times for a service the node does not subscribe to", n-calls)
	}
	// b changes under a host-less event: it alone is sent.
	h.endpointsChanged(func(m map[string]fakeService) {
		b := m["b.ns1.svc.cluster.local"]
		b.ips = []string{"10.0.0.8"}
		m["b.ns1.svc.cluster.local"] = b
	})
	if r := c.recv(); !cmp.Equal(names(t, r.GetResources()), []string{clusterB}) {
		t.Errorf("EDS push for b sent %v", names(t, r.GetResources()))
	}
}
