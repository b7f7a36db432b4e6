package proxy_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

// rateLimitFilter is the HTTP local rate limit's http_filters item with config cfg
// (YAML flow, inside the typed_config braces).
func rateLimitFilter(cfg string) string {
	return `- name: envoy.filters.http.local_ratelimit
  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, ` + cfg + `}`
}

const rateLimitOn = `filter_enabled: {runtime_key: rl_enabled, default_value: {numerator: 100}},
    filter_enforced: {runtime_key: rl_enforced, default_value: {numerator: 100}}`

// TestHTTPLocalRateLimit: once the bucket is empty requests get 429 with RL and the
// configured headers; after the fill interval they pass again.
func TestHTTPLocalRateLimit(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	logCfg, logPath := flagLog(t)
	cfg := `stat_prefix: http_local_rate_limiter, ` + rateLimitOn + `,
    token_bucket: {max_tokens: 2, tokens_per_fill: 1, fill_interval: 2s},
    enable_x_ratelimit_headers: DRAFT_VERSION_03,
    response_headers_to_add: [{header: {key: x-local-rate-limit, value: "true"}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}]`
	b := bootstrapOf(t, filtersListener("l", rateLimitFilter(cfg), echoRoute, logCfg), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	var codes []int
	for range 3 {
		code, _, _ := fetch(t, nil, url+"/a")
		codes = append(codes, code)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("three requests on a bucket of two: %v, want 200 200 429", codes)
	}
	resp, err := http.Get(url + "/b")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || string(body) != "local_rate_limited" || resp.Header.Get("X-Local-Rate-Limit") != "true" ||
		resp.Header.Get("X-Ratelimit-Limit") != "2" || resp.Header.Get("X-Ratelimit-Remaining") != "0" {
		t.Errorf("limited response: %d %q headers %v", resp.StatusCode, body, resp.Header)
	}
	// Denied requests take no token: the bucket refills within its interval.
	start := time.Now()
	for {
		code, _, _ := fetch(t, nil, url+"/c")
		if code == 200 {
			break
		}
		if time.Since(start) > 8*time.Second {
			t.Fatal("no request passed 8s after the bucket emptied (a token every 2s)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	logHas(t, logPath, "/a 429 RL")
	logHas(t, logPath, "/c 200 -")
	eventually(t, counter(p, "http_local_rate_limiter.http_local_rate_limit.ok", 3))
	eventually(t, func() string {
		en, ok := p.Stats.Counter("http_local_rate_limiter.http_local_rate_limit.enforced").Value(), p.Stats.Counter("http_local_rate_limiter.http_local_rate_limit.rate_limited").Value()
		if en < 2 || en != ok {
			return "enforced and rate_limited should match and count every 429"
		}
		return ""
	})
}

// TestHTTPLocalRateLimitPerRoute: the filter is on only where a route configures it,
// and each route config has a bucket of its own.
func TestHTTPLocalRateLimitPerRoute(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	perRoute := func(prefix string) string {
		return `
- match: {prefix: "` + prefix + `"}
  route: {cluster: echo}
  typed_per_filter_config:
    envoy.filters.http.local_ratelimit:
      "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
      stat_prefix: route` + strings.Trim(prefix, "/") + `
      token_bucket: {max_tokens: 1, tokens_per_fill: 1, fill_interval: 60s}
      filter_enabled: {default_value: {numerator: 100}}
      filter_enforced: {default_value: {numerator: 100}}`
	}
	routes := perRoute("/one") + perRoute("/two") + echoRoute
	b := bootstrapOf(t, filtersListener("l", rateLimitFilter("stat_prefix: global"), routes, ""), staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	var got []int
	for _, path := range []string{"/one", "/one", "/two", "/two", "/", "/", "/"} {
		code, _, _ := fetch(t, nil, url+path)
		got = append(got, code)
	}
	want := []int{200, 429, 200, 429, 200, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("codes %v, want %v", got, want)
		}
	}
	eventually(t, counter(p, "routeone.http_local_rate_limit.enforced", 1))
	eventually(t, counter(p, "routetwo.http_local_rate_limit.enforced", 1))
}

// TestNetworkLocalRateLimit: connections beyond the bucket are closed at once, before
// tcp_proxy sees them, and counted.
func TestNetworkLocalRateLimit(t *testing.T) {
	t.Parallel()
	up := echoTCP(t)
	l := `
  - name: tcp
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
          stat_prefix: tcp_rl
          token_bucket: {max_tokens: 2, tokens_per_fill: 1, fill_interval: 60s}
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tcp
          cluster: echo`
	b := bootstrapOf(t, l, staticCluster("echo", "", up.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "tcp"), "http://")
	var echoed []bool
	for range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "ping")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		if err != nil && strings.Contains(err.Error(), "timeout") {
			t.Fatal("a connection was neither served nor closed")
		}
		echoed = append(echoed, err == nil && string(buf) == "ping")
	}
	if !echoed[0] || !echoed[1] || echoed[2] || echoed[3] {
		t.Errorf("echoes %v: want the first two connections served, the rest closed", echoed)
	}
	eventually(t, counter(p, "local_rate_limit.tcp_rl.rate_limited", 2))
	eventually(t, counter(p, "tcp.tcp.downstream_cx_total", 2))
}

// TestUnsupportedResilienceFields: what the filters do not implement is an error
// naming the field, never ignored.
func TestFaultRateLimitUnsupportedFields(t *testing.T) {
	t.Parallel()
	tests := []struct{ listener, want string }{
		{filtersListener("l", faultFilter(`, response_rate_limit: {fixed_limit: {limit_kbps: 1}, percentage: {numerator: 100}}`), echoRoute, ""),
			"response_rate_limit: field not supported"},
		{filtersListener("l", rateLimitFilter(`stat_prefix: x, local_rate_limit_per_downstream_connection: true`), echoRoute, ""),
			"local_rate_limit_per_downstream_connection: field not supported"},
		{filtersListener("l", rateLimitFilter(`stat_prefix: x, rate_limits: [{actions: [{source_cluster: {}}]}]`), echoRoute, ""),
			"source_cluster: field not supported"},
		{`
  - name: tcp
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
          stat_prefix: x
          share_key: shared
          token_bucket: {max_tokens: 1, fill_interval: 1s}
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: echo}`,
			"share_key: field not supported"},
	}
	for _, tt := range tests {
		_, err := config.ParseBootstrap([]byte("static_resources:\n  listeners:" + tt.listener + "\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
}
