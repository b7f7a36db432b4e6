package fault

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// outcome is what one request saw: the filter's status, the reply and the flags.
type outcome struct {
	Stop    bool
	Status  string
	Body    string
	GRPC    string
	Flags   string
	Waited  []time.Duration
	Details string
}

func observe(h *harness, st httpfilter.Status, s *httpfilter.Stream, w *recorder) outcome {
	o := outcome{Stop: st == httpfilter.Stop, Status: w.status(), Body: string(w.body),
		Flags: s.Info.Flags.String(), Waited: h.waited, Details: s.Info.ResponseCodeDetails}
	if w.head != nil {
		o.GRPC = w.head.Get("grpc-status")
	}
	return o
}

// abort503 aborts every request with 503.
const abort503 = `abort: {http_status: 503, percentage: {numerator: 100}}`

// decodeCases are single requests through a fresh filter.
var decodeCases = []struct {
	name    string
	cfg     string
	runtime string
	draws   []uint64
	headers []string
	want    outcome
}{
	{name: "empty config does nothing", cfg: `{}`, want: outcome{Flags: "-"}},
	{name: "abort 100%", cfg: abort503,
		want: outcome{Stop: true, Status: "503", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "abort with response_body", cfg: `abort: {http_status: 418, percentage: {numerator: 100}, response_body: "no tea"}`,
		want: outcome{Stop: true, Status: "418", Body: "no tea", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "abort 0% by default", cfg: `abort: {http_status: 503}`, want: outcome{Flags: "-"}},
	{name: "abort 50% selects 49", cfg: `abort: {http_status: 500, percentage: {numerator: 50}}`, draws: []uint64{149},
		want: outcome{Stop: true, Status: "500", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "abort 50% skips 50", cfg: `abort: {http_status: 500, percentage: {numerator: 50}}`, draws: []uint64{150},
		want: outcome{Flags: "-"}},
	{name: "abort per million", cfg: `abort: {http_status: 500, percentage: {numerator: 1, denominator: MILLION}}`, draws: []uint64{1},
		want: outcome{Flags: "-"}},
	{name: "grpc abort of a grpc request", cfg: `abort: {grpc_status: 8, percentage: {numerator: 100}}`,
		headers: []string{"content-type", "application/grpc"},
		want:    outcome{Stop: true, Status: "200", GRPC: "8", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "http abort of a grpc request maps the status", cfg: abort503,
		headers: []string{"content-type", "application/grpc+proto"},
		want:    outcome{Stop: true, Status: "200", GRPC: "14", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "grpc abort of a plain request answers 200", cfg: `abort: {grpc_status: 14, percentage: {numerator: 100}}`,
		want: outcome{Stop: true, Status: "200", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "fixed delay", cfg: `delay: {fixed_delay: 1.5s, percentage: {numerator: 100}}`,
		want: outcome{Flags: "DI", Waited: []time.Duration{1500 * time.Millisecond}}},
	{name: "delay then abort", cfg: `{delay: {fixed_delay: 0.2s, percentage: {numerator: 100}}, ` + abort503 + `}`,
		want: outcome{Stop: true, Status: "503", Body: "fault filter abort", Flags: "DI,FI", Details: "fault_filter_abort",
			Waited: []time.Duration{200 * time.Millisecond}}},
	{name: "header delay", cfg: `delay: {header_delay: {}, percentage: {numerator: 100}}`,
		headers: []string{"x-envoy-fault-delay-request", "250"},
		want:    outcome{Flags: "DI", Waited: []time.Duration{250 * time.Millisecond}}},
	{name: "header delay absent", cfg: `delay: {header_delay: {}, percentage: {numerator: 100}}`, want: outcome{Flags: "-"}},
	{name: "header delay not a number", cfg: `delay: {header_delay: {}, percentage: {numerator: 100}}`,
		headers: []string{"x-envoy-fault-delay-request", "soon"}, want: outcome{Flags: "-"}},
	{name: "header delay percentage capped by config", cfg: `delay: {header_delay: {}, percentage: {numerator: 10}}`,
		headers: []string{"x-envoy-fault-delay-request", "5", "x-envoy-fault-delay-request-percentage", "90"},
		draws:   []uint64{50}, want: outcome{Flags: "-"}},
	{name: "header delay percentage lowers", cfg: `delay: {header_delay: {}, percentage: {numerator: 100}}`,
		headers: []string{"x-envoy-fault-delay-request", "5", "x-envoy-fault-delay-request-percentage", "0"},
		want:    outcome{Flags: "-"}},
	{name: "header abort", cfg: `abort: {header_abort: {}, percentage: {numerator: 100}}`,
		headers: []string{"x-envoy-fault-abort-request", "429"},
		want:    outcome{Stop: true, Status: "429", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "header abort out of range", cfg: `abort: {header_abort: {}, percentage: {numerator: 100}}`,
		headers: []string{"x-envoy-fault-abort-request", "600"}, want: outcome{Flags: "-"}},
	{name: "header grpc abort", cfg: `abort: {header_abort: {}, percentage: {numerator: 100}}`,
		headers: []string{"content-type", "application/grpc", "x-envoy-fault-abort-grpc-request", "4"},
		want:    outcome{Stop: true, Status: "200", GRPC: "4", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "headers select", cfg: `{headers: [{name: x-chaos, exact_match: "on"}], ` + abort503 + `}`,
		headers: []string{"x-chaos", "on"},
		want:    outcome{Stop: true, Status: "503", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "headers do not select", cfg: `{headers: [{name: x-chaos, exact_match: "on"}], ` + abort503 + `}`,
		headers: []string{"x-chaos", "off"}, want: outcome{Flags: "-"}},
	{name: "downstream node selects", cfg: `{downstream_nodes: [a, b], ` + abort503 + `}`,
		headers: []string{"x-envoy-downstream-service-node", "b"},
		want:    outcome{Stop: true, Status: "503", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "downstream node absent", cfg: `{downstream_nodes: [a], ` + abort503 + `}`, want: outcome{Flags: "-"}},
	{name: "upstream cluster without a route", cfg: `{upstream_cluster: reviews, ` + abort503 + `}`, want: outcome{Flags: "-"}},
	{name: "runtime turns the abort off", cfg: abort503, runtime: `{fault.http.abort.abort_percent: 0}`, want: outcome{Flags: "-"}},
	{name: "runtime changes the status", cfg: abort503, runtime: `{fault.http.abort.http_status: 418}`,
		want: outcome{Stop: true, Status: "418", Body: "fault filter abort", Flags: "FI", Details: "fault_filter_abort"}},
	{name: "runtime key named by config", cfg: `{abort_percent_runtime: my.abort, ` + abort503 + `}`,
		runtime: `{my.abort: {numerator: 0}}`, want: outcome{Flags: "-"}},
	{name: "runtime changes the delay", cfg: `delay: {fixed_delay: 1s, percentage: {numerator: 100}}`,
		runtime: `{fault.http.delay.fixed_duration_ms: 20}`, want: outcome{Flags: "DI", Waited: []time.Duration{20 * time.Millisecond}}},
	{name: "runtime delay of zero is none", cfg: `delay: {fixed_delay: 1s, percentage: {numerator: 100}}`,
		runtime: `{fault.http.delay.fixed_duration_ms: 0}`, want: outcome{Flags: "-"}},
	{name: "downstream cluster runtime key", cfg: abort503, runtime: `{fault.http.productpage.abort.abort_percent: 0}`,
		headers: []string{"x-envoy-downstream-service-cluster", "productpage"}, want: outcome{Flags: "-"}},
	{name: "max_active_faults 0 overflows", cfg: `{max_active_faults: 0, ` + abort503 + `}`, want: outcome{Flags: "-"}},
	{name: "max_active_faults from runtime", cfg: abort503, runtime: `{fault.http.max_active_faults: 0}`, want: outcome{Flags: "-"}},
}

func TestDecodeHeaders(t *testing.T) {
	for _, tt := range decodeCases {
		t.Run(tt.name, func(t *testing.T) {
			var h *harness
			if tt.runtime != "" {
				h = newHarness(t, tt.cfg, runtimeOf(t, tt.runtime))
			} else {
				h = newHarness(t, tt.cfg, nil)
			}
			h.draws = tt.draws
			st, s, w := h.run(nil, nil, tt.headers...)
			if diff := cmp.Diff(tt.want, observe(h, st, s, w)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if n := h.stats.Gauge("http.in.fault.active_faults").Value(); n != 0 {
				t.Errorf("active_faults = %d after the request, want 0", n)
			}
		})
	}
}

func TestStats(t *testing.T) {
	h := newHarness(t, `{delay: {fixed_delay: 0.01s, percentage: {numerator: 100}}, abort: {http_status: 503, percentage: {numerator: 100}}}`, nil)
	h.run(nil, nil, "x-envoy-downstream-service-cluster", "productpage")
	h.run(nil, nil)
	for name, want := range map[string]uint64{
		"delays_injected": 2, "aborts_injected": 2, "faults_overflow": 0,
		"productpage.delays_injected": 1, "productpage.aborts_injected": 1,
	} {
		if got := h.counter(name); got != want {
			t.Errorf("http.in.fault.%s = %d, want %d", name, got, want)
		}
	}

	h = newHarness(t, `{disable_downstream_cluster_stats: true, abort: {http_status: 503, percentage: {numerator: 100}}}`, nil)
	h.run(nil, nil, "x-envoy-downstream-service-cluster", "productpage")
	if h.stats.Counter("http.in.fault.productpage.aborts_injected").Used() {
		t.Error("disable_downstream_cluster_stats still counted per cluster")
	}
}

// TestMaxActiveFaults: while one request sits in its delay, a second overflows and
// goes through unharmed; the delay's fault ends with it.
func TestMaxActiveFaults(t *testing.T) {
	h := newHarness(t, `{max_active_faults: 1, delay: {fixed_delay: 10s, percentage: {numerator: 100}}}`, nil)
	inside, release := make(chan struct{}), make(chan struct{})
	h.f.wait = func(context.Context, time.Duration) bool { close(inside); <-release; return true }
	done := make(chan struct{})
	go func() { h.run(nil, nil); close(done) }()
	<-inside
	st, s, _ := h.run(nil, nil)
	if st != httpfilter.Continue || s.Info.Flags != 0 {
		t.Errorf("second request: status %v flags %v, want an untouched Continue", st, s.Info.Flags)
	}
	if got := h.counter("faults_overflow"); got != 1 {
		t.Errorf("faults_overflow = %d, want 1", got)
	}
	if got := h.stats.Gauge("http.in.fault.active_faults").Value(); got != 1 {
		t.Errorf("active_faults = %d during the delay, want 1", got)
	}
	close(release)
	<-done
	if got := h.stats.Gauge("http.in.fault.active_faults").Value(); got != 0 {
		t.Errorf("active_faults = %d after the delay, want 0", got)
	}
}

// TestClientGoneDuringDelay: a cancelled stream ends the delay, is reset and flagged DC.
func TestClientGoneDuringDelay(t *testing.T) {
	h := newHarness(t, `{delay: {fixed_delay: 10s, percentage: {numerator: 100}}, abort: {http_status: 503, percentage: {numerator: 100}}}`, nil)
	h.f.wait = timerWait
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	st, s, w := h.run(ctx, nil)
	if st != httpfilter.Stop || !w.reset || w.head != nil || !s.Info.Flags.Has(streaminfo.DelayInjected|streaminfo.DownstreamConnectionTermination) {
		t.Errorf("got status %v reset %v head %v flags %v; want Stop, a reset, no reply, DI and DC", st, w.reset, w.head, s.Info.Flags)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the delay ran %v after the client left", d)
	}
	if h.counter("aborts_injected") != 0 {
		t.Error("an abort followed a cancelled delay")
	}
}

// TestPerRoute: a route's typed_per_filter_config replaces the filter's config for
// that route only, in the shape Istio generates for a VirtualService fault (an empty
// HTTPFault in the chain, the fault on the route).
func TestPerRoute(t *testing.T) {
	tbl := routeTable(t, `
virtual_hosts:
- name: reviews
  domains: ["*"]
  routes:
  - match: {prefix: /faulty}
    route: {cluster: reviews}
    typed_per_filter_config:
      envoy.filters.http.fault:
        "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
        delay: {fixed_delay: 7s, percentage: {numerator: 1000000, denominator: MILLION}}
        abort: {http_status: 500, percentage: {numerator: 1000000, denominator: MILLION}}
  - match: {prefix: /other}
    route: {cluster: ratings}
    typed_per_filter_config:
      envoy.filters.http.fault:
        "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
        upstream_cluster: reviews
        abort: {http_status: 500, percentage: {numerator: 100}}
  - match: {prefix: /}
    route: {cluster: reviews}`)
	h := newHarness(t, `{}`, nil)
	st, s, w := h.run(nil, match(tbl, "/faulty"))
	if st != httpfilter.Stop || w.status() != "500" || s.Info.Flags.String() != "DI,FI" || len(h.waited) != 1 || h.waited[0] != 7*time.Second {
		t.Errorf("/faulty: %v %q flags %v waited %v; want a 7s delay then 500", st, w.status(), s.Info.Flags, h.waited)
	}
	if st, s, _ := h.run(nil, match(tbl, "/other")); st != httpfilter.Continue || s.Info.Flags != 0 {
		t.Errorf("/other (upstream_cluster reviews, routed to ratings): %v flags %v, want untouched", st, s.Info.Flags)
	}
	if st, s, _ := h.run(nil, match(tbl, "/")); st != httpfilter.Continue || s.Info.Flags != 0 {
		t.Errorf("/ (no per-route config): %v flags %v, want untouched", st, s.Info.Flags)
	}
}

func TestFilterMetadata(t *testing.T) {
	h := newHarness(t, `{filter_metadata: {chaos: experiment-7}, abort: {http_status: 503, percentage: {numerator: 100}}}`, nil)
	_, s, _ := h.run(nil, nil)
	if got := s.Info.Metadata[Name]["chaos"]; got != "experiment-7" {
		t.Errorf("dynamic metadata %v, want chaos: experiment-7 under %s", s.Info.Metadata, Name)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{`headers: [{name: ""}]`, "headers[0]"},
		{`delay: {percentage: {numerator: 1}}`, "delay: one of fixed_delay or header_delay"},
		{`abort: {percentage: {numerator: 1}}`, "abort: one of http_status"},
		{`abort: {http_status: 100}`, "http_status: 100"},
	}
	for _, tt := range tests {
		_, err := newSettingsYAML(t, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to mention %q", tt.cfg, err, tt.want)
		}
	}
}

// TestUnselectedRequestDoesNotAllocate: Istio's chain has an empty fault filter on
// every request; requests without a fault must cost next to nothing.
func TestUnselectedRequestDoesNotAllocate(t *testing.T) {
	for _, cfg := range []string{`{}`, `{headers: [{name: x-chaos, present_match: true}], ` + abort503 + `}`} {
		h := newHarness(t, cfg, nil)
		s := &httpfilter.Stream{}
		s.Request = header.Of(":method", "GET", ":path", "/")
		if n := testing.AllocsPerRun(100, func() { h.f.DecodeHeaders(s) }); n != 0 {
			t.Errorf("%s: DecodeHeaders allocates %.1f times per request", cfg, n)
		}
	}
}
