package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

const (
	on    = `{default_value: {numerator: 100}}`
	base  = `stat_prefix: rl, filter_enabled: ` + on + `, filter_enforced: ` + on
	twoPS = `token_bucket: {max_tokens: 2, tokens_per_fill: 1, fill_interval: 1s}`
)

// statuses sends n requests and returns the status each got ("pass" when the filter let
// it through to the stand-in router).
func statuses(h *harness, n int, kv ...string) string {
	var out []string
	for range n {
		st, _, w := h.run(nil, kv...)
		if st == httpfilter.Continue {
			out = append(out, "pass")
		} else {
			out = append(out, w.get(":status"))
		}
	}
	return strings.Join(out, " ")
}

// TestBucket: the bucket empties, answers 429 with RL, and refills with the clock.
func TestBucket(t *testing.T) {
	h := newHarness(t, `{`+base+`, `+twoPS+`}`, nil)
	if got := statuses(h, 3); got != "pass pass 429" {
		t.Fatalf("three requests on a bucket of 2: %s", got)
	}
	_, s, w := h.run(nil)
	if !s.Info.Flags.Has(streaminfo.RateLimited) || string(w.body) != "local_rate_limited" || s.Info.ResponseCodeDetails != "local_rate_limited" {
		t.Errorf("limited reply: flags %v body %q details %q", s.Info.Flags, w.body, s.Info.ResponseCodeDetails)
	}
	h.clock.advance(999 * time.Millisecond)
	if got := statuses(h, 1); got != "429" {
		t.Errorf("before a whole fill interval: %s, want 429", got)
	}
	h.clock.advance(time.Millisecond)
	if got := statuses(h, 2); got != "pass 429" {
		t.Errorf("after one fill interval: %s, want one token", got)
	}
	h.clock.advance(time.Minute)
	if got := statuses(h, 3); got != "pass pass 429" {
		t.Errorf("after a long idle: %s, want max_tokens and no more", got)
	}
	for name, want := range map[string]uint64{"enabled": 10, "ok": 5, "rate_limited": 5, "enforced": 5} {
		if got := h.counter("rl.http_local_rate_limit." + name); got != want {
			t.Errorf("rl.http_local_rate_limit.%s = %d, want %d", name, got, want)
		}
	}
}

// TestEnabledEnforced: Envoy's defaults are 0% for both; runtime keys override.
func TestEnabledEnforced(t *testing.T) {
	tests := []struct {
		name, cfg, runtime, want string
		enabled, limited         uint64
	}{
		{"enabled unset: the filter does nothing", `{stat_prefix: rl, filter_enforced: ` + on + `, ` + twoPS + `}`, "", "pass pass pass", 0, 0},
		{"enforced unset: counted, not enforced", `{stat_prefix: rl, filter_enabled: ` + on + `, ` + twoPS + `}`, "", "pass pass pass", 3, 1},
		{"runtime disables", `{stat_prefix: rl, filter_enabled: {runtime_key: rl.on, default_value: {numerator: 100}}, filter_enforced: ` + on + `, ` + twoPS + `}`,
			`{rl.on: 0}`, "pass pass pass", 0, 0},
		{"runtime stops enforcing", `{stat_prefix: rl, filter_enabled: ` + on + `, filter_enforced: {runtime_key: rl.enf, default_value: {numerator: 100}}, ` + twoPS + `}`,
			`{rl.enf: 0}`, "pass pass pass", 3, 1},
		{"no token bucket: nothing to limit", `{` + base + `}`, "", "pass pass pass", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h *harness
			if tt.runtime != "" {
				h = newHarness(t, tt.cfg, runtimeOf(t, tt.runtime))
			} else {
				h = newHarness(t, tt.cfg, nil)
			}
			if got := statuses(h, 3); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if got := h.counter("rl.http_local_rate_limit.enabled"); got != tt.enabled {
				t.Errorf("enabled = %d, want %d", got, tt.enabled)
			}
			if got := h.counter("rl.http_local_rate_limit.rate_limited"); got != tt.limited {
				t.Errorf("rate_limited = %d, want %d", got, tt.limited)
			}
		})
	}
}

func TestNotEnforcedAddsRequestHeaders(t *testing.T) {
	h := newHarness(t, `{stat_prefix: rl, filter_enabled: `+on+`, token_bucket: {max_tokens: 1, fill_interval: 1s},
		request_headers_to_add_when_not_enforced: [{header: {key: x-would-limit, value: "yes"}}]}`, nil)
	_, s, _ := h.run(nil)
	if s.Request.Has("x-would-limit") {
		t.Error("header added to a request under the limit")
	}
	st, s, _ := h.run(nil)
	if st != httpfilter.Continue || s.Request.Get("x-would-limit") != "yes" || s.Info.Flags != 0 {
		t.Errorf("over the limit, not enforced: %v, header %q, flags %v", st, s.Request.Get("x-would-limit"), s.Info.Flags)
	}
}

func TestReply(t *testing.T) {
	one := `token_bucket: {max_tokens: 1, tokens_per_fill: 1, fill_interval: 10s}`
	tests := []struct {
		name, cfg string
		headers   []string
		want      map[string]string
	}{
		{"custom status", `{` + base + `, ` + one + `, status: {code: 503}}`, nil, map[string]string{":status": "503"}},
		{"status below 400 means 429", `{` + base + `, ` + one + `, status: {code: 302}}`, nil, map[string]string{":status": "429"}},
		{"response headers", `{` + base + `, ` + one + `, response_headers_to_add: [{header: {key: x-local-rate-limit, value: "true"}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}]}`,
			nil, map[string]string{":status": "429", "x-local-rate-limit": "true"}},
		{"retry-after", `{` + base + `, ` + one + `, enable_retry_after_header: true}`, nil, map[string]string{"retry-after": "10"}},
		{"retry-after from config wins", `{` + base + `, ` + one + `, enable_retry_after_header: true, response_headers_to_add: [{header: {key: retry-after, value: "60"}}]}`,
			nil, map[string]string{"retry-after": "60"}},
		{"grpc", `{` + base + `, ` + one + `}`, []string{"content-type", "application/grpc"},
			map[string]string{":status": "200", "grpc-status": "14", "grpc-message": "local_rate_limited"}},
		{"grpc resource exhausted", `{` + base + `, ` + one + `, rate_limited_as_resource_exhausted: true}`, []string{"content-type", "application/grpc"},
			map[string]string{":status": "200", "grpc-status": "8"}},
		{"x-ratelimit headers on the reply", `{` + base + `, ` + one + `, enable_x_ratelimit_headers: DRAFT_VERSION_03}`, nil,
			map[string]string{"x-ratelimit-limit": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg, nil)
			h.run(nil, tt.headers...)
			st, _, w := h.run(nil, tt.headers...)
			if st != httpfilter.Stop {
				t.Fatal("second request was not limited")
			}
			for k, v := range tt.want {
				if got := w.get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestXRateLimitHeaders: an allowed response carries the deciding bucket's state; a
// config without the option adds nothing.
func TestXRateLimitHeaders(t *testing.T) {
	h := newHarness(t, `{`+base+`, token_bucket: {max_tokens: 5, tokens_per_fill: 5, fill_interval: 2s}, enable_x_ratelimit_headers: DRAFT_VERSION_03}`, nil)
	_, _, w := h.run(nil)
	if w.get("x-ratelimit-limit") != "5" || w.get("x-ratelimit-remaining") != "4" || w.get("x-ratelimit-reset") != "0" {
		t.Errorf("allowed response: limit %q remaining %q reset %q, want 5 4 0", w.get("x-ratelimit-limit"), w.get("x-ratelimit-remaining"), w.get("x-ratelimit-reset"))
	}
	if n := lenSyncMap(h.f); n != 0 {
		t.Errorf("%d streams still tracked after completing", n)
	}
	h = newHarness(t, `{`+base+`, `+twoPS+`}`, nil)
	if _, _, w := h.run(nil); w.get("x-ratelimit-limit") != "" {
		t.Error("x-ratelimit headers without enable_x_ratelimit_headers")
	}
}

func lenSyncMap(f *Filter) int {
	n := 0
	f.decided.Range(func(any, any) bool { n++; return true })
	return n
}

// TestPerRoute: a route's config has its own bucket and stats; other routes keep the
// filter's.
func TestPerRoute(t *testing.T) {
	tbl := routeTable(t, `
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - match: {prefix: /limited}
    route: {cluster: c}
    typed_per_filter_config:
      envoy.filters.http.local_ratelimit:
        "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
        stat_prefix: route_rl
        token_bucket: {max_tokens: 1, fill_interval: 60s}
        filter_enabled: {default_value: {numerator: 100}}
        filter_enforced: {default_value: {numerator: 100}}
  - match: {prefix: /}
    route: {cluster: c}`)
	h := newHarness(t, `{stat_prefix: global}`, nil) // enabled nowhere but on the route
	limited, open := match(tbl, "/limited"), match(tbl, "/")
	var got []string
	for _, rt := range []*route.Entry{limited, limited, open, open, open} {
		st, _, w := h.run(rt)
		if st == httpfilter.Continue {
			got = append(got, "pass")
		} else {
			got = append(got, w.get(":status"))
		}
	}
	if strings.Join(got, " ") != "pass 429 pass pass pass" {
		t.Errorf("per-route limit: %v", got)
	}
	if h.counter("route_rl.http_local_rate_limit.enforced") != 1 || h.counter("global.http_local_rate_limit.enabled") != 0 {
		t.Errorf("stats: route enforced %d, global enabled %d; want 1 and 0",
			h.counter("route_rl.http_local_rate_limit.enforced"), h.counter("global.http_local_rate_limit.enabled"))
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg      string
		perRoute bool
		want     string
	}{
		{`{stat_prefix: a, token_bucket: {max_tokens: 1, fill_interval: 0.01s}}`, false, "token_bucket.fill_interval: 10ms is shorter than 50ms"},
		{`{stat_prefix: a}`, true, "token_bucket: required in a per-route config"},
		{`{stat_prefix: a, descriptors: [{entries: [{key: k, value: v}], token_bucket: {max_tokens: 1, fill_interval: 1s}},
			{entries: [{key: k, value: v}], token_bucket: {max_tokens: 2, fill_interval: 1s}}]}`, false, "descriptors[1]: duplicate descriptor"},
		{`{stat_prefix: a, response_headers_to_add: [{header: {key: ":status", value: "1"}}]}`, false, "response_headers_to_add[0].header.key"},
		{`{stat_prefix: a, rate_limits: [{actions: [{source_cluster: {}}]}]}`, false, "rate_limits[0].actions[0].action_specifier"},
	}
	for _, tt := range tests {
		_, err := NewConfig(parseConfig(t, tt.cfg), tt.perRoute, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestAllowedRequestDoesNotAllocate: the hot path of a request under the limit.
func TestAllowedRequestDoesNotAllocate(t *testing.T) {
	h := newHarness(t, `{`+base+`, token_bucket: {max_tokens: 1000000000, tokens_per_fill: 1000000000, fill_interval: 1s}}`, nil)
	s := &httpfilter.Stream{}
	s.Request = header.Of(":method", "GET", ":path", "/")
	if n := testing.AllocsPerRun(100, func() { h.f.DecodeHeaders(s) }); n != 0 {
		t.Errorf("DecodeHeaders allocates %.1f times per allowed request", n)
	}
}
