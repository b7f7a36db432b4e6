package routecheck

import (
	"encoding/json"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDynamicMetadataMerge(t *testing.T) {
	raw := []json.RawMessage{
		json.RawMessage(`{"metadata_namespace": "ns", "value": {"myint": 1, "mylist": ["a"], "mykey": ["val"], "mytags": {"tag0": 1}}}`),
		json.RawMessage(`{"metadata_namespace": "ns", "value": {"myint": 5}}`),
		json.RawMessage(`{"metadata_namespace": "ns", "allow_overwrite": true, "value": {"myint": 2, "mylist": ["b", "c"], "mykey": 1, "mytags": {"tag1": 1}}}`),
		json.RawMessage(`{"metadata_namespace": "other", "value": {"k": "v"}}`),
	}
	got, err := dynamicMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"ns": {"myint": 2.0, "mylist": []any{"a", "b", "c"}, "mykey": 1.0,
			"mytags": map[string]any{"tag0": 1.0, "tag1": 1.0}},
		"other": {"k": "v"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTextFormat(t *testing.T) {
	m := &routev3.RouteMatch{
		PathSpecifier: &routev3.RouteMatch_Path{Path: "/a\"b"},
		CaseSensitive: wrapperspb.Bool(true),
		Headers:       []*routev3.HeaderMatcher{{Name: "x", InvertMatch: true}},
	}
	want := "path: \"/a\\\"b\"\ncase_sensitive {\n  value: true\n}\nheaders {\n  name: \"x\"\n  invert_match: true\n}\n"
	if diff := cmp.Diff(want, textFormat(m)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseTestsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"tests": []}`, "at least one test"},
		{`{"tests": [{"test_name": "", "input": {}, "validate": {}}]}`, "tests[0].test_name"},
		{`{"tests": [{"test_name": "a", "validate": {}}]}`, "tests[0].input: is required"},
		{`{"tests": [{"test_name": "a", "input": {"authority": "h", "path": "/", "method": "GE"}, "validate": {}}]}`, "tests[0].input.method"},
		{`{"tests": [{"test_name": "a", "input": {"authority": "h", "path": "/", "method": "GET", "bogus": 1}, "validate": {}}]}`, `unknown field "bogus"`},
	}
	for _, tt := range tests {
		if _, err := ParseTests([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTests(%s) error = %v, want %q", tt.in, err, tt.want)
		}
	}
	v, err := ParseTests([]byte(`{"tests": [{"testName": "a", "input": {"authority": "h", "path": "/", "method": "GET",
		"randomValue": 18446744073709551615, "dynamicMetadata": [{"metadataNamespace": "ns", "value": {"camelKey": 1}}]},
		"validate": {"codeRedirect": "302", "responseHeaderMatches": [{"name": "x", "presentMatch": true}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	in, want := v.Tests[0].Input, v.Tests[0].Validate
	if in.RandomValue != 1<<64-1 || *want.CodeRedirect != 302 || !strings.Contains(string(in.DynamicMetadata[0]), `"camelKey"`) ||
		!strings.Contains(string(want.ResponseHeaderMatches[0]), `"present_match"`) {
		t.Errorf("ParseTests: %+v %+v", in, want)
	}
}
