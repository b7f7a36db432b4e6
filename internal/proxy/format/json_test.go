package format

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

func mustStruct(t testing.TB, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testJSONFormat(t testing.TB) *structpb.Struct {
	return mustStruct(t, map[string]any{
		"protocol": "%PROTOCOL%",
		"duration": "%DURATION%",
		"code":     "%RESPONSE_CODE%",
		"flags":    "%RESPONSE_FLAGS%",
		"path":     "%REQ(:PATH)%",
		"missing":  "%REQ(missing)%",
		"empty":    "%REQ(x-empty)%",
		"mixed":    `%PROTOCOL% %REQ(missing)% "q"`,
		"md":       "%DYNAMIC_METADATA(com.test.my_filter)%",
		"md_num":   "%DYNAMIC_METADATA(com.test.my_filter:count)%",
		"md_str":   "%DYNAMIC_METADATA(com.test.my_filter:test_key):1%",
		"port":     "%DOWNSTREAM_REMOTE_PORT%",
		"start":    "%START_TIME%",
		"literal":  "plain \"text\"",
		"pct":      "100%%",
		"num":      1.5,
		"int":      7.0,
		"bool":     true,
		"null":     nil,
		"nested":   map[string]any{"a": "%ROUTE_NAME%", "b": map[string]any{"c": "%REQ(missing)%"}},
		"list":     []any{"%RESPONSE_CODE%", "x", "%REQ(missing)%", map[string]any{"k": "%REQ(missing)%"}},
	})
}

func TestJSONFormat(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		info *streaminfo.Info
		want string
	}{{
		name: "full",
		info: fullInfo(),
		want: `{"bool":true,"code":204,"duration":226,"empty":"","flags":"UF,URX","int":7,"list":[204,"x",null,{"k":null}],` +
			`"literal":"plain \"text\"","md":{"count":3,"test_key":"foo","test_object":{"inner_key":"bar","n":2.5}},` +
			`"md_num":3,"md_str":"foo","missing":null,"mixed":"HTTP/2 - \"q\"","nested":{"a":"default","b":{"c":null}},` +
			`"null":null,"num":1.5,"path":"/api/v1/locations","pct":"100%","port":51234,"protocol":"HTTP/2",` +
			`"start":"2016-04-15T20:17:00.310Z"}` + "\n",
	}, {
		name: "empty",
		info: &streaminfo.Info{},
		want: `{"bool":true,"code":0,"duration":null,"empty":null,"flags":"-","int":7,"list":[0,"x",null,{"k":null}],` +
			`"literal":"plain \"text\"","md":null,"md_num":null,"md_str":null,"missing":null,"mixed":"- - \"q\"",` +
			`"nested":{"a":null,"b":{"c":null}},"null":null,"num":1.5,"path":null,"pct":"100%","port":null,` +
			`"protocol":null,"start":null}` + "\n",
	}, {
		name: "empty omitted",
		opts: Options{OmitEmptyValues: true},
		info: &streaminfo.Info{},
		want: `{"bool":true,"code":0,"flags":"-","int":7,"list":[0,"x",null,{}],"literal":"plain \"text\"",` +
			`"mixed":"  \"q\"","num":1.5,"pct":"100%"}` + "\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseJSON(testJSONFormat(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := f.Format(tt.info)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

func TestJSONEscaping(t *testing.T) {
	f, err := ParseJSON(mustStruct(t, map[string]any{
		"ua":    "%REQ(user-agent)%",
		"mixed": "<%REQ(user-agent)%>",
		"k\"ey": "v",
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := &streaminfo.Info{RequestHeaders: headers("user-agent", "a\"b\\c\n\x01\xff é")}
	want := `{"k\"ey":"v","mixed":"<a\"b\\c\n\u0001\u00ff é>","ua":"a\"b\\c\n\u0001\u00ff é"}` + "\n"
	got := f.Format(info)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("output is not valid JSON: %s", got)
	}
}

func TestJSONEmptyFormat(t *testing.T) {
	f, err := ParseJSON(nil, Options{OmitEmptyValues: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Format(&streaminfo.Info{}); got != "{}\n" {
		t.Errorf("Format = %q, want %q", got, "{}\n")
	}
}

func TestJSONParseError(t *testing.T) {
	_, err := ParseJSON(mustStruct(t, map[string]any{"a": map[string]any{"b": "%NOPE%"}}), Options{})
	if err == nil || !strings.Contains(err.Error(), "json_format a.b") || !strings.Contains(err.Error(), "%NOPE%") {
		t.Errorf("ParseJSON error = %v, want one naming a.b and %%NOPE%%", err)
	}
}

func TestAppendNumber(t *testing.T) {
	tests := map[float64]string{0: "0", 200: "200", -3: "-3", 1.5: "1.5", 123456789: "123456789",
		1e16: "1e+16", 0.00001: "1e-05", 0.25: "0.25"}
	for in, want := range tests {
		if got := string(appendNumber(nil, in)); got != want {
			t.Errorf("appendNumber(%v) = %q, want %q", in, got, want)
		}
	}
}
