package mesh_test

import (
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/config/memory"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// store parses YAML documents into a memory store; each must be valid.
func store(t *testing.T, yaml string) *memory.Store {
	t.Helper()
	s := memory.New()
	for _, d := range file.ParseFile("test.yaml", []byte(yaml), "default") {
		if d.Err != nil {
			t.Fatalf("invalid test config: %v", d.Err)
		}
		if d.Config == nil {
			continue
		}
		if err := s.Add(*d.Config); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// fakeRegistry is a fixed set of services and endpoints.
type fakeRegistry struct {
	services  []*mesh.Service
	endpoints map[string]map[uint32][]*mesh.Endpoint
}

func (r *fakeRegistry) Services() []*mesh.Service { return r.services }

func (r *fakeRegistry) Endpoints(host string, port uint32) []*mesh.Endpoint {
	return r.endpoints[host][port]
}

// at returns a time n minutes after a fixed start, to order objects by age.
func at(n int) time.Time { return time.Date(2024, 1, 1, 0, n, 0, 0, time.UTC) }

func service(host, ns string, created int, ports ...uint32) *mesh.Service {
	svc := &mesh.Service{Hostname: host, Namespace: ns, CreationTime: at(created)}
	for _, p := range ports {
		svc.Ports = append(svc.Ports, mesh.Port{Name: "http", Number: p, Protocol: mesh.HTTP})
	}
	return svc
}

// snapshot builds a snapshot of the YAML config and the given services.
func snapshot(t *testing.T, yaml string, services ...*mesh.Service) *mesh.Snapshot {
	t.Helper()
	return mesh.Build("v1", []config.Store{store(t, yaml)}, []*fakeRegistry{{services: services}}, mesh.DefaultMeshConfig())
}

func node(ns string, labels map[string]string) *mesh.Node {
	return &mesh.Node{Type: mesh.SidecarProxy, Namespace: ns, Labels: labels}
}

func names(list []config.Config) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.Namespace+"/"+c.Name)
	}
	return out
}
