package runtime

import (
	"errors"
	"strings"
	"sync"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// load parses a LayeredRuntime from YAML with the proxy's config loader.
func load(t *testing.T, y string) *bootstrapv3.LayeredRuntime {
	t.Helper()
	lr := &bootstrapv3.LayeredRuntime{}
	if err := config.Unmarshal([]byte(y), lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

const layered = `
layers:
- name: static
  static_layer:
    health_check:
      min_interval: 5
    upstream:
      healthy_panic_threshold: 50.7
    envoy.reloadable_features.foo: true
    fault.http.abort.percent: { numerator: 20, denominator: TEN_THOUSAND }
    plain: "hello"
    strnum: "42"
    negative: -3
    big: 4294967295
- name: admin
  admin_layer: {}
`

func TestStaticLayer(t *testing.T) {
	s, err := New(load(t, layered))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, raw string
		u        uint64
		b        bool
	}{
		{"health_check.min_interval", "5", 5, true},
		{"upstream.healthy_panic_threshold", "50.7", 50, false},
		{"envoy.reloadable_features.foo", "true", 99, true},
		{"plain", "hello", 99, false},
		{"strnum", "42", 42, true},
		{"negative", "-3", 99, true},
		{"big", "4.29497e+09", 4294967295, false},
	} {
		raw, ok := s.Get(tc.key)
		if !ok || raw != tc.raw {
			t.Errorf("Get(%q) = %q, %v; want %q", tc.key, raw, ok, tc.raw)
		}
		if got := s.Uint(tc.key, 99); got != tc.u {
			t.Errorf("Uint(%q) = %d, want %d", tc.key, got, tc.u)
		}
		if got := s.Bool(tc.key, false); got != tc.b {
			t.Errorf("Bool(%q) = %v, want %v", tc.key, got, tc.b)
		}
	}
	if _, ok := s.Get("health_check"); ok {
		t.Error("a directory is not a value")
	}
	if got := s.Double("upstream.healthy_panic_threshold", 0); got != 50.7 {
		t.Errorf("Double = %v", got)
	}
}

func TestFeatureEnabled(t *testing.T) {
	s, err := New(load(t, layered))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Modify(map[string]string{"int.percent": "30", "over": "150", "frac": "{numerator: 5, denominator: MILLION}"}); err != nil {
		t.Fatal(err)
	}
	def := FractionFromProto(&typev3.FractionalPercent{Numerator: 1, Denominator: typev3.FractionalPercent_HUNDRED})
	for _, tc := range []struct {
		key    string
		random uint64
		want   bool
	}{
		{"fault.http.abort.percent", 19, true},
		{"fault.http.abort.percent", 20, false},
		{"fault.http.abort.percent", 10019, true},
		{"int.percent", 129, true},
		{"int.percent", 130, false},
		{"over", 99, true},
		{"frac", 4, true},
		{"frac", 5, false},
		{"missing", 0, true}, // default 1/100
		{"missing", 1, false},
		{"plain", 0, true}, // not a number: default
	} {
		if got := s.FeatureEnabled(tc.key, def, tc.random); got != tc.want {
			t.Errorf("FeatureEnabled(%q, random %d) = %v, want %v", tc.key, tc.random, got, tc.want)
		}
	}
}

func TestModify(t *testing.T) {
	s, err := New(load(t, layered))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Modify(map[string]string{"health_check.min_interval": "7", "new.key": "yes please"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Uint("health_check.min_interval", 0); got != 7 {
		t.Errorf("override: %d", got)
	}
	if got, _ := s.Get("new.key"); got != "yes please" {
		t.Errorf("new.key = %q", got)
	}
	if s.AdminOverrides() != 2 {
		t.Errorf("AdminOverrides = %d", s.AdminOverrides())
	}
	if err := s.Modify(map[string]string{"health_check.min_interval": ""}); err != nil {
		t.Fatal(err)
	}
	if got := s.Uint("health_check.min_interval", 0); got != 5 {
		t.Errorf("after delete the static value shows again: %d", got)
	}
	if err := s.Modify(map[string]string{"bad": "{unclosed"}); err == nil {
		t.Error("invalid YAML accepted")
	}
	if _, ok := s.Get("bad"); ok {
		t.Error("a failed Modify changed the runtime")
	}
}

func TestDump(t *testing.T) {
	s, err := New(load(t, `
layers:
- name: base
  static_layer: {a: 1, b: {c: x}}
- name: admin
  admin_layer: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Modify(map[string]string{"a": "2", "d": "y"}); err != nil {
		t.Fatal(err)
	}
	want := `{"entries":{
		"a":{"final_value":"2","layer_values":["1","2"]},
		"b.c":{"final_value":"x","layer_values":["x",""]},
		"d":{"final_value":"y","layer_values":["","y"]}},
		"layers":["base","admin"]}`
	w := &structpb.Struct{}
	if err := protojson.Unmarshal([]byte(want), w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w.AsMap(), s.Dump().AsMap()); diff != "" {
		t.Errorf("Dump (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"layers: [{name: d, disk_layer: {symlink_root: /x}}]", "disk_layer"},
		{"layers: [{name: r, rtds_layer: {name: x}}]", "rtds_layer"},
		{"layers: [{name: a, admin_layer: {}}, {name: a, static_layer: {}}]", "duplicate layer name"},
		{"layers: [{name: a, admin_layer: {}}, {name: b, admin_layer: {}}]", "too many admin layers"},
		{"layers: [{name: s, static_layer: {k: [1, 2]}}]", "invalid runtime entry value for k"},
		{"layers: [{name: s, static_layer: {k: {j: null}}}]", "invalid runtime entry value for k.j"},
		{"layers: [{name: none}]", "layer specifier not set"},
	} {
		_, err := New(load(t, tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

func TestNullRuntime(t *testing.T) {
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Uint("x", 3); got != 3 {
		t.Errorf("Uint = %d", got)
	}
	if err := s.Modify(map[string]string{"x": "1"}); !errors.Is(err, ErrNoAdminLayer) {
		t.Errorf("Modify = %v, want ErrNoAdminLayer", err)
	}
	if got := len(s.Dump().GetFields()["layers"].GetListValue().GetValues()); got != 0 {
		t.Errorf("%d layers", got)
	}
}

func TestSupport(t *testing.T) {
	b, err := config.ParseBootstrap([]byte(`
layered_runtime:
  layers:
  - name: d
    disk_layer: {symlink_root: /srv/runtime}
`))
	if err == nil || !strings.Contains(err.Error(), "disk_layer") {
		t.Errorf("ParseBootstrap = %v, %v; want an error naming disk_layer", b, err)
	}
	if _, err := config.ParseBootstrap([]byte(layered2Bootstrap)); err != nil {
		t.Errorf("static and admin layers: %v", err)
	}
}

const layered2Bootstrap = `
layered_runtime:
  layers:
  - name: s
    static_layer: {a: 1}
  - name: admin
    admin_layer: {}
`

// TestConcurrentReads runs readers against Modify under the race detector.
func TestConcurrentReads(t *testing.T) {
	s, err := New(load(t, layered))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					s.FeatureEnabled("k", Percent(50), 7)
					s.Uint("k", 1)
				}
			}
		})
	}
	for i := range 200 {
		if err := s.Modify(map[string]string{"k": string(rune('0' + i%10))}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
