package control_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/config"
	configmem "github.com/weftmesh/weft/internal/control/config/memory"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// triggers reads pilot_push_triggers{type} from the control plane's metrics.
func triggers(srv *control.Server, typ string) string {
	rec := httptest.NewRecorder()
	srv.ADS().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if name, val, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == `pilot_push_triggers{type="`+typ+`"}` {
			return val
		}
	}
	return "0"
}

// TestWorkloadEntryChangePushesEDSOnly: a WorkloadEntry that moves is an endpoint
// change (an EDS-only push), not a config change that regenerates every type for every
// proxy; a VirtualService change still is a config change, and a new ServiceEntry host
// a service change.
func TestWorkloadEntryChangePushesEDSOnly(t *testing.T) {
	store := configmem.New()
	add := func(c config.Config) {
		t.Helper()
		if err := store.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	add(config.Config{Kind: config.ServiceEntry, Name: "ratings", Namespace: "default", Spec: &networking.ServiceEntry{
		Hosts: []string{"ratings.example.com"}, Ports: []*networking.ServicePort{{Number: 80, Name: "http", Protocol: "HTTP"}},
		Resolution: networking.ServiceEntry_STATIC, WorkloadSelector: &networking.WorkloadSelector{Labels: map[string]string{"app": "ratings"}},
	}})
	we := config.Config{Kind: config.WorkloadEntry, Name: "ratings-1", Namespace: "default", Spec: &networking.WorkloadEntry{
		Address: "10.0.0.1", Labels: map[string]string{"app": "ratings"},
	}}
	add(we)
	srv, err := control.New(control.Options{Stores: []config.Store{store},
		Registries: []registry.Registry{serviceentry.New(store)}, Mesh: mesh.DefaultMeshConfig()})
	if err != nil {
		t.Fatal(err)
	}
	xl, _ := net.Listen("tcp", "127.0.0.1:0")
	ml, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, xl, ml, func() { close(ready) }) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ready

	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				rec := httptest.NewRecorder()
				srv.ADS().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				t.Fatalf("%s: triggers config %s, endpoint %s, service %s\n%s", what,
					triggers(srv, "config"), triggers(srv, "endpoint"), triggers(srv, "service"), rec.Body.String())
			}
		}
	}
	config0, endpoint0 := triggers(srv, "config"), triggers(srv, "endpoint")
	// The server's debounce loop may start just after ready: a change it has not seen
	// is in its first snapshot, uncounted. So the WorkloadEntry moves until one counts.
	moves := 0
	eventually("the WorkloadEntry's move as an endpoint trigger", func() bool {
		if moves%20 == 0 {
			we.Spec = &networking.WorkloadEntry{Address: fmt.Sprintf("10.0.1.%d", moves/20+1), Labels: map[string]string{"app": "ratings"}}
			if err := store.Update(we); err != nil {
				t.Fatal(err)
			}
		}
		moves++
		return triggers(srv, "endpoint") != endpoint0
	})
	time.Sleep(200 * time.Millisecond) // a config trigger would be counted by now
	if got := triggers(srv, "config"); got != config0 {
		t.Errorf("a WorkloadEntry change counted as a config change: pilot_push_triggers{type=config} %s → %s", config0, got)
	}

	add(config.Config{Kind: config.VirtualService, Name: "ratings", Namespace: "default", Spec: &networking.VirtualService{
		Hosts: []string{"ratings.example.com"},
		Http:  []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "ratings.example.com"}}}}},
	}})
	eventually("a VirtualService as a config trigger", func() bool { return triggers(srv, "config") != config0 })

	service0 := triggers(srv, "service")
	add(config.Config{Kind: config.ServiceEntry, Name: "details", Namespace: "default", Spec: &networking.ServiceEntry{
		Hosts: []string{"details.example.com"}, Ports: []*networking.ServicePort{{Number: 80, Name: "http", Protocol: "HTTP"}},
		Resolution: networking.ServiceEntry_DNS,
	}})
	eventually("a new ServiceEntry host as a service trigger", func() bool { return triggers(srv, "service") != service0 })
}
