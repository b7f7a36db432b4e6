package ads

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/registry"
)

const (
	wait  = 5 * time.Second        // the longest a test waits for something that must come
	quiet = 300 * time.Millisecond // how long a test listens for something that must not
)

// harness is a Server on loopback with a fake mesh and generator, and a gRPC client
// connection to it.
type harness struct {
	t      testing.TB
	s      *Server
	mesh   *fakeMesh
	gen    *fakeGen
	reg    *prometheus.Registry
	url    string // the monitoring server
	xds    string // the ADS server's address
	http   *http.Client
	client discoveryv3.AggregatedDiscoveryServiceClient
}

func newHarness(t testing.TB, mods ...func(*Options)) *harness {
	t.Helper()
	return newHarnessServing(t, nil, mods...)
}

// newHarnessServing is newHarness with options for Serve.
func newHarnessServing(t testing.TB, serve []ServeOption, mods ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, mesh: newFakeMesh(), gen: &fakeGen{}, reg: prometheus.NewRegistry(),
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	opts := Options{Generator: h.gen, Snapshots: SnapshotFunc(h.mesh.snapshot), Registry: h.reg,
		DebounceAfter: 20 * time.Millisecond, DebounceMax: time.Second, ID: "weft-control-test", Version: "0.0.0-test"}
	for _, m := range mods {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	xl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url, h.xds = "http://"+ml.Addr().String(), xl.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, xl, ml, serve...) }()
	conn, err := grpc.NewClient(xl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.client = discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	<-s.ready // the first snapshot is built
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return h
}

// node returns an xDS node in Istio's form for a workload in a namespace.
func node(name, ns string) *corev3.Node {
	md, _ := structpb.NewStruct(map[string]any{"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.31.0",
		"LABELS": map[string]any{"app": name}})
	return &corev3.Node{Id: "sidecar~10.9.0.1~" + name + "." + ns + "~" + ns + ".svc.cluster.local", Metadata: md}
}

// configChanged changes the fake mesh and tells the server the config changed.
func (h *harness) configChanged(fn func(map[string]fakeService)) {
	h.mesh.update(fn)
	h.s.ConfigChanged(config.Event{})
}

// endpointsChanged changes the fake mesh and tells the server only endpoints changed.
func (h *harness) endpointsChanged(fn func(map[string]fakeService)) {
	h.mesh.update(fn)
	h.s.RegistryChanged(registry.Event{Kind: registry.EndpointsChanged})
}

// waitRebuild waits until the server serves a snapshot newer than version.
func (h *harness) waitRebuild(version string) string {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if v := h.s.Snapshot().Version; v != version {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("no snapshot after %s", version)
	return ""
}

// get fetches a monitoring-server path.
func (h *harness) get(path string) string {
	h.t.Helper()
	resp, err := h.http.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}

// metric returns the value of a counter or gauge with labels given as name=value pairs.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	want := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		want[k] = v
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// syncz returns /debug/syncz.
func (h *harness) syncz() []SyncStatus {
	h.t.Helper()
	var out []SyncStatus
	if err := json.Unmarshal([]byte(h.get("/debug/syncz")), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// waitSync waits until a node's status for a type satisfies ok, and returns it.
func (h *harness) waitSync(proxy, typeURL string, ok func(ResourceStatus) bool) ResourceStatus {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	var last []SyncStatus
	for time.Now().Before(deadline) {
		last = h.syncz()
		for _, st := range last {
			if st.ProxyID == proxy && ok(st.Resources[typeURL]) {
				return st.Resources[typeURL]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("%s %s: condition not met; syncz: %+v", proxy, ShortType(typeURL), last)
	return ResourceStatus{}
}

func synced(r ResourceStatus) bool { return r.State() == Synced }
