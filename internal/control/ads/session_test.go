package ads

import (
	"sync/atomic"
	"testing"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// sessionGen is fakeGen with sessions, which it counts.
type sessionGen struct {
	*fakeGen
	sessions, sessionCalls atomic.Int64
}

func (g *sessionGen) Session(node *mesh.Node, snap *mesh.Snapshot) func(string, []string) ([]Resource, error) {
	g.sessions.Add(1)
	return func(typeURL string, names []string) ([]Resource, error) {
		g.sessionCalls.Add(1)
		return g.Generate(node, snap, typeURL, names)
	}
}

// TestPushUsesOneSession: a push regenerates all its types in one generator session.
func TestPushUsesOneSession(t *testing.T) {
	sg := &sessionGen{fakeGen: &fakeGen{}}
	h := newHarness(t, func(o *Options) { o.Generator = sg })
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	c.ack(c.subscribe(ListenerType))
	before := sg.sessions.Load()
	h.configChanged(func(m map[string]fakeService) {
		a := m["a.ns1.svc.cluster.local"]
		a.tag = "changed"
		m["a.ns1.svc.cluster.local"] = a
	})
	c.ack(c.recv())
	c.ack(c.recv())
	if n := sg.sessions.Load() - before; n != 1 {
		t.Errorf("%d generator sessions for one push, want 1", n)
	}
	if n := sg.sessionCalls.Load(); n != 2 {
		t.Errorf("the session generated %d types, want 2 (CDS and LDS)", n)
	}
}
