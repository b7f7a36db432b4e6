package accesslog

import (
	"strings"
	"testing"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

func parseFilter(t *testing.T, y string) filter {
	t.Helper()
	f := &accesslogv3.AccessLogFilter{}
	if err := config.Unmarshal([]byte(y), f); err != nil {
		t.Fatalf("parse %s: %v", y, err)
	}
	if err := config.Validate(f); err != nil {
		t.Fatalf("validate %s: %v", y, err)
	}
	if err := config.Check(f); err != nil {
		t.Fatalf("check %s: %v", y, err)
	}
	flt, err := buildFilter(f)
	if err != nil {
		t.Fatalf("build %s: %v", y, err)
	}
	return flt
}

func withHeaders(pairs ...string) *streaminfo.Info {
	h := header.Of(pairs...)
	return &streaminfo.Info{RequestHeaders: &h}
}

func TestFilters(t *testing.T) {
	ok200 := &streaminfo.Info{ResponseCode: 200, End: 20 * time.Millisecond}
	err503 := &streaminfo.Info{ResponseCode: 503, End: 2 * time.Second, Flags: streaminfo.UpstreamOverflow}
	noResp := &streaminfo.Info{Flags: streaminfo.DownstreamConnectionTermination}
	health := &streaminfo.Info{ResponseCode: 200, HealthCheck: true}
	tests := []struct {
		name  string
		yaml  string
		infos []*streaminfo.Info
		want  []bool
	}{
		{"status GE", `{status_code_filter: {comparison: {op: GE, value: {default_value: 400, runtime_key: k}}}}`,
			[]*streaminfo.Info{ok200, err503, noResp}, []bool{false, true, false}},
		{"status EQ 0", `{status_code_filter: {comparison: {op: EQ, value: {default_value: 0, runtime_key: k}}}}`,
			[]*streaminfo.Info{ok200, noResp}, []bool{false, true}},
		{"status NE", `{status_code_filter: {comparison: {op: NE, value: {default_value: 200, runtime_key: k}}}}`,
			[]*streaminfo.Info{ok200, err503}, []bool{false, true}},
		{"duration GE 1s", `{duration_filter: {comparison: {op: GE, value: {default_value: 1000, runtime_key: k}}}}`,
			[]*streaminfo.Info{ok200, err503, {}}, []bool{false, true, false}},
		{"duration LE", `{duration_filter: {comparison: {op: LE, value: {default_value: 20, runtime_key: k}}}}`,
			[]*streaminfo.Info{ok200, err503}, []bool{true, false}},
		{"not health check", `{not_health_check_filter: {}}`,
			[]*streaminfo.Info{ok200, health}, []bool{true, false}},
		{"any response flag", `{response_flag_filter: {}}`,
			[]*streaminfo.Info{ok200, err503, noResp}, []bool{false, true, true}},
		{"listed response flags", `{response_flag_filter: {flags: [UO, UF]}}`,
			[]*streaminfo.Info{ok200, err503, noResp}, []bool{false, true, false}},
		{"header present", `{header_filter: {header: {name: X-Debug, present_match: true}}}`,
			[]*streaminfo.Info{withHeaders("x-debug", "1"), withHeaders(), {}}, []bool{true, false, false}},
		{"and", `{and_filter: {filters: [{not_health_check_filter: {}}, {status_code_filter: {comparison: {op: GE, value: {default_value: 500, runtime_key: k}}}}]}}`,
			[]*streaminfo.Info{ok200, err503, {ResponseCode: 503, HealthCheck: true}}, []bool{false, true, false}},
		{"or", `{or_filter: {filters: [{response_flag_filter: {}}, {status_code_filter: {comparison: {op: GE, value: {default_value: 500, runtime_key: k}}}}]}}`,
			[]*streaminfo.Info{ok200, err503, noResp}, []bool{false, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseFilter(t, tt.yaml)
			var got []bool
			for _, info := range tt.infos {
				got = append(got, f.match(info))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaderMatcher(t *testing.T) {
	infos := []*streaminfo.Info{
		withHeaders("x-env", "Prod-EU"),
		withHeaders("x-env", "staging"),
		withHeaders("x-env", "a", "x-env", "b"),
		withHeaders("x-env", "42"),
		withHeaders(),
	}
	tests := []struct {
		name    string
		matcher string
		want    []bool
	}{
		{"no specifier means present", `{name: x-env}`, []bool{true, true, true, true, false}},
		{"present false", `{name: x-env, present_match: false}`, []bool{false, false, false, false, true}},
		{"present inverted", `{name: x-env, present_match: true, invert_match: true}`, []bool{false, false, false, false, true}},
		{"exact", `{name: x-env, exact_match: staging}`, []bool{false, true, false, false, false}},
		{"exact empty matches any", `{name: x-env, exact_match: ""}`, []bool{true, true, true, true, false}},
		{"exact inverted", `{name: x-env, exact_match: staging, invert_match: true}`, []bool{true, false, true, true, false}},
		{"multiple values joined", `{name: x-env, exact_match: "a,b"}`, []bool{false, false, true, false, false}},
		{"prefix", `{name: X-Env, prefix_match: Prod}`, []bool{true, false, false, false, false}},
		{"suffix", `{name: x-env, suffix_match: ing}`, []bool{false, true, false, false, false}},
		{"contains", `{name: x-env, contains_match: "d-E"}`, []bool{true, false, false, false, false}},
		{"regex full match", `{name: x-env, safe_regex_match: {regex: "[a-z]+"}}`, []bool{false, true, false, false, false}},
		{"range", `{name: x-env, range_match: {start: 40, end: 43}}`, []bool{false, false, false, true, false}},
		{"string exact ignore case", `{name: x-env, string_match: {exact: prod-eu, ignore_case: true}}`, []bool{true, false, false, false, false}},
		{"string prefix ignore case", `{name: x-env, string_match: {prefix: PROD, ignore_case: true}}`, []bool{true, false, false, false, false}},
		{"string suffix", `{name: x-env, string_match: {suffix: EU}}`, []bool{true, false, false, false, false}},
		{"string contains ignore case", `{name: x-env, string_match: {contains: TAG, ignore_case: true}}`, []bool{false, true, false, false, false}},
		{"string regex", `{name: x-env, string_match: {safe_regex: {regex: "\\d+"}}}`, []bool{false, false, false, true, false}},
		{"missing as empty", `{name: x-env, exact_match: "", treat_missing_header_as_empty: true, invert_match: true}`, []bool{false, false, false, false, false}},
		{"missing as empty regex", `{name: x-env, safe_regex_match: {regex: "x?"}, treat_missing_header_as_empty: true}`, []bool{false, false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseFilter(t, `{header_filter: {header: `+tt.matcher+`}}`)
			var got []bool
			for _, info := range infos {
				got = append(got, f.match(info))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{`{runtime_filter: {runtime_key: k}}`, "type.googleapis.com/envoy.config.accesslog.v3.RuntimeFilter"},
		{`{traceable_filter: {}}`, "type.googleapis.com/envoy.config.accesslog.v3.TraceableFilter"},
		{`{grpc_status_filter: {}}`, "type.googleapis.com/envoy.config.accesslog.v3.GrpcStatusFilter"},
		{`{and_filter: {filters: [{not_health_check_filter: {}}, {runtime_filter: {runtime_key: k}}]}}`,
			"and_filter.filters[1]: unsupported access log filter type.googleapis.com/envoy.config.accesslog.v3.RuntimeFilter"},
		{`{extension_filter: {name: x, typed_config: {"@type": type.googleapis.com/google.protobuf.Empty}}}`,
			"type.googleapis.com/google.protobuf.Empty"},
		{`{header_filter: {header: {name: x, string_match: {safe_regex: {regex: a}, ignore_case: true}}}}`, "ignore_case"},
		{`{header_filter: {header: {name: x, safe_regex_match: {regex: "("}}}}`, "safe_regex"},
	}
	for _, tt := range tests {
		f := &accesslogv3.AccessLogFilter{}
		if err := config.Unmarshal([]byte(tt.yaml), f); err != nil {
			t.Fatalf("parse %s: %v", tt.yaml, err)
		}
		_, err := buildFilter(f)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("buildFilter(%s) error = %v, want it to contain %q", tt.yaml, err, tt.want)
		}
	}
}
