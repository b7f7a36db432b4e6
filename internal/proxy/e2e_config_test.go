package proxy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

// hcmListener is a listener on an ephemeral port with one http_connection_manager;
// routes is the YAML of its virtual hosts' routes list, extra is added to the HCM.
func hcmListener(name, routes, extra string) string {
	return fmt.Sprintf(`
  - name: %s
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: %s
%s
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
%s`, name, name, indent(extra, 10), indent(routes, 14))
}

// staticCluster is a STATIC cluster of the given host:port endpoints; extra is added.
func staticCluster(name string, extra string, endpoints ...string) string {
	var eps strings.Builder
	for _, e := range endpoints {
		host, port, _ := strings.Cut(strings.TrimPrefix(e, "http://"), ":")
		fmt.Fprintf(&eps, "\n          - endpoint: {address: {socket_address: {address: %s, port_value: %s}}}", host, port)
	}
	return fmt.Sprintf(`
  - name: %s
    connect_timeout: 1s
    type: STATIC
%s
    load_assignment:
      cluster_name: %s
      endpoints:
      - lb_endpoints:%s`, name, indent(extra, 4), name, eps.String())
}

// bootstrapOf builds and checks a bootstrap from listener and cluster YAML.
func bootstrapOf(t testing.TB, listeners, clusters string) *bootstrapv3.Bootstrap {
	t.Helper()
	y := "static_resources:\n  listeners:" + listeners + "\n  clusters:" + clusters + "\n"
	if clusters == "" {
		y = "static_resources:\n  listeners:" + listeners + "\n"
	}
	b, err := config.ParseBootstrap([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return b
}

func indent(s string, n int) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}

// bootstrapYAML parses and checks a whole bootstrap.
func bootstrapYAML(t *testing.T, y string) *bootstrapv3.Bootstrap {
	t.Helper()
	b, err := config.ParseBootstrap([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return b
}

// TestDeferredStatOptions: the bootstrap's deferred_stat_options leave an idle
// cluster's traffic stats out of the store until the cluster carries traffic.
func TestDeferredStatOptions(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		b := bootstrapYAML(t, fmt.Sprintf(`
deferred_stat_options: {enable_deferred_creation_stats: %v}
static_resources:
  clusters:
  - name: idle
    type: STATIC
    load_assignment: {cluster_name: idle, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}`, deferred))
		p := startProxy(t, b, proxy.Options{})
		present := false
		for _, c := range p.Stats.Snapshot().Counters {
			present = present || c.Name() == "cluster.idle.upstream_rq_total"
		}
		if present == deferred {
			t.Errorf("deferred %v: cluster.idle.upstream_rq_total present %v", deferred, present)
		}
	}
}

// TestUnsupportedClusterFields: cluster fields weft does not apply are errors naming
// the field, not silently accepted.
func TestUnsupportedClusterFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ extra, want string }{
		{"circuit_breakers: {thresholds: [{max_connection_pools: 2}]}", "max_connection_pools: field not supported"},
		{"common_http_protocol_options: {max_stream_duration: 1s}", "common_http_protocol_options.max_stream_duration: not supported on clusters"},
		{"http2_protocol_options: {initial_stream_window_size: 65536}", "http2_protocol_options.initial_stream_window_size: not supported on clusters"},
		{`typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    common_http_protocol_options: {max_connection_duration: 60s}
    explicit_http_config: {http_protocol_options: {}}`, "common_http_protocol_options.max_connection_duration: not supported on clusters"},
	} {
		y := "static_resources:\n  clusters:" + staticCluster("c", tt.extra, "127.0.0.1:1") + "\n"
		b, err := config.ParseBootstrap([]byte(y))
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			var p *proxy.Proxy
			if p, err = proxy.New(ctx, b, proxy.Options{}); err == nil {
				go p.Run(ctx)
			}
			cancel()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.extra, err, tt.want)
		}
	}
}

// TestHTTP3CodecRejected: an HTTP/3 connection manager is an error naming the field,
// not an HTTP/1-or-2 one in disguise.
func TestHTTP3CodecRejected(t *testing.T) {
	t.Parallel()
	b := bootstrapOf(t, hcmListener("l", echoRoute, "codec_type: HTTP3"), staticCluster("echo", "", "127.0.0.1:1"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := proxy.New(ctx, b, proxy.Options{}); err == nil || !strings.Contains(err.Error(), "codec_type: HTTP3") {
		t.Errorf("error %v, want one naming codec_type: HTTP3", err)
	}
}
