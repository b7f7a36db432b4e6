package cli

import (
	"context"
	"github.com/weftmesh/weft/internal/control"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weftmesh/weft/internal/control/ads"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// startControl runs weft control over a copy of testdata/control on loopback ports and
// returns the config dir and the bound addresses.
func startControl(t *testing.T) (dir string, xds, mon string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "control", "reviews.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reviews.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	f := controlFlags{configDir: dir, xdsAddr: "127.0.0.1:0", monAddr: "127.0.0.1:0", logLevel: "error"}
	go func() {
		done <- runControl(ctx, f, func(x, m net.Addr) { addrs <- [2]string{x.String(), m.String()} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("weft control: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return dir, a[0], a[1]
	case err := <-done:
		t.Fatalf("weft control: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("weft control did not start")
	}
	return "", "", ""
}

// TestControlEndToEnd runs weft control on a config dir, takes clusters over ADS,
// reads them back with proxy-status and proxy-config, and follows a change to the dir.
func TestControlEndToEnd(t *testing.T) {
	dir, xds, mon := startControl(t)
	conn, err := grpc.NewClient(xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "sidecar~10.1.0.5~productpage-v1-1.default~default.svc.cluster.local"}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: ads.ClusterType}); err != nil {
		t.Fatal(err)
	}
	r := recvClusters(t, st, "outbound|9080|v1|reviews.default.svc.cluster.local")
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: ads.ClusterType, VersionInfo: r.GetVersionInfo(), ResponseNonce: r.GetNonce()}); err != nil {
		t.Fatal(err)
	}

	waitOutput(t, []string{"proxy-status", "--control", mon}, "productpage-v1-1.default", "SYNCED")
	waitOutput(t, []string{"proxy-config", "clusters", "productpage-v1-1.default", "--control", mon},
		"reviews.default.svc.cluster.local", "v2", "outbound")

	se := strings.ReplaceAll(strings.Split(mustRead(t, filepath.Join(dir, "reviews.yaml")), "---")[0], "reviews", "ratings")
	if err := os.WriteFile(filepath.Join(dir, "ratings.yaml"), []byte(se), 0o644); err != nil {
		t.Fatal(err)
	}
	recvClusters(t, st, "outbound|9080||ratings.default.svc.cluster.local")
}

// recvClusters reads CDS responses until one holds the cluster named want.
func recvClusters(t *testing.T, st grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse], want string) *discoveryv3.DiscoveryResponse {
	t.Helper()
	type result struct {
		r   *discoveryv3.DiscoveryResponse
		err error
	}
	timeout := time.After(10 * time.Second)
	for {
		ch := make(chan result, 1)
		go func() {
			r, err := st.Recv()
			ch <- result{r, err}
		}()
		var res result
		select {
		case res = <-ch:
		case <-timeout:
			t.Fatalf("no cluster %s", want)
		}
		if res.err != nil {
			t.Fatal(res.err)
		}
		var names []string
		for _, a := range res.r.GetResources() {
			var c clusterv3.Cluster
			if err := a.UnmarshalTo(&c); err != nil {
				t.Fatal(err)
			}
			names = append(names, c.GetName())
		}
		if slices.Contains(names, want) {
			return res.r
		}
	}
}

// waitOutput runs a command until its output holds every wanted string.
func waitOutput(t *testing.T, args []string, want ...string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if out, err = run(t, args...); err != nil {
			t.Fatal(err)
		}
		if containsAll(out, want) {
			return
		}
	}
	t.Errorf("%v: output lacks %q:\n%s", args, want, out)
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadMeshConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.yaml")
	yaml := "rootNamespace: mesh-root\ntrustDomain: example.org\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nconnectTimeout: 2s\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	mc, err := control.LoadMeshConfig(path)
	want := mesh.DefaultMeshConfig()
	want.RootNamespace, want.TrustDomain, want.OutboundAllowAny, want.ConnectTimeoutMillis = "mesh-root", "example.org", false, 2000
	if err != nil || mc != want {
		t.Errorf("loadMeshConfig = %+v, %v; want %+v", mc, err, want)
	}
	if err := os.WriteFile(path, []byte("noSuchField: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := control.LoadMeshConfig(path); err == nil || !strings.Contains(err.Error(), "noSuchField") {
		t.Errorf("unknown field: err = %v", err)
	}
}

func TestControlRequiresConfigDir(t *testing.T) {
	_, err := run(t, "control")
	if err == nil || !strings.Contains(err.Error(), "config-dir") {
		t.Errorf("err = %v", err)
	}
	_, err = run(t, "control", "--config-dir", filepath.Join(t.TempDir(), "missing"), "--xds-address", "127.0.0.1:0",
		"--monitoring-address", "127.0.0.1:0", "-l", "error")
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dir: err = %v", err)
	}
}
