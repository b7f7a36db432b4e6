package control_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/xds"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// A proxyless gRPC client, grpc-go's own xds:/// resolver and balancers, takes its
// listener, routes, clusters and endpoints from weft's control plane, as Istio's
// proxyless mode does from istiod. The control plane runs in-process on a watched
// config directory; the backends are gRPC TestService servers on loopback that answer
// with their version.

// grpcxdsTarget is the listener the client asks for: the service's host and port.
const grpcxdsTarget = "echo.default.svc.cluster.local:7070"

// TestGRPCXDSWeightedRoutes: a grpc-go client on xds:/// splits its RPCs as the
// VirtualService weighs the subsets, and follows when the weights change.
func TestGRPCXDSWeightedRoutes(t *testing.T) {
	dir := t.TempDir()
	grpcxdsWrite(t, dir, "echo.yaml", grpcxdsServiceEntry(map[string]string{
		"v1": grpcxdsBackend(t, "v1"),
		"v2": grpcxdsBackend(t, "v2"),
	}))
	grpcxdsWrite(t, dir, "echo-vs.yaml", grpcxdsVirtualService(80, 20))
	client := testgrpc.NewTestServiceClient(grpcxdsDial(t, grpcxdsControl(t, dir)))

	const n = 500
	got := grpcxdsCount(t, client, n)
	if got["v1"]+got["v2"] != n {
		t.Fatalf("backends %v, want only v1 and v2", got)
	}
	t.Logf("at 80/20: %v", got)
	grpcxdsWithin(t, "RPCs to v1 at 80/20", got["v1"], n, 0.8)

	grpcxdsWrite(t, dir, "echo-vs.yaml", grpcxdsVirtualService(0, 100))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := grpcxdsCount(t, client, 50)
		if got["v2"] == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the change to 100%% v2, 50 RPCs reached %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := grpcxdsCount(t, client, 200); got["v2"] != 200 {
		t.Errorf("at 0/100, 200 RPCs reached %v", got)
	}
}

// grpcxdsBackend serves the gRPC TestService on a loopback port, answering UnaryCall
// with version as its server ID, and returns its address.
func grpcxdsBackend(t *testing.T, version string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, grpcxdsServer{name: version})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return l.Addr().String()
}

// grpcxdsServer is a TestService that names itself in every answer.
type grpcxdsServer struct {
	testgrpc.UnimplementedTestServiceServer
	name string
}

func (s grpcxdsServer) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{ServerId: s.name}, nil
}

// grpcxdsControl runs weft's control plane in-process on the config directory, as weft
// control does, and returns its ADS address once it serves. It stops with the test.
func grpcxdsControl(t *testing.T, dir string) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(grpcxdsLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store := file.New(dir, file.WithDebounce(20*time.Millisecond), file.WithLogger(log))
	reg := serviceentry.New(store, serviceentry.WithLogger(log))
	srv, err := control.New(control.Options{Stores: []config.Store{store}, Registries: []registry.Registry{reg},
		Mesh: mesh.DefaultMeshConfig(), Log: log, ID: "grpcxds"})
	if err != nil {
		t.Fatal(err)
	}
	xl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, xl, ml, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("control plane stopped before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("control plane not ready after 10 s")
	}
	if errs := store.Errors(); len(errs) > 0 {
		t.Fatalf("config rejected: %v", errs)
	}
	return xl.Addr().String()
}

// grpcxdsDial connects to the service through grpc-go's xds:/// resolver, bootstrapped
// as Istio bootstraps a proxyless client: the control plane as the one xDS server, an
// Istio node ID and metadata GENERATOR=grpc. The connection closes with the test.
func grpcxdsDial(t *testing.T, xdsAddr string) *grpc.ClientConn {
	t.Helper()
	bootstrap := fmt.Sprintf(`{
  "xds_servers": [{
    "server_uri": %q,
    "channel_creds": [{"type": "insecure"}],
    "server_features": ["xds_v3"]
  }],
  "node": {
    "id": "sidecar~127.0.0.1~client-1.default~default.svc.cluster.local",
    "metadata": {"GENERATOR": "grpc", "NAMESPACE": "default", "INSTANCE_IPS": "127.0.0.1"}
  }
}`, xdsAddr)
	resolver, err := xds.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("xds:///"+grpcxdsTarget, grpc.WithResolvers(resolver),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// grpcxdsCount makes n RPCs and counts them by the backend that answered; every RPC
// must succeed.
func grpcxdsCount(t *testing.T, client testgrpc.TestServiceClient, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{FillServerId: true})
		cancel()
		if err != nil {
			t.Fatalf("RPC %d: %v (so far %v)", len(out), err, out)
		}
		out[resp.GetServerId()]++
	}
	return out
}

// grpcxdsWithin checks that k successes of n are within 4.5 standard deviations of
// the binomial's mean: a false alarm about once in 150,000 runs.
func grpcxdsWithin(t *testing.T, what string, k, n int, p float64) {
	t.Helper()
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	if math.Abs(float64(k)-mean) > 4.5*sd {
		t.Errorf("%s: %d of %d, want about %.0f (p=%.2f, sd %.1f)", what, k, n, mean, p, sd)
	}
}

// grpcxdsWrite replaces a file of the config directory atomically, as editors do.
func grpcxdsWrite(t *testing.T, dir, name, yaml string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// grpcxdsServiceEntry registers the service echo, port 7070 speaking gRPC, with one
// WorkloadEntry per version at its backend's address, and a DestinationRule with a
// subset per version.
func grpcxdsServiceEntry(backends map[string]string) string {
	var b strings.Builder
	b.WriteString(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: grpc, number: 7070, protocol: GRPC}]
  workloadSelector: {labels: {app: echo}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo.default.svc.cluster.local
  subsets:
`)
	versions := make([]string, 0, len(backends))
	for v := range backends {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		fmt.Fprintf(&b, "  - {name: %s, labels: {version: %s}}\n", v, v)
	}
	for _, v := range versions {
		host, port, _ := net.SplitHostPort(backends[v])
		fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: echo-%s, namespace: default}
spec:
  address: %s
  ports: {grpc: %s}
  labels: {app: echo, version: %s}
`, v, host, port, v)
	}
	return b.String()
}

// grpcxdsVirtualService weighs the subsets v1 and v2.
func grpcxdsVirtualService(v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  http:
  - route:
    - destination: {host: echo.default.svc.cluster.local, subset: v1}
      weight: %d
    - destination: {host: echo.default.svc.cluster.local, subset: v2}
      weight: %d
`, v1, v2)
}

// grpcxdsLog writes the control plane's log to the test's.
type grpcxdsLog struct{ t *testing.T }

func (l grpcxdsLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
