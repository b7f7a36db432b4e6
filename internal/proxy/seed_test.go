package proxy_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestSeed003Simple runs seed 003's ch3/simple.yaml with its upstream pointed at a local
// server and checks what the seed shows Envoy doing: x-request-id and
// x-envoy-expected-rq-timeout-ms 15000 at the upstream, Host rewritten to the
// endpoint's hostname by auto_host_rewrite.
func TestSeed003Simple(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	b := loadYAML(t, "testdata/seed003-simple.yaml", func(s string) string {
		s = strings.Replace(s, "port_value: 15001", "port_value: 0", 1)
		s = strings.Replace(s, "port_value: 15000", "port_value: 0", 1)
		return strings.Replace(s, "port_value: 8000", "port_value: "+portOf(t, up.URL), 1)
	})
	p := startProxy(t, b, proxy.Options{Resolver: staticResolver{"httpbin": "127.0.0.1"}})
	req, _ := http.NewRequest("GET", listenerURL(t, p, "httpbin-demo")+"/headers", nil)
	resp, e := getEcho(t, nil, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := e.Headers["Host"]; got != "httpbin" {
		t.Errorf("Host at upstream = %q, want httpbin (auto_host_rewrite)", got)
	}
	if got := e.Headers["X-Envoy-Expected-Rq-Timeout-Ms"]; got != "15000" {
		t.Errorf("X-Envoy-Expected-Rq-Timeout-Ms = %q, want 15000", got)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if got := e.Headers["X-Request-Id"]; !uuid.MatchString(got) {
		t.Errorf("X-Request-Id = %q, want a UUID", got)
	}
	if got := resp.Header.Get("Server"); got != "envoy" {
		t.Errorf("Server = %q, want envoy", got)
	}
	if resp.Header.Get("X-Envoy-Upstream-Service-Time") == "" {
		t.Error("no x-envoy-upstream-service-time")
	}
	eventually(t, counter(p, "cluster.httpbin_service.upstream_rq_200", 1))
	eventually(t, counter(p, "http.ingress_http.downstream_rq_2xx", 1))
	eventually(t, counter(p, "listener.0.0.0.0_0.http.ingress_http.downstream_rq_2xx", 1))
}
