package admin

import (
	"encoding/json"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
)

// addTestStats adds stats under "test." that the golden files show.
func (f *fixture) addTestStats() {
	st := f.deps.Stats
	st.Counter("test.requests").Add(7)
	st.Counter("test.unused")
	st.Gauge("test.active").Set(3)
	st.TextReadout("test.version").Set("v1")
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	f.addTestStats()
	for _, tc := range []struct {
		target, golden, contentType string
	}{
		{`/stats?filter=^test\.`, "stats.golden", contentTypeText},
		{`/stats?filter=^test\.&usedonly`, "stats_usedonly.golden", contentTypeText},
		{`/stats?filter=^test\.&type=Counters`, "stats_counters.golden", contentTypeText},
		{`/stats?filter=^test\.&format=json`, "stats_json.golden", contentTypeJSON},
		{`/stats?filter=^test\.&format=prometheus`, "stats_prometheus.golden", contentTypeText},
		{`/stats/prometheus?filter=^test\.&text_readouts`, "prometheus.golden", contentTypeText},
	} {
		rec := f.do(t, "GET", strings.ReplaceAll(tc.target, `\`, "%5C"))
		expect(t, rec, http.StatusOK, tc.contentType)
		golden(t, tc.golden, rec.Body.Bytes())
		if tc.contentType == contentTypeJSON && !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s: invalid JSON", tc.target)
		}
	}
	rec := f.do(t, "GET", "/stats")
	if !strings.Contains(rec.Body.String(), "cluster.backend_stats.upstream_rq_total: 0\n") {
		t.Errorf("unfiltered /stats lacks the cluster stats:\n%s", rec.Body)
	}
}

func TestStatsBadParams(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/stats?filter=(", "/stats?format=xml", "/stats?type=Bogus", "/stats/prometheus?filter=("} {
		rec := f.do(t, "GET", target)
		expect(t, rec, http.StatusBadRequest, contentTypeText)
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty body", target)
		}
	}
}

func TestResetCounters(t *testing.T) {
	f := newFixture(t)
	f.addTestStats()
	rec := f.do(t, "POST", "/reset_counters")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "OK\n" {
		t.Errorf("body %q", rec.Body)
	}
	if v := f.deps.Stats.Counter("test.requests").Value(); v != 0 {
		t.Errorf("counter %d after reset", v)
	}
	if v := f.deps.Stats.Gauge("test.active").Value(); v != 3 {
		t.Errorf("gauge %d after reset, want it untouched", v)
	}
}

func TestRecentLookups(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/stats/recentlookups")
	expect(t, rec, http.StatusOK, contentTypeText)
	golden(t, "recentlookups_disabled.golden", rec.Body.Bytes())
	for _, p := range []string{"/stats/recentlookups/enable", "/stats/recentlookups/clear"} {
		if rec := f.do(t, "POST", p); rec.Body.String() != "OK\n" {
			t.Errorf("%s: %q", p, rec.Body)
		}
	}
	rec = f.do(t, "GET", "/stats/recentlookups")
	golden(t, "recentlookups_enabled.golden", rec.Body.Bytes())
	f.do(t, "POST", "/stats/recentlookups/disable")
	if rec := f.do(t, "GET", "/stats/recentlookups"); !strings.HasPrefix(rec.Body.String(), "Lookup tracking is not enabled.") {
		t.Errorf("after disable: %q", rec.Body)
	}
}

func TestContention(t *testing.T) {
	f := newFixture(t)
	prev := goruntime.SetMutexProfileFraction(0)
	defer goruntime.SetMutexProfileFraction(prev)
	rec := f.do(t, "GET", "/contention")
	expect(t, rec, http.StatusOK, contentTypeText)
	if want := "Mutex contention tracing is not enabled. To enable, run weft with flag --enable-mutex-tracing."; rec.Body.String() != want {
		t.Errorf("body %q", rec.Body)
	}
	goruntime.SetMutexProfileFraction(1)
	rec = f.do(t, "GET", "/contention")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	unmarshal(t, rec, &adminv3.MutexStats{})
	for _, key := range []string{`"num_contentions": "`, `"current_wait_cycles": "0"`, `"lifetime_wait_cycles": "`} {
		if !strings.Contains(rec.Body.String(), key) {
			t.Errorf("contention lacks %s:\n%s", key, rec.Body)
		}
	}
}
