package upstream

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy/lb"
)

// send picks a host as the router does, sends it a real request and reports the
// attempt's result to the host, as the router will.
func send(t *testing.T, c *Cluster, client *http.Client) (*Host, int) {
	t.Helper()
	h := c.Pick(lb.Context{})
	if h == nil {
		t.Fatal("no host")
	}
	start := time.Now()
	resp, err := client.Get("http://" + h.Address().String() + "/")
	if err != nil {
		h.Report(ResultConnectFailed, 0, time.Since(start))
		return h, 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h.Report(ResultResponse, resp.StatusCode, time.Since(start))
	return h, resp.StatusCode
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestOutlierEjectsFailingUpstream(t *testing.T) {
	ups := startHTTPUpstreams(t, 3)
	ups[0].status.Store(503)
	m, c := addCluster(t, upstreamCluster("od", ups, `outlier_detection: {consecutive_5xx: 3, interval: 0.02s,
  base_ejection_time: 0.3s, max_ejection_percent: 34}`))
	client := newClient(t)
	bad := c.Hosts()[0]
	failures := 0
	for range 30 {
		if _, code := send(t, c, client); code == 503 {
			failures++
		}
	}
	// Round robin reaches the failing host every third request; the third 503 ejects it.
	if failures != 3 || bad.Health().Flags() != "/failed_outlier_check" {
		t.Fatalf("%d failures, flags %s", failures, bad.Health().Flags())
	}
	for range 20 {
		if h, code := send(t, c, client); h == bad || code != 200 {
			t.Fatalf("request went to %s with %d while it was ejected", h.Address(), code)
		}
	}
	if counter(m, "ejections_enforced_consecutive_5xx") != 1 || activeEjections(m) != 1 {
		t.Errorf("enforced %d, active %d", counter(m, "ejections_enforced_consecutive_5xx"), activeEjections(m))
	}
	// After base_ejection_time it is back; it is healthy now and takes traffic.
	ups[0].status.Store(200)
	waitFlags(t, bad, "healthy")
	served := ups[0].count(200)
	for range 9 {
		send(t, c, client)
	}
	if ups[0].count(200) == served {
		t.Error("the returned host got no traffic")
	}
	if activeEjections(m) != 0 {
		t.Errorf("ejections_active = %d after unejection", activeEjections(m))
	}
}

func TestOutlierMaxEjectionPercentE2E(t *testing.T) {
	ups := startHTTPUpstreams(t, 3)
	ups[0].status.Store(500)
	ups[1].status.Store(500)
	m, c := addCluster(t, upstreamCluster("od", ups, `outlier_detection: {consecutive_5xx: 2, interval: 10s,
  max_ejection_percent: 34}`))
	client := newClient(t)
	for range 30 {
		send(t, c, client)
	}
	// One of the three may be ejected (33%); the other failing host overflows and
	// keeps its traffic.
	if n := ejectedOrFailed(c.Hosts()); n != 1 {
		t.Errorf("%d hosts ejected, want 1: %v", n, flagsOf(c.Hosts()))
	}
	if counter(m, "ejections_overflow") == 0 {
		t.Error("ejections_overflow not counted")
	}
	if ups[0].count(500)+ups[1].count(500) < 10 {
		t.Error("the failing host that overflowed got no traffic")
	}
}

func TestOutlierSuccessRateE2E(t *testing.T) {
	// The first host fails three requests in four.
	var n atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%4 != 0 {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(flaky.Close)
	ups := append([]*httpUpstream{{srv: flaky}}, startHTTPUpstreams(t, 4)...)
	m, c := addCluster(t, upstreamCluster("od", ups, `outlier_detection: {consecutive_5xx: 1000, interval: 0.1s,
  success_rate_minimum_hosts: 5, success_rate_request_volume: 10, success_rate_stdev_factor: 1000,
  max_ejection_percent: 20}`))
	client := newClient(t)
	bad := c.Hosts()[0]
	deadline := time.Now().Add(10 * time.Second)
	for bad.Health() == 0 && time.Now().Before(deadline) {
		send(t, c, client)
	}
	if bad.Health().Flags() != "/failed_outlier_check" {
		t.Fatalf("not ejected: %v", flagsOf(c.Hosts()))
	}
	if got := flagsOf(c.Hosts()[1:]); ejectedOrFailed(c.Hosts()[1:]) != 0 {
		t.Errorf("healthy hosts ejected: %v", got)
	}
	if counter(m, "ejections_enforced_success_rate") != 1 {
		t.Errorf("ejections_enforced_success_rate = %d", counter(m, "ejections_enforced_success_rate"))
	}
}
