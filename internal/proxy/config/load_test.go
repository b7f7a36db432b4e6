package config

import (
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// TestDurationObjects accepts durations written as objects, as Envoy's loader does.
func TestDurationObjects(t *testing.T) {
	in := `virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c,
  timeout: {seconds: 30}, idle_timeout: {nanos: 500000000}, retry_policy: {per_try_timeout: {seconds: 1, nanos: 5}}}}]}]`
	out, err := durationsAsStrings([]byte(in), (&routev3.RouteConfiguration{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"timeout":"30s"`, `"idle_timeout":"0.5s"`, `"per_try_timeout":"1.000000005s"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s not in %s", want, out)
		}
	}
}

func TestUnmarshalDurationObject(t *testing.T) {
	rc := &routev3.RouteConfiguration{}
	err := Unmarshal([]byte(`virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c, timeout: {seconds: 2, nanos: 500000000}}}]}]`), rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetTimeout().AsDuration().String(); got != "2.5s" {
		t.Errorf("timeout %s, want 2.5s", got)
	}
}
