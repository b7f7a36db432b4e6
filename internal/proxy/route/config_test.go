package route

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestUnsupportedAndInvalidConfig(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unsupported route field", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c, cors: {}}}]}]`,
			"virtual_hosts[0].routes[0].route.cors: field not supported by weft"},
		{"unsupported match field", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /, tls_context: {}}, route: {cluster: c}}]}]`,
			"virtual_hosts[0].routes[0].match.tls_context: field not supported"},
		{"unsupported vhost field", `virtual_hosts: [{name: vh, domains: ["*"], rate_limits: [{actions: [{source_cluster: {}}]}]}]`,
			"virtual_hosts[0].rate_limits: field not supported"},
		{"bad regex", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {safe_regex: {regex: "("}}, route: {cluster: c}}]}]`,
			"virtual_hosts[0].routes[0].match.safe_regex: invalid regex"},
		{"bad substitution", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c, regex_rewrite: {pattern: {regex: "a"}, substitution: "\\1"}}}]}]`,
			"virtual_hosts[0].routes[0].route.regex_rewrite.substitution: \\1 refers to a missing capture group"},
		{"bad separated prefix", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {path_separated_prefix: "/a/"}, route: {cluster: c}}]}]`,
			"RouteMatch.PathSeparatedPrefix"},
		{"zero weights", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, weight: 0}]}}}]}]`,
			"virtual_hosts[0].routes[0].route.weighted_clusters.clusters: the sum of the weights must be greater than zero"},
		{"total weight", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {weighted_clusters: {total_weight: 5, clusters: [{name: a, weight: 3}]}}}]}]`,
			"weighted_clusters.total_weight: total_weight does not equal"},
		{"body too big", `max_direct_response_body_size_bytes: 3
virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: "four"}}}]}]`,
			"virtual_hosts[0].routes[0].direct_response.body: body is 4 bytes"},
		{"file body", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {filename: /etc/passwd}}}]}]`,
			"body.filename: field not supported"},
		{"retry on", `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: "5xx,bogus"}}}]}]`,
			`virtual_hosts[0].routes[0].route.retry_policy.retry_on: unknown retry condition "bogus"`},
		{"per filter config without parser", `typed_per_filter_config: {f: {"@type": type.googleapis.com/google.protobuf.StringValue, value: x}}
virtual_hosts: []`, "typed_per_filter_config[f]: per-filter config is not supported here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(parseConfig(t, tt.yaml), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPerFilterConfig(t *testing.T) {
	cfg := `
typed_per_filter_config:
  f1: {"@type": type.googleapis.com/google.protobuf.StringValue, value: rc}
  f2: {"@type": type.googleapis.com/google.protobuf.StringValue, value: rc}
  f3: {"@type": type.googleapis.com/google.protobuf.StringValue, value: rc}
  f4: {"@type": type.googleapis.com/google.protobuf.StringValue, value: rc}
virtual_hosts:
- name: vh
  domains: ["*"]
  typed_per_filter_config:
    f2: {"@type": type.googleapis.com/google.protobuf.StringValue, value: vhost}
    f3: {"@type": type.googleapis.com/google.protobuf.StringValue, value: vhost}
    f4: {"@type": type.googleapis.com/google.protobuf.StringValue, value: vhost}
  routes:
  - match: {prefix: /}
    typed_per_filter_config:
      f3: {"@type": type.googleapis.com/google.protobuf.StringValue, value: route}
      f4: {"@type": type.googleapis.com/google.protobuf.StringValue, value: route}
    route:
      weighted_clusters:
        clusters:
        - name: c
          weight: 1
          typed_per_filter_config:
            f4: {"@type": type.googleapis.com/google.protobuf.StringValue, value: cluster}
`
	parse := func(name string, a *anypb.Any) (any, error) {
		if name == "bad" {
			return nil, errors.New("bad config")
		}
		return name + "=" + string(a.GetValue()[2:]), nil
	}
	tbl := mustTable(t, cfg, Options{ParseFilterConfig: parse})
	e := tbl.Match(request("h", "/"), nil, 0)
	got := []any{e.PerFilterConfig("f1"), e.PerFilterConfig("f2"), e.PerFilterConfig("f3"), e.PerFilterConfig("f4"), e.PerFilterConfig("none")}
	want := []any{"f1=rc", "f2=vhost", "f3=route", "f4=cluster", nil}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad := `typed_per_filter_config: {bad: {"@type": type.googleapis.com/google.protobuf.StringValue, value: x}}
virtual_hosts: []`
	if _, err := New(parseConfig(t, bad), Options{ParseFilterConfig: parse}); err == nil ||
		!strings.Contains(err.Error(), "typed_per_filter_config[bad]: bad config") {
		t.Errorf("error = %v", err)
	}
}

func TestPoliciesAndTimeouts(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- name: vh
  domains: ["*"]
  retry_policy: {retry_on: connect-failure}
  include_request_attempt_count: true
  routes:
  - match: {prefix: /default}
    route: {cluster: c}
  - match: {prefix: /}
    metadata: {filter_metadata: {istio: {config: /x}}}
    decorator: {operation: op}
    route:
      cluster: c
      timeout: 0s
      idle_timeout: 5s
      max_stream_duration: {max_stream_duration: 10s, grpc_timeout_header_max: 0s}
      retry_policy:
        retry_on: "5xx, reset,retriable-status-codes"
        num_retries: 3
        per_try_timeout: 2s
        retry_back_off: {base_interval: 0.1s}
        retriable_status_codes: [503]
        retriable_headers: [{name: x-retry}]
        host_selection_retry_max_attempts: 5
      hash_policy:
      - {header: {header_name: X-User}}
      - {cookie: {name: sticky, ttl: 60s, path: /}, terminal: true}
      - {connection_properties: {source_ip: true}}
      - {query_parameter: {name: q}}
      - {filter_state: {key: k}}
      request_mirror_policies:
      - {cluster: shadow, runtime_fraction: {default_value: {numerator: 5, denominator: TEN_THOUSAND}, runtime_key: m}}
`)
	def := tbl.Match(request("h", "/default"), nil, 0)
	if def.Timeout() != 15*time.Second || def.RetryPolicy().RetryOn[0] != "connect-failure" || !def.VirtualHost().IncludeRequestAttemptCount() {
		t.Errorf("defaults: timeout %v, retry %+v", def.Timeout(), def.RetryPolicy())
	}
	if _, ok := def.IdleTimeout(); ok {
		t.Error("idle timeout set by default")
	}
	e := tbl.Match(request("h", "/x"), nil, 0)
	idle, ok := e.IdleTimeout()
	msd := e.MaxStreamDuration()
	if e.Timeout() != 0 || idle != 5*time.Second || !ok || *msd.Max != 10*time.Second || *msd.GRPCTimeoutHeaderMax != 0 || msd.GRPCTimeoutHeaderOffset != nil {
		t.Errorf("timeouts: %v %v %v %+v", e.Timeout(), idle, ok, msd)
	}
	rp := e.RetryPolicy()
	gotRetry := []any{rp.RetryOn, rp.NumRetries, rp.PerTryTimeout, rp.BackOffBase, rp.BackOffMax, rp.RetriableStatusCodes,
		rp.RetriableHeaders[0].Name(), rp.HostSelectionMaxAttempts}
	wantRetry := []any{[]string{"5xx", "reset", "retriable-status-codes"}, uint32(3), 2 * time.Second,
		100 * time.Millisecond, time.Second, []uint32{503}, "x-retry", int64(5)}
	if diff := cmp.Diff(wantRetry, gotRetry); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
	var kinds []HashKind
	var names []string
	for _, hp := range e.HashPolicies() {
		kinds, names = append(kinds, hp.Kind), append(names, hp.Name)
	}
	if diff := cmp.Diff([]any{[]HashKind{HashHeader, HashCookie, HashSourceIP, HashQueryParameter, HashFilterState},
		[]string{"x-user", "sticky", "", "q", "k"}}, []any{kinds, names}); diff != "" {
		t.Errorf("hash (-want +got):\n%s", diff)
	}
	if hp := e.HashPolicies()[1]; !hp.Terminal || *hp.CookieTTL != time.Minute || hp.CookiePath != "/" {
		t.Errorf("cookie policy %+v", hp)
	}
	mp := e.MirrorPolicies()
	if len(mp) != 1 || mp[0].Cluster != "shadow" || *mp[0].Runtime != (RuntimeFraction{Key: "m", Default: Fraction{5, 10000}}) {
		t.Errorf("mirror %+v", mp)
	}
	if e.Metadata()["istio"]["config"] != "/x" || e.Decorator().Operation != "op" {
		t.Errorf("metadata %v, decorator %+v", e.Metadata(), e.Decorator())
	}
}
