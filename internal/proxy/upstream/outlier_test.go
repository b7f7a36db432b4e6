package upstream

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/stats"
)

// fakeClock is a settable clock for the outlier detector's ejection times.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// staticCluster returns the YAML of a STATIC cluster with hosts 10.0.0.1:80,
// 10.0.0.2:80, ... and extra settings appended.
func staticCluster(name string, hosts int, extra string) string {
	var eps []string
	for i := 1; i <= hosts; i++ {
		eps = append(eps, fmt.Sprintf("{endpoint: {address: {socket_address: {address: 10.0.0.%d, port_value: 80}}}}", i))
	}
	return fmt.Sprintf("name: %s\ntype: STATIC\nload_assignment: {cluster_name: %s, endpoints: [{lb_endpoints: [%s]}]}\n%s",
		name, name, strings.Join(eps, ", "), extra)
}

// addCluster adds a cluster to a new manager that is closed when the test ends.
func addCluster(t *testing.T, y string) (*Manager, *Cluster) {
	t.Helper()
	m := NewManager(Options{Stats: stats.NewStore()})
	t.Cleanup(m.Close)
	cfg := cluster(t, y)
	if _, err := m.AddOrUpdate(context.Background(), cfg, false); err != nil {
		t.Fatal(err)
	}
	return m, m.Cluster(cfg.GetName())
}

// outlierCluster adds a cluster with outlier detection whose interval timer never
// fires by itself and whose clock the test sets.
func outlierCluster(t *testing.T, hosts int, od string) (*Manager, *Cluster, *fakeClock) {
	t.Helper()
	m, c := addCluster(t, staticCluster("od", hosts, "outlier_detection: {interval: 3600s, "+od+"}"))
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c.outlier.now = clk.now
	return m, c, clk
}

func report(h *Host, n, status int) {
	for range n {
		h.Report(ResultResponse, status, time.Millisecond)
	}
}

// counter reads cluster.od.outlier_detection.<name>.
func counter(m *Manager, name string) uint64 {
	return m.store.Counter("cluster.od.outlier_detection." + name).Value()
}

func activeEjections(m *Manager) int64 {
	return m.store.Gauge("cluster.od.outlier_detection.ejections_active").Value()
}

func pickCounts(c *Cluster, n int) map[string]int {
	counts := map[string]int{}
	for range n {
		counts[c.Pick(lb.Context{}).Address().String()]++
	}
	return counts
}

func TestOutlierConsecutive5xx(t *testing.T) {
	m, c, clk := outlierCluster(t, 3, "consecutive_5xx: 3, max_ejection_percent: 50")
	bad := c.Hosts()[0]
	report(bad, 2, 503)
	report(bad, 1, 200) // a success resets the run
	report(bad, 2, 500)
	if f := bad.Health().Flags(); f != "healthy" {
		t.Fatalf("flags after an interrupted run = %s", f)
	}
	report(bad, 1, 502)
	if f := bad.Health().Flags(); f != "/failed_outlier_check" {
		t.Fatalf("flags after 3 consecutive 5xx = %s", f)
	}
	got := map[string]uint64{}
	for _, n := range []string{"ejections_enforced_total", "ejections_detected_consecutive_5xx",
		"ejections_enforced_consecutive_5xx", "ejections_total", "ejections_consecutive_5xx", "ejections_overflow"} {
		got[n] = counter(m, n)
	}
	want := map[string]uint64{"ejections_enforced_total": 1, "ejections_detected_consecutive_5xx": 1,
		"ejections_enforced_consecutive_5xx": 1, "ejections_total": 1, "ejections_consecutive_5xx": 1, "ejections_overflow": 0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if activeEjections(m) != 1 || c.info.MembershipHealthy.Value() != 2 {
		t.Errorf("ejections_active %d, membership_healthy %d", activeEjections(m), c.info.MembershipHealthy.Value())
	}
	if n := pickCounts(c, 300)[bad.Address().String()]; n != 0 {
		t.Errorf("ejected host picked %d times", n)
	}
	// Unejection happens at the first interval after base_ejection_time (30s).
	clk.advance(29 * time.Second)
	c.outlier.onInterval(clk.now())
	if bad.Health() != FailedOutlierCheck {
		t.Fatal("unejected before base_ejection_time")
	}
	clk.advance(time.Second)
	if !c.outlier.onInterval(clk.now()) {
		t.Error("onInterval did not report the unejection")
	}
	c.refreshHealth()
	if bad.Health() != 0 || activeEjections(m) != 0 || pickCounts(c, 300)[bad.Address().String()] == 0 {
		t.Errorf("after base_ejection_time: flags %s, active %d", bad.Health().Flags(), activeEjections(m))
	}
}

func TestOutlierEjectionTimeBackoff(t *testing.T) {
	_, c, clk := outlierCluster(t, 2, "consecutive_5xx: 1, max_ejection_percent: 50, base_ejection_time: 10s, max_ejection_time: 25s")
	h := c.Hosts()[0]
	// The ejection time grows with each ejection in a row (10s, 20s), up to
	// max_ejection_time (25s).
	for _, want := range []time.Duration{10 * time.Second, 20 * time.Second, 25 * time.Second, 25 * time.Second} {
		report(h, 1, 500)
		if h.Health() != FailedOutlierCheck {
			t.Fatal("not ejected")
		}
		clk.advance(want - time.Second)
		c.outlier.onInterval(clk.now())
		if h.Health() != FailedOutlierCheck {
			t.Fatalf("unejected before %v", want)
		}
		clk.advance(time.Second)
		c.outlier.onInterval(clk.now())
		if h.Health() != 0 {
			t.Fatalf("still ejected after %v", want)
		}
	}
	// Each interval the host stays in service lowers the multiplier by one.
	for range 4 {
		clk.advance(time.Hour)
		c.outlier.onInterval(clk.now())
	}
	if got := h.outlier.backoff; got != 0 {
		t.Errorf("backoff after healthy intervals = %d, want 0", got)
	}
}

func TestOutlierMaxEjectionPercent(t *testing.T) {
	for _, tc := range []struct {
		name        string
		hosts       int
		od          string
		wantEjected int
	}{
		// Envoy ejects while (ejected+1)/hosts stays within max_ejection_percent.
		{"quarter of four", 4, "max_ejection_percent: 25", 1},
		{"half of four", 4, "max_ejection_percent: 50", 2},
		// The default 10% ejects nothing from a small cluster...
		{"default with three hosts", 3, "", 0},
		// ...unless always_eject_one_host allows the first ejection.
		{"always eject one", 3, "always_eject_one_host: true", 1},
		{"all allowed", 3, "max_ejection_percent: 100", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, c, _ := outlierCluster(t, tc.hosts, "consecutive_5xx: 2, "+tc.od)
			for _, h := range c.Hosts() {
				report(h, 2, 503)
			}
			if got := ejectedCount(c.Hosts()); got != tc.wantEjected {
				t.Errorf("ejected %d hosts, want %d", got, tc.wantEjected)
			}
			if got, want := counter(m, "ejections_overflow"), uint64(tc.hosts-tc.wantEjected); got != want {
				t.Errorf("ejections_overflow = %d, want %d", got, want)
			}
			if got := activeEjections(m); got != int64(tc.wantEjected) {
				t.Errorf("ejections_active = %d", got)
			}
		})
	}
}

func TestOutlierGatewayFailure(t *testing.T) {
	// Gateway failures are detected by default but enforced only when configured.
	m, c, _ := outlierCluster(t, 2, "consecutive_5xx: 100, consecutive_gateway_failure: 2, max_ejection_percent: 50")
	h := c.Hosts()[0]
	report(h, 2, 504)
	if h.Health() != 0 || counter(m, "ejections_detected_consecutive_gateway_failure") != 1 {
		t.Fatalf("not enforced by default: flags %s, detected %d", h.Health().Flags(),
			counter(m, "ejections_detected_consecutive_gateway_failure"))
	}

	m, c, _ = outlierCluster(t, 2, "consecutive_5xx: 100, consecutive_gateway_failure: 3, "+
		"enforcing_consecutive_gateway_failure: 100, max_ejection_percent: 50")
	h = c.Hosts()[0]
	report(h, 2, 502)
	report(h, 1, 500) // a 5xx that is not a gateway error breaks the run
	report(h, 2, 503)
	if h.Health() != 0 {
		t.Fatal("ejected after an interrupted run of gateway failures")
	}
	report(h, 1, 504)
	if h.Health() != FailedOutlierCheck || counter(m, "ejections_enforced_consecutive_gateway_failure") != 1 {
		t.Errorf("flags %s, enforced %d", h.Health().Flags(), counter(m, "ejections_enforced_consecutive_gateway_failure"))
	}
}

func TestOutlierLocalOrigin(t *testing.T) {
	// By default local failures count as 503s (timeouts as 504s).
	_, c, _ := outlierCluster(t, 2, "consecutive_5xx: 3, max_ejection_percent: 50")
	h := c.Hosts()[0]
	h.Report(ResultConnectFailed, 0, 0)
	h.Report(ResultReset, 0, 0)
	h.Report(ResultTimeout, 0, 0)
	if h.Health() != FailedOutlierCheck {
		t.Errorf("local failures did not count as 5xx: %s", h.Health().Flags())
	}

	// Split: local failures have their own counter, and responses reset it.
	m, c, _ := outlierCluster(t, 2, "consecutive_5xx: 2, split_external_local_origin_errors: true, "+
		"consecutive_local_origin_failure: 3, max_ejection_percent: 50")
	h = c.Hosts()[0]
	h.Report(ResultConnectFailed, 0, 0)
	h.Report(ResultTimeout, 0, 0)
	report(h, 1, 503) // external: one 5xx, and the connection worked
	h.Report(ResultReset, 0, 0)
	h.Report(ResultConnectFailed, 0, 0)
	if h.Health() != 0 {
		t.Fatal("ejected although the local failures were not consecutive")
	}
	h.Report(ResultTimeout, 0, 0)
	if h.Health() != FailedOutlierCheck {
		t.Fatal("not ejected after 3 consecutive local-origin failures")
	}
	if counter(m, "ejections_enforced_consecutive_local_origin_failure") != 1 || counter(m, "ejections_detected_consecutive_5xx") != 0 {
		t.Errorf("local %d, 5xx %d", counter(m, "ejections_enforced_consecutive_local_origin_failure"),
			counter(m, "ejections_detected_consecutive_5xx"))
	}
}

func TestOutlierEnforcingPercentage(t *testing.T) {
	m, c, _ := outlierCluster(t, 2, "consecutive_5xx: 2, enforcing_consecutive_5xx: 0, max_ejection_percent: 50")
	h := c.Hosts()[0]
	report(h, 4, 500)
	if h.Health() != 0 || counter(m, "ejections_detected_consecutive_5xx") != 2 || counter(m, "ejections_enforced_total") != 0 {
		t.Errorf("enforcing 0: flags %s, detected %d, enforced %d", h.Health().Flags(),
			counter(m, "ejections_detected_consecutive_5xx"), counter(m, "ejections_enforced_total"))
	}
}

// interval sends each host's requests (successes, failures), then ends the interval.
func interval(c *Cluster, clk *fakeClock, traffic [][2]int) bool {
	for i, h := range c.Hosts() {
		report(h, traffic[i][0], 200)
		report(h, traffic[i][1], 500)
	}
	clk.advance(10 * time.Second)
	return c.outlier.onInterval(clk.now())
}

func TestOutlierSuccessRate(t *testing.T) {
	m, c, clk := outlierCluster(t, 5, "consecutive_5xx: 1000, max_ejection_percent: 40, "+
		"success_rate_minimum_hosts: 5, success_rate_request_volume: 10")
	// Envoy's example: rates {50, 100, 100, 100, 100} have mean 90 and standard
	// deviation 20; with the factor 1.9 the threshold is 52, so the first host goes.
	if !interval(c, clk, [][2]int{{10, 10}, {20, 0}, {20, 0}, {20, 0}, {20, 0}}) {
		t.Fatal("no ejection")
	}
	bad := c.Hosts()[0]
	if bad.Health() != FailedOutlierCheck || counter(m, "ejections_enforced_success_rate") != 1 ||
		counter(m, "ejections_detected_success_rate") != 1 || counter(m, "ejections_success_rate") != 1 {
		t.Errorf("flags %s, enforced %d", bad.Health().Flags(), counter(m, "ejections_enforced_success_rate"))
	}
	sr, _ := c.OutlierSuccessRates()
	if d := cmp.Diff(SuccessRates{Average: 90, EjectionThreshold: 52, LocalOriginAverage: -1, LocalOriginEjectionThreshold: -1}, sr); d != "" {
		t.Errorf("success rates (-want +got):\n%s", d)
	}
	if ext, local := bad.SuccessRate(); ext != 50 || local != -1 {
		t.Errorf("host success rate %v/%v", ext, local)
	}
	// A host below the request volume is left out; then four hosts are too few.
	interval(c, clk, [][2]int{{0, 0}, {5, 0}, {20, 0}, {20, 0}, {20, 0}})
	if sr, _ := c.OutlierSuccessRates(); sr.Average != -1 {
		t.Errorf("average with too few hosts = %v, want -1", sr.Average)
	}
	if ext, _ := c.Hosts()[1].SuccessRate(); ext != -1 {
		t.Errorf("success rate of a host below the volume = %v", ext)
	}
}

func TestOutlierFailurePercentage(t *testing.T) {
	m, c, clk := outlierCluster(t, 3, "consecutive_5xx: 1000, max_ejection_percent: 100, "+
		"enforcing_failure_percentage: 100, failure_percentage_threshold: 50, "+
		"failure_percentage_minimum_hosts: 3, failure_percentage_request_volume: 10")
	interval(c, clk, [][2]int{{4, 6}, {5, 5}, {6, 4}})
	var flags []string
	for _, h := range c.Hosts() {
		flags = append(flags, h.Health().Flags())
	}
	// Failure percentages 60 and 50 reach the threshold; 40 does not.
	if d := cmp.Diff([]string{"/failed_outlier_check", "/failed_outlier_check", "healthy"}, flags); d != "" {
		t.Error(d)
	}
	if counter(m, "ejections_enforced_failure_percentage") != 2 {
		t.Errorf("enforced %d", counter(m, "ejections_enforced_failure_percentage"))
	}
}

func TestOutlierLocalOriginSuccessRate(t *testing.T) {
	m, c, clk := outlierCluster(t, 3, "consecutive_5xx: 1000, consecutive_local_origin_failure: 1000, "+
		"split_external_local_origin_errors: true, max_ejection_percent: 100, "+
		"success_rate_minimum_hosts: 3, success_rate_request_volume: 10, success_rate_stdev_factor: 1000")
	for i, h := range c.Hosts() {
		for j := range 20 {
			if i == 0 && j%2 == 0 {
				h.Report(ResultConnectFailed, 0, 0)
			} else {
				h.Report(ResultConnectSuccess, 0, 0)
			}
		}
	}
	clk.advance(time.Second)
	c.outlier.onInterval(clk.now())
	if c.Hosts()[0].Health() != FailedOutlierCheck || counter(m, "ejections_enforced_local_origin_success_rate") != 1 {
		t.Errorf("flags %s, enforced %d", c.Hosts()[0].Health().Flags(), counter(m, "ejections_enforced_local_origin_success_rate"))
	}
	sr, _ := c.OutlierSuccessRates()
	if sr.Average != -1 || sr.LocalOriginAverage <= 83 || sr.LocalOriginAverage >= 84 {
		t.Errorf("success rates %+v", sr)
	}
}

func TestOutlierPanicThreshold(t *testing.T) {
	// With one of two hosts ejected, half the hosts are healthy: not below the
	// default panic threshold (50%), so traffic avoids the ejected host...
	_, c, _ := outlierCluster(t, 2, "consecutive_5xx: 1, max_ejection_percent: 50")
	report(c.Hosts()[0], 1, 500)
	if n := pickCounts(c, 200)["10.0.0.1:80"]; n != 0 {
		t.Errorf("ejected host picked %d times", n)
	}
	// ...but a panic threshold of 60% puts the priority in panic: all hosts are used.
	_, c = addCluster(t, staticCluster("od", 2, "outlier_detection: {consecutive_5xx: 1, max_ejection_percent: 50}\n"+
		"common_lb_config: {healthy_panic_threshold: {value: 60}}"))
	report(c.Hosts()[0], 1, 500)
	if n := pickCounts(c, 200)["10.0.0.1:80"]; n == 0 || c.Hosts()[0].Health() != FailedOutlierCheck {
		t.Errorf("panic mode did not use the ejected host (%d picks)", n)
	}
}

func TestOutlierHostRemoved(t *testing.T) {
	m := NewManager(Options{Stats: stats.NewStore()})
	t.Cleanup(m.Close)
	if _, err := m.AddOrUpdate(context.Background(), cluster(t, `
name: od
type: EDS
eds_cluster_config: {eds_config: {ads: {}}}
outlier_detection: {consecutive_5xx: 1, max_ejection_percent: 100}`), true); err != nil {
		t.Fatal(err)
	}
	cla := func(ips ...string) *endpointv3.ClusterLoadAssignment {
		y := "cluster_name: od\nendpoints: [{lb_endpoints: ["
		for i, ip := range ips {
			if i > 0 {
				y += ", "
			}
			y += "{endpoint: {address: {socket_address: {address: " + ip + ", port_value: 80}}}}"
		}
		out := &endpointv3.ClusterLoadAssignment{}
		if err := config.Unmarshal([]byte(y+"]}]"), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := m.SetEndpoints(cla("10.0.0.1", "10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	c := m.Cluster("od")
	report(c.Hosts()[0], 1, 500)
	if activeEjections(m) != 1 {
		t.Fatalf("ejections_active = %d", activeEjections(m))
	}
	// A late report for a host that left the cluster ejects nothing.
	gone := c.Hosts()[0]
	if err := m.SetEndpoints(cla("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if activeEjections(m) != 0 {
		t.Errorf("ejections_active after the ejected host left = %d", activeEjections(m))
	}
	gone.setFlags(FailedOutlierCheck, false)
	report(gone, 1, 500)
	if gone.Health() != 0 || counter(m, "ejections_detected_consecutive_5xx") != 1 {
		t.Error("a removed host was ejected")
	}
}

func TestOutlierConfigErrors(t *testing.T) {
	for _, tc := range []struct{ od, want string }{
		{"{base_ejection_time: 60s, max_ejection_time: 30s}", "outlier_detection.max_ejection_time"},
		{"{interval: 0s}", "outlier_detection.interval"},
		{"{monitors: [{name: x, typed_config: {'@type': type.googleapis.com/google.protobuf.Empty}}]}", "outlier_detection.monitors"},
	} {
		y := staticCluster("od", 1, "outlier_detection: "+tc.od)
		cfg := &clusterv3.Cluster{}
		if err := config.Unmarshal([]byte(y), cfg); err != nil {
			t.Fatal(err)
		}
		err := config.Check(cfg)
		if err == nil {
			m := NewManager(Options{Stats: stats.NewStore()})
			_, err = m.AddOrUpdate(context.Background(), cfg, false)
			m.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one naming %s", tc.od, err, tc.want)
		}
	}
}

func TestOutlierOriginalDst(t *testing.T) {
	// ORIGINAL_DST hosts are tracked and flagged as in Envoy, whose original
	// destination balancer still sends a connection where it was going.
	m, c := addCluster(t, "name: od\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\n"+
		"outlier_detection: {consecutive_5xx: 2, max_ejection_percent: 100}")
	h := c.PickOriginal(netip.MustParseAddrPort("10.0.0.7:80"))
	report(h, 2, 500)
	if h.Health() != FailedOutlierCheck || activeEjections(m) != 1 {
		t.Errorf("flags %s, ejections_active %d", h.Health().Flags(), activeEjections(m))
	}
	if c.PickOriginal(netip.MustParseAddrPort("10.0.0.7:80")) != h {
		t.Error("original destination host replaced")
	}
}
