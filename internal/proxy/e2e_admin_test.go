package proxy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(resp)
}

// TestAdminOnSeedConfig runs seed 003's bootstrap and reads the admin API as seed 003
// does: /clusters in cluster::host::stat::value form, /stats, /stats/prometheus with
// Envoy's names and tags; then POST /quitquitquit ends the proxy.
func TestAdminOnSeedConfig(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	b := loadYAML(t, "testdata/seed003-simple.yaml", func(s string) string {
		s = strings.Replace(s, "port_value: 15001", "port_value: 0", 1)
		s = strings.Replace(s, "address: 0.0.0.0, port_value: 15000", "address: 127.0.0.1, port_value: 0", 1)
		return strings.Replace(s, "port_value: 8000", "port_value: "+portOf(t, up.URL), 1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := proxy.New(ctx, b, proxy.Options{Resolver: staticResolver{"httpbin": "127.0.0.1"}, DrainTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go func() { p.Run(ctx); close(ran) }()
	admin := "http://" + p.AdminAddress()
	resp, err := http.Get(listenerURL(t, p, "httpbin-demo") + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)

	host := "127.0.0.1:" + portOf(t, up.URL)
	_, clusters := get(t, admin+"/clusters")
	for _, want := range []string{
		"httpbin_service::observability_name::httpbin_service\n",
		"httpbin_service::default_priority::max_connections::1024\n",
		"httpbin_service::high_priority::max_retries::3\n",
		"httpbin_service::added_via_api::false\n",
		"httpbin_service::" + host + "::rq_success::1\n",
		"httpbin_service::" + host + "::rq_total::1\n",
		"httpbin_service::" + host + "::hostname::httpbin\n",
		"httpbin_service::" + host + "::health_flags::healthy\n",
		"httpbin_service::" + host + "::success_rate::-1.0\n",
	} {
		if !strings.Contains(clusters, want) {
			t.Errorf("/clusters lacks %q:\n%s", want, clusters)
		}
	}
	eventually(t, func() string {
		_, s := get(t, admin+"/stats?filter=httpbin_service.upstream_rq_total")
		if s != "cluster.httpbin_service.upstream_rq_total: 1\n" {
			return "/stats filter: " + s
		}
		return ""
	})
	// The connection manager counts a response once it is written: the client may
	// read it first.
	eventually(t, func() string {
		_, prom := get(t, admin+"/stats/prometheus")
		if !strings.Contains(prom, `envoy_cluster_upstream_rq_total{envoy_cluster_name="httpbin_service"} 1`) {
			return "/stats/prometheus lacks the cluster counter with its tag"
		}
		if !strings.Contains(prom, `envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 1`) {
			return "/stats/prometheus lacks downstream_rq_xx with its tags"
		}
		return ""
	})
	_, srv := get(t, admin+"/stats?filter=^server\\.(live|concurrency)$")
	if srv != "server.concurrency: 2\nserver.live: 1\n" {
		t.Errorf("server stats: %q", srv)
	}
	if code, _ := get(t, admin+"/ready"); code != 200 {
		t.Errorf("/ready = %d", code)
	}
	if code, _ := get(t, admin+"/quitquitquit"); code != 405 {
		t.Errorf("GET /quitquitquit = %d, want 405", code)
	}
	resp, err = http.Post(admin+"/quitquitquit", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "OK\n" {
		t.Errorf("POST /quitquitquit body %q", body)
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("proxy still running after /quitquitquit")
	}
}
