package xdsgen

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestSessionGeneratesAsGenerate: a session (one generation for several types, sharing
// route tables between LDS and RDS) gives exactly what separate Generate calls give,
// inline routes included, and builds each route table once.
func TestSessionGeneratesAsGenerate(t *testing.T) {
	w := scaledWorld(t, 5)
	node := nodeIn("a", nil)
	for _, o := range []Options{{}, {InlineRoutes: true}} {
		session := o.Session(node, w.snap)
		for _, typ := range []string{ClusterType, EndpointType, ListenerType, RouteType} {
			want, err := o.Generate(node, w.snap, typ)
			if err != nil {
				t.Fatal(err)
			}
			got, err := session(typ, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("inline=%v %s: session differs from Generate (-want +got):\n%s", o.InlineRoutes, typ, diff)
			}
		}
	}
	g := newGen(Options{}, node, w.snap)
	a, _ := g.sidecarRouteConfig(8080)
	b, _ := g.sidecarRouteConfig(8080)
	if a == nil || a != b {
		t.Errorf("route table for 8080 built twice in one generation (%p, %p)", a, b)
	}
}
