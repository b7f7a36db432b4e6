package memory

import (
	"testing"

	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

func TestEvents(t *testing.T) {
	r := New("test")
	var got []registry.EventKind
	r.Subscribe(func(ev registry.Event) { got = append(got, ev.Kind) })
	svc := &mesh.Service{Hostname: "reviews.default.svc.cluster.local", Ports: []mesh.Port{{Name: "http", Number: 9080, Protocol: mesh.HTTP}}}
	r.SetService(svc)
	r.SetService(svc) // unchanged: no event
	ep := []*mesh.Endpoint{{Address: "10.244.0.5", Port: 9080, ServicePort: 9080, Healthy: true}}
	r.SetEndpoints(svc.Hostname, 9080, ep)
	r.SetEndpoints(svc.Hostname, 9080, ep)
	r.DeleteService(svc.Hostname)
	want := []registry.EventKind{registry.ServicesChanged, registry.EndpointsChanged, registry.ServicesChanged}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}
	if len(r.Services()) != 0 || r.Endpoints(svc.Hostname, 9080) != nil {
		t.Error("service not deleted")
	}
}
