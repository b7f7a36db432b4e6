package serviceentry_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/registry"
)

func one(t *testing.T, yaml string) config.Config {
	t.Helper()
	cs := configs(t, yaml)
	if len(cs) != 1 {
		t.Fatalf("want one object, got %d", len(cs))
	}
	return cs[0]
}

func vmEntry(name, addr, app string) string {
	return "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n  address: " +
		addr + "\n  labels: {app: " + app + "}\n"
}

// TestEvents walks the registry through changes and checks that endpoint-only changes
// are EndpointsChanged, and the rest ServicesChanged, each naming the hosts touched.
func TestEvents(t *testing.T) {
	_, st, events := running(t, selectorSE)
	if ev := waitEvent(t, events); ev.Kind != registry.ServicesChanged || !cmp.Equal(ev.Hosts, []string{"details.bookinfo.com"}) {
		t.Fatalf("first event %+v, want ServicesChanged for the initial services", ev)
	}
	steps := []struct {
		name   string
		change func() error
		want   *registry.Event // nil: no event
	}{
		{"a selected workload joins", func() error { return st.Add(one(t, vmEntry("vm-c", "10.0.0.5", "details-legacy"))) },
			&registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{"details.bookinfo.com"}}},
		{"a workload moves", func() error { return st.Update(one(t, vmEntry("vm-c", "10.0.0.6", "details-legacy"))) },
			&registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{"details.bookinfo.com"}}},
		{"a workload stops matching", func() error { return st.Update(one(t, vmEntry("vm-c", "10.0.0.6", "other"))) },
			&registry.Event{Kind: registry.EndpointsChanged, Hosts: []string{"details.bookinfo.com"}}},
		{"an unselected workload changes", func() error { return st.Update(one(t, vmEntry("vm-c", "10.0.0.7", "other"))) }, nil},
		{"unrelated config", func() error {
			return st.Add(one(t, "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: shop}\nspec: {host: details.bookinfo.com}\n"))
		}, nil},
		{"a new service entry", func() error {
			return st.Add(one(t, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: shop}\nspec:\n  hosts: [b.example.com, a.example.com]\n  ports: [{number: 443, name: https, protocol: TLS}]\n  resolution: DNS\n"))
		}, &registry.Event{Kind: registry.ServicesChanged, Hosts: []string{"a.example.com", "b.example.com"}}},
		{"a port changes", func() error {
			return st.Update(one(t, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: shop}\nspec:\n  hosts: [b.example.com, a.example.com]\n  ports: [{number: 8443, name: https, protocol: TLS}]\n  resolution: DNS\n"))
		}, &registry.Event{Kind: registry.ServicesChanged, Hosts: []string{"a.example.com", "b.example.com"}}},
		{"a host is removed", func() error {
			return st.Update(one(t, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: shop}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 8443, name: https, protocol: TLS}]\n  resolution: DNS\n"))
		}, &registry.Event{Kind: registry.ServicesChanged, Hosts: []string{"b.example.com"}}},
		{"a service entry is deleted", func() error { return st.Delete(config.ServiceEntry, "shop", "details") },
			&registry.Event{Kind: registry.ServicesChanged, Hosts: []string{"details.bookinfo.com"}}},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.want == nil {
			noEvent(t, events)
			continue
		}
		if diff := cmp.Diff(*s.want, waitEvent(t, events)); diff != "" {
			t.Errorf("%s: event (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestRunBeforeStoreSync checks that Run returns when ctx ends even if the store never
// syncs, and serves nothing until then.
func TestRunBeforeStoreSync(t *testing.T) {
	r, _, _ := running(t, "")
	if len(r.Services()) != 0 || r.Endpoints("x", 1) != nil {
		t.Error("an empty store gave services")
	}
}
