package upstream

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/stats"
)

// TestMain fails the run if goroutines started by the tests (health check sessions,
// outlier timers, probe connections) are still running at the end.
func TestMain(m *testing.M) {
	before := goruntime.NumGoroutine()
	code := m.Run()
	if code == 0 && !goroutinesBackTo(before, 5*time.Second) {
		buf := make([]byte, 1<<20)
		n := goruntime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "goroutines leaked: %d before, %d after\n%s", before, goruntime.NumGoroutine(), buf[:n])
		code = 1
	}
	os.Exit(code)
}

func goroutinesBackTo(n int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for goruntime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// unstartedHealthCluster builds a cluster with active health checking without
// starting its sessions, so that a test can drive them by hand.
func unstartedHealthCluster(t *testing.T, hosts int, hc string) *Cluster {
	t.Helper()
	m := NewManager(Options{Stats: stats.NewStore()})
	c, err := m.build(cluster(t, staticCluster("hc", hosts, "health_checks: ["+hc+"]")), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.initHosts(context.Background(), c, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

const tcpHC = "{timeout: 1s, interval: 5s, unhealthy_threshold: 3, healthy_threshold: 2, tcp_health_check: {}}"

func TestHealthCheckRecord(t *testing.T) {
	c := unstartedHealthCluster(t, 1, tcpHC)
	h := c.Hosts()[0]
	if h.Health() != FailedActiveHC {
		t.Fatalf("a new host starts %s, want /failed_active_hc", h.Health().Flags())
	}
	s := &hcSession{k: c.health, h: h, first: true}
	type step struct {
		r     hcResult
		t     transition
		flags string
	}
	steps := []step{
		{hcNetwork, unchanged, "/failed_active_hc"}, // the first check fails: still unhealthy
		{hcSuccess, pending, "/failed_active_hc"},   // one pass of healthy_threshold 2
		{hcSuccess, changed, "healthy"},
		{hcNetwork, pending, "healthy"}, // network failures count to unhealthy_threshold 3
		{hcRetriable, pending, "healthy"},
		{hcSuccess, unchanged, "healthy"}, // a pass resets the count
		{hcNetwork, pending, "healthy"},
		{hcNetwork, pending, "healthy"},
		{hcNetwork, changed, "/failed_active_hc"},
		{hcNetwork, unchanged, "/failed_active_hc"},
		{hcSuccess, pending, "/failed_active_hc"},
		{hcFailed, unchanged, "/failed_active_hc"}, // a failure resets the passes
		{hcSuccess, pending, "/failed_active_hc"},
		{hcDegraded, changed, "/degraded_active_hc"},
		{hcSuccess, changed, "healthy"},
		{hcFailed, changed, "/failed_active_hc"}, // an unhealthy answer fails at once
	}
	for i, st := range steps {
		_, tr := s.record(st.r)
		if tr != st.t || h.Health().Flags() != st.flags {
			t.Fatalf("step %d (%d): transition %d flags %s, want %d %s", i, st.r, tr, h.Health().Flags(), st.t, st.flags)
		}
	}
	got := []uint64{c.health.st.success.Value(), c.health.st.failure.Value(), c.health.st.networkFailure.Value()}
	if d := cmp.Diff([]uint64{7, 9, 6}, got); d != "" {
		t.Errorf("success, failure, network_failure (-want +got):\n%s", d)
	}

	// The first check that passes makes a new host healthy at once.
	s = &hcSession{k: c.health, h: newHost(c, h.Address(), "", Locality{}), first: true}
	if _, tr := s.record(hcSuccess); tr != changed || s.h.Health() != 0 {
		t.Errorf("first pass: transition %d flags %s", tr, s.h.Health().Flags())
	}
}

func TestHealthCheckInterval(t *testing.T) {
	c := unstartedHealthCluster(t, 1, `{timeout: 1s, interval: 10s, unhealthy_threshold: 1, healthy_threshold: 1,
		no_traffic_interval: 60s, no_traffic_healthy_interval: 120s, unhealthy_interval: 20s,
		unhealthy_edge_interval: 3s, healthy_edge_interval: 2s, tcp_health_check: {}}`)
	k := c.health
	type args struct {
		passed, healthy bool
		t               transition
	}
	cases := []struct {
		args args
		want time.Duration
	}{
		{args{true, true, unchanged}, 120 * time.Second},
		{args{false, false, unchanged}, 60 * time.Second},
	}
	for _, tc := range cases {
		if got := k.nextInterval(tc.args.passed, tc.args.healthy, tc.args.t); got != tc.want {
			t.Errorf("no traffic %+v: %v, want %v", tc.args, got, tc.want)
		}
	}
	c.Stats().Pool.CxTotal.Inc() // the cluster has had traffic
	cases = []struct {
		args args
		want time.Duration
	}{
		{args{true, true, unchanged}, 10 * time.Second},
		{args{true, false, pending}, 2 * time.Second},
		{args{false, true, pending}, 3 * time.Second},
		{args{false, false, unchanged}, 20 * time.Second},
	}
	for _, tc := range cases {
		if got := k.nextInterval(tc.args.passed, tc.args.healthy, tc.args.t); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.args, got, tc.want)
		}
	}
	// Jitter is added: interval_jitter_percent of the interval, then interval_jitter.
	k.cfg.jitterPercent = 10
	k.cfg.intervalJitter = 500 * time.Millisecond
	k.rnd = func(n uint64) uint64 { return n - 1 }
	if got, want := k.nextInterval(true, true, unchanged), 11500*time.Millisecond-2; got != want {
		t.Errorf("with maximal jitter %v, want %v", got, want)
	}
}

func TestHealthCheckConfigErrors(t *testing.T) {
	for _, tc := range []struct{ hc, want string }{
		{"{interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}}", "required"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1}", "http_health_check, tcp_health_check or grpc_health_check"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: healthz}}", "health_checks[0].http_health_check.path"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /, codec_client_type: HTTP3}}", "codec_client_type"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /, expected_statuses: [{start: 200, end: 700}]}}", "expected_statuses[0]"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {send: {text: zz}}}", "tcp_health_check.send.text"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}, event_log_path: /tmp/x}", "event_log_path"},
		{"{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /, service_name_matcher: {exact: x}}}", "service_name_matcher"},
		{tcpHC + ", " + tcpHC, "only one health check"},
	} {
		err := addErr(t, staticCluster("hc", 1, "health_checks: ["+tc.hc+"]"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one naming %q", tc.hc, err, tc.want)
		}
	}
	err := addErr(t, "name: od\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\nhealth_checks: ["+tcpHC+"]")
	if err == nil || !strings.Contains(err.Error(), "ORIGINAL_DST") {
		t.Errorf("ORIGINAL_DST with health checks: err %v", err)
	}
}

// addErr checks and adds a cluster and returns the first error.
func addErr(t *testing.T, y string) error {
	t.Helper()
	cfg := &clusterv3.Cluster{}
	if err := config.Unmarshal([]byte(y), cfg); err != nil {
		t.Fatal(err)
	}
	if err := config.Check(cfg); err != nil {
		return err
	}
	m := NewManager(Options{Stats: stats.NewStore()})
	defer m.Close()
	_, err := m.AddOrUpdate(context.Background(), cfg, false)
	return err
}

func TestHealthCheckSessionsStop(t *testing.T) {
	before := goruntime.NumGoroutine()
	ups := startHTTPUpstreams(t, 3)
	m := NewManager(Options{Stats: stats.NewStore()})
	defer m.Close()
	hc := "{timeout: 1s, interval: 0.01s, no_traffic_interval: 0.01s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /healthz}}"
	add := func(hc string) *Cluster {
		if _, err := m.AddOrUpdate(context.Background(), cluster(t, upstreamCluster("hc", ups, "health_checks: ["+hc+"]")), false); err != nil {
			t.Fatal(err)
		}
		return m.Cluster("hc")
	}
	old := add(hc)
	waitFor(t, "all hosts healthy", func() bool { return ejectedOrFailed(old.Hosts()) == 0 })
	// Replacing the cluster stops the old sessions before AddOrUpdate returns (the
	// new cluster shares the old one's stats, so the sessions map is what tells).
	cur := add(strings.Replace(hc, "healthy_threshold: 1", "healthy_threshold: 2", 1))
	if n := len(old.health.sessions); n != 0 {
		t.Errorf("old cluster still has %d sessions", n)
	}
	waitFor(t, "new cluster healthy", func() bool { return ejectedOrFailed(cur.Hosts()) == 0 })
	// Removing it stops every goroutine it started.
	m.Remove("hc")
	for _, u := range ups {
		u.srv.Close()
	}
	if !goroutinesBackTo(before, 5*time.Second) {
		t.Errorf("%d goroutines left, %d before", goruntime.NumGoroutine(), before)
	}
}

// ejectedOrFailed counts hosts that are out of load balancing.
func ejectedOrFailed(hosts []*Host) int {
	n := 0
	for _, h := range hosts {
		if h.Health().Unhealthy() {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHealthCheckRequestHeaders(t *testing.T) {
	c := unstartedHealthCluster(t, 1, `{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1,
  http_health_check: {path: "/healthz?full=1", request_headers_to_remove: [user-agent], request_headers_to_add: [
    {header: {key: x-a, value: "1"}},
    {header: {key: x-a, value: "2"}},
    {header: {key: x-b, value: "1"}, append_action: ADD_IF_ABSENT},
    {header: {key: x-b, value: "2"}, append_action: ADD_IF_ABSENT},
    {header: {key: x-c, value: "1"}},
    {header: {key: x-c, value: "2"}, append_action: OVERWRITE_IF_EXISTS_OR_ADD},
    {header: {key: x-d, value: "1"}, append_action: OVERWRITE_IF_EXISTS},
    {header: {key: x-e, value: ""}},
    {header: {key: x-f, value: ""}, keep_empty_value: true},
    {header: {key: x-g, value: "1"}, append: false}]}}`)
	p := c.health.newProbe(c.health, c.Hosts()[0]).(*httpProbe)
	want := map[string][]string{"X-A": {"1", "2"}, "X-B": {"1"}, "X-C": {"2"}, "X-F": {""}, "X-G": {"1"}}
	if d := cmp.Diff(want, map[string][]string(p.hc.header)); d != "" {
		t.Errorf("headers (-want +got):\n%s", d)
	}
	if p.url != "http://10.0.0.1:80/healthz?full=1" || p.hc.host != "hc" || p.hc.method != "GET" {
		t.Errorf("url %s host %s method %s", p.url, p.hc.host, p.hc.method)
	}
}
