package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// outlierCluster has two hosts and outlier detection on a short interval.
const outlierCluster = `
name: od
type: STATIC
load_assignment:
  cluster_name: od
  endpoints:
  - lb_endpoints:
    - endpoint: {address: {socket_address: {address: 10.9.0.1, port_value: 80}}}
    - endpoint: {address: {socket_address: {address: 10.9.0.2, port_value: 80}}}
outlier_detection:
  interval: 0.02s
  consecutive_5xx: 3
  max_ejection_percent: 50
  success_rate_minimum_hosts: 2
  success_rate_request_volume: 4
`

func TestClustersOutlier(t *testing.T) {
	f := newFixture(t)
	c := &clusterv3.Cluster{}
	if err := config.Unmarshal([]byte(outlierCluster), c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deps.Clusters.AddOrUpdate(context.Background(), c, true); err != nil {
		t.Fatal(err)
	}
	cl := f.deps.Clusters.Cluster("od")
	a, b := cl.Hosts()[0], cl.Hosts()[1]
	text := ""
	// Host a answers half its requests with 500 (never three in a row), b all with
	// 200: the rates are 50 and 100, the mean 75 and the threshold 75-1.9*25. An
	// interval may split a pair of requests, so poll until a snapshot shows them.
	wants := []string{
		"od::outlier::success_rate_average::75\n",
		"od::outlier::success_rate_ejection_threshold::27.5\n",
		"od::outlier::local_origin_success_rate_average::-1\n",
		"od::10.9.0.1:80::success_rate::50.0\n",
		"od::10.9.0.2:80::success_rate::100.0\n",
		"od::10.9.0.1:80::local_origin_success_rate::-1.0\n",
		"od::10.9.0.1:80::health_flags::healthy\n",
	}
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for i := range 4 {
			a.Report(upstream.ResultResponse, 200+300*(i%2), time.Millisecond)
			b.Report(upstream.ResultResponse, 200, time.Millisecond)
		}
		rec := f.do(t, "GET", "/clusters")
		expect(t, rec, http.StatusOK, contentTypeText)
		text = rec.Body.String()
		missing = missing[:0]
		for _, w := range wants {
			if !strings.Contains(text, w) {
				missing = append(missing, strings.TrimSpace(w))
			}
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("/clusters lacks %q:\n%s", missing, text)
	}
	if strings.Contains(text, "backend::outlier::") {
		t.Error("outlier lines for a cluster without outlier detection")
	}

	// Three 5xx in a row eject host a: /clusters shows the flag.
	for range 3 {
		a.Report(upstream.ResultResponse, 503, time.Millisecond)
	}
	rec := f.do(t, "GET", "/clusters")
	if !strings.Contains(rec.Body.String(), "od::10.9.0.1:80::health_flags::/failed_outlier_check\n") {
		t.Errorf("ejected host's flags missing:\n%s", rec.Body)
	}
	rec = f.do(t, "GET", "/clusters?format=json")
	got := &adminv3.Clusters{}
	unmarshal(t, rec, got)
	for _, cs := range got.GetClusterStatuses() {
		if cs.GetName() == "od" && !cs.GetHostStatuses()[0].GetHealthStatus().GetFailedOutlierCheck() {
			t.Errorf("JSON host status %v lacks failed_outlier_check", cs.GetHostStatuses()[0])
		}
	}
}

func TestFormatRates(t *testing.T) {
	for v, want := range map[float64]string{-1: "-1.0", 100: "100.0", 43.2: "43.2", 200.0 / 3: "66.66666666666667"} {
		if got := formatRate(v); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{-1: "-1", 75: "75", 27.5: "27.5", 200.0 / 3: "66.6667"} {
		if got := formatG(v); got != want {
			t.Errorf("formatG(%v) = %q, want %q", v, got, want)
		}
	}
}
