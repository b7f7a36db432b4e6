package serviceentry_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/config/memory"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// TestMain fails the package if a Run goroutine outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(time.Second)
		for ; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			buf := make([]byte, 1<<20)
			if !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "serviceentry.(*Registry).Run") {
				break
			}
		}
		if time.Now().After(deadline) {
			os.Stderr.WriteString("a Registry.Run goroutine leaked\n")
			code = 1
		}
	}
	os.Exit(code)
}

// configs parses YAML documents, which must be valid.
func configs(t *testing.T, yaml string) []config.Config {
	t.Helper()
	var out []config.Config
	for _, d := range file.ParseFile("test.yaml", []byte(yaml), "default") {
		if d.Err != nil {
			t.Fatalf("invalid test config: %v", d.Err)
		}
		out = append(out, *d.Config)
	}
	return out
}

// running starts a registry over a memory store holding yaml and waits for it to sync.
// Events go to the returned channel.
func running(t *testing.T, yaml string, opts ...serviceentry.Option) (*serviceentry.Registry, *memory.Store, chan registry.Event) {
	t.Helper()
	st := memory.New()
	for _, c := range configs(t, yaml) {
		if err := st.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	r := serviceentry.New(st, opts...)
	events := make(chan registry.Event, 100)
	r.Subscribe(func(ev registry.Event) { events <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	for deadline := time.Now().Add(5 * time.Second); !r.HasSynced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("registry did not sync")
		}
	}
	return r, st, events
}

func waitEvent(t *testing.T, events <-chan registry.Event) registry.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no registry event within 5s")
	}
	return registry.Event{}
}

func noEvent(t *testing.T, events <-chan registry.Event) {
	t.Helper()
	select {
	case ev := <-events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// endpointView is an endpoint reduced to what the tests compare:
// "address port servicePort serviceAccount region/zone/subzone network weight tlsMode namespace/workload".
func endpointView(eps []*mesh.Endpoint) []string {
	var out []string
	for _, e := range eps {
		out = append(out, fmt.Sprintf("%s %d %d %s %s/%s/%s %s %d %s %s/%s", e.Address, e.Port, e.ServicePort, e.ServiceAccount,
			e.Locality.Region, e.Locality.Zone, e.Locality.SubZone, e.Network, e.Weight, e.TLSMode, e.Namespace, e.Workload))
	}
	return out
}
