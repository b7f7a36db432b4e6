package mesh_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// TestBuildFromRegistries builds from a []registry.Registry, as the server holds them,
// with the ServiceEntry registry over the bookinfo egress sample.
func TestBuildFromRegistries(t *testing.T) {
	st := store(t, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: googleapis
spec:
  hosts:
  - www.googleapis.com
  ports:
  - number: 80
    name: http
    protocol: HTTP
  - number: 443
    name: https
    protocol: HTTPS
  resolution: DNS
`)
	se := serviceentry.New(st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- se.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); !se.HasSynced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("registry did not sync")
		}
	}
	regs := []registry.Registry{se}
	snap := mesh.Build("v1", []config.Store{st}, regs, mesh.DefaultMeshConfig())
	svc := snap.Services["www.googleapis.com"]
	if svc == nil || svc.Resolution != mesh.DNSLB || !svc.MeshExternal {
		t.Fatalf("service %+v", svc)
	}
	eps := snap.EndpointsOf("www.googleapis.com", 443)
	if len(eps) != 1 || eps[0].Address != "www.googleapis.com" || eps[0].Port != 443 {
		t.Errorf("endpoints %+v", eps)
	}
	if len(snap.List(config.ServiceEntry)) != 1 {
		t.Error("config not copied")
	}
}
