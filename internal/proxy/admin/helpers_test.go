package admin

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/config"
	_ "github.com/weftmesh/weft/internal/proxy/hcm"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/router"
	"github.com/weftmesh/weft/internal/proxy/listener"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMain fails the run if goroutines started by the tests are still running at the
// end.
func TestMain(m *testing.M) {
	before := goruntime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		code = checkLeaks(before)
	}
	os.Exit(code)
}

func checkLeaks(before int) int {
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := goruntime.Stack(buf, true)
			fmt.Fprintf(os.Stderr, "goroutines leaked: %d before, %d after\n%s", before, goruntime.NumGoroutine(), buf[:n])
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// testBootstrap is the proxy config of the fixture: a STATIC cluster of two hosts, a
// listener on 127.0.0.1:0 whose chain runs an HTTP connection manager routing to it,
// a static secret with a private key (for redaction) and a layered runtime.
const testBootstrap = `
node:
  id: sidecar~10.0.0.1~app-0.default~default.svc.cluster.local
  cluster: app.default
  locality: {region: us-east1, zone: us-east1-b}
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  secrets:
  - name: server-cert
    tls_certificate:
      certificate_chain: {inline_string: "not really a certificate"}
      private_key: {inline_string: "very secret key"}
  clusters:
  - name: backend
    alt_stat_name: backend_stats
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: backend
      endpoints:
      - locality: {region: us-east1, zone: us-east1-b, sub_zone: rack1}
        lb_endpoints:
        - endpoint:
            address: {socket_address: {address: 127.0.0.1, port_value: 8081}}
            hostname: backend-0
        - endpoint:
            address: {socket_address: {address: 127.0.0.2, port_value: 8082}}
          load_balancing_weight: 3
  listeners:
  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            name: local_route
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: backend}
layered_runtime:
  layers:
  - name: static
    static_layer:
      health_check: {min_interval: 5}
      envoy.reloadable_features.some_flag: true
  - name: admin
    admin_layer: {}
`

// dynamicCluster is added as if it came from CDS.
const dynamicCluster = `
name: dynamic
connect_timeout: 1s
type: STATIC
load_assignment:
  cluster_name: dynamic
  endpoints:
  - lb_endpoints:
    - endpoint: {address: {socket_address: {address: 10.1.2.3, port_value: 9000}}}
`

// edsCluster has an EDS service name and no endpoints yet.
const edsCluster = `
name: reviews
connect_timeout: 1s
type: EDS
eds_cluster_config: {service_name: "outbound|9080||reviews.default.svc.cluster.local", eds_config: {ads: {}}}
`

var (
	testStart = time.Date(2024, 6, 13, 4, 12, 41, 0, time.UTC)
	testNow   = testStart.Add(42*time.Second + 300*time.Millisecond)
)

// fixture is an admin server over real managers built from testBootstrap.
type fixture struct {
	srv       *Server
	deps      Deps
	bootstrap *bootstrapv3.Bootstrap
	drains    chan bool
	quits     chan struct{}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &bootstrapv3.Bootstrap{}
	if err := config.Unmarshal([]byte(testBootstrap), b); err != nil {
		t.Fatal(err)
	}
	b.Admin.ProfilePath = filepath.Join(t.TempDir(), "weft.prof")
	st := stats.NewStore()
	log := slog.New(slog.DiscardHandler)
	secrets := secret.NewManager(secret.Options{Logger: log})
	logs := accesslog.NewManager(accesslog.WithLogger(log))
	clusters := upstream.NewManager(upstream.Options{Stats: st, ClientTLS: secrets.ClientConfig, Log: log})
	listeners := listener.NewManager(ctx, listener.Options{
		Clusters: clusters, Secrets: secrets, Stats: st, AccessLogs: logs, Log: log, Concurrency: 1,
	})
	t.Cleanup(func() {
		cancel()
		done, stop := context.WithCancel(context.Background())
		stop()
		listeners.Shutdown(done)
		clusters.Close()
		logs.Close()
	})
	addResources(t, ctx, b, clusters, listeners)
	rt, err := runtime.New(b.GetLayeredRuntime())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bootstrap: b, drains: make(chan bool, 4), quits: make(chan struct{}, 1)}
	f.deps = Deps{
		Stats: st, Clusters: clusters, Listeners: listeners, Secrets: secrets, AccessLogs: logs,
		Runtime: rt, Bootstrap: b, LogLevel: new(slog.LevelVar), Log: log,
		Start: testStart, Clock: func() time.Time { return testNow }, Version: "1.0.0-test",
		Concurrency: 2, ConfigPath: "/etc/weft/bootstrap.yaml", DrainTime: 45 * time.Second,
		HealthCheckFailed: new(atomic.Bool),
		Drain:             func(inbound bool) { f.drains <- inbound },
		Quit:              func() { f.quits <- struct{}{} },
	}
	f.srv = New(f.deps)
	return f
}

func addResources(t *testing.T, ctx context.Context, b *bootstrapv3.Bootstrap, cm *upstream.Manager, lm *listener.Manager) {
	t.Helper()
	for _, c := range b.GetStaticResources().GetClusters() {
		if _, err := cm.AddOrUpdate(ctx, c, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, y := range []string{dynamicCluster, edsCluster} {
		c := &clusterv3.Cluster{}
		if err := config.Unmarshal([]byte(y), c); err != nil {
			t.Fatal(err)
		}
		if _, err := cm.AddOrUpdate(ctx, c, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		if _, err := lm.AddOrUpdate(l, false); err != nil {
			t.Fatal(err)
		}
	}
}

// do sends a request to the handler. A body makes it a form POST.
func (f *fixture) do(t *testing.T, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	return f.doBody(t, method, target, "")
}

func (f *fixture) doBody(t *testing.T, method, target, form string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// expect checks a response's status and content type.
func expect(t *testing.T, rec *httptest.ResponseRecorder, code int, contentType string) {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d; body:\n%s", rec.Code, code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// unmarshal parses a JSON body into m.
func unmarshal(t *testing.T, rec *httptest.ResponseRecorder, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal(rec.Body.Bytes(), m); err != nil {
		t.Fatalf("unmarshal %T: %v\n%s", m, err, rec.Body)
	}
}

// listenerPort returns the port the fixture's listener is bound to.
func (f *fixture) listenerPort(t *testing.T) string {
	t.Helper()
	for _, l := range f.deps.Listeners.Listeners() {
		return strconv.Itoa(int(l.BoundAddress().Port()))
	}
	t.Fatal("no listener")
	return ""
}
