package main

import (
	"fmt"
	"os"
	"strings"
)

// body is the 1 KiB response the origin serves, as in Istio's benchmarks.
var body = strings.Repeat("x", 1024)

// nginxConf is a foreground nginx with everything under dir; servers is the http block's
// server list.
func nginxConf(dir string, workers int, servers string) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes %d;
daemon off;
master_process on;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path %[3]s/body;
  proxy_temp_path %[3]s/proxy;
  fastcgi_temp_path %[3]s/fastcgi;
  uwsgi_temp_path %[3]s/uwsgi;
  scgi_temp_path %[3]s/scgi;
%[4]s}
`, user, workers, dir, servers)
}

// nginxOriginServer answers every request with the 1 KiB body.
func nginxOriginServer(h1, h2 int) string {
	return fmt.Sprintf(`  server {
    listen 127.0.0.1:%d;
    listen 127.0.0.1:%d http2;
    location / { return 200 "%s"; }
  }
`, h1, h2, body)
}

// nginxProxyServers proxies each hop with pooled keep-alive upstream connections, as
// weft and haproxy do.
func nginxProxyServers(hops []hop) string {
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, `  upstream up%d {
    server 127.0.0.1:%d;
    keepalive 1024;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
`, h.listen, h.to)
		switch {
		case h.grpc:
			fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d http2;\n    location / { grpc_pass grpc://up%d; }\n  }\n", h.listen, h.listen)
		default:
			h2 := ""
			if h.h2 {
				h2 = " http2"
			}
			fmt.Fprintf(&b, `  server {
    listen 127.0.0.1:%d%s;
    location / {
      proxy_pass http://up%d;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
`, h.listen, h2, h.listen)
		}
	}
	return b.String()
}

// haproxyConf is a foreground haproxy with keep-alive and connection reuse.
func haproxyConf(threads int, hops []hop) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  nbthread %d
  maxconn 8000
defaults
  mode http
  maxconn 8000
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
`, threads)
	for _, h := range hops {
		bind, server := "", ""
		if h.h2 || h.grpc {
			bind = " proto h2"
		}
		if h.grpc {
			server = " proto h2"
		}
		fmt.Fprintf(&b, "frontend f%d\n  bind 127.0.0.1:%d%s\n  default_backend b%d\n", h.listen, h.listen, bind, h.listen)
		fmt.Fprintf(&b, "backend b%d\n  server s1 127.0.0.1:%d%s\n", h.listen, h.to, server)
	}
	return b.String()
}

// weftBootstrap is an Envoy v3 bootstrap with one listener and one cluster per hop;
// profile is where the admin /cpuprofiler writes.
func weftBootstrap(admin int, profile string, hops []hop) string {
	var ls, cs strings.Builder
	for _, h := range hops {
		match := `{prefix: "/"}`
		if h.grpc {
			match = `{prefix: "/", grpc: {}}`
		}
		ls.WriteString(weftListener(fmt.Sprintf("l%d", h.listen), h.listen, fmt.Sprintf(
			`
              - match: %s
                route: {cluster: c%d, timeout: 0s}`, match, h.listen)))
		cs.WriteString(weftCluster(fmt.Sprintf("c%d", h.listen), h.grpc, []string{addr(h.to)}))
	}
	return fmt.Sprintf(`admin:
  address: {socket_address: {address: 127.0.0.1, port_value: %d}}
  profile_path: %s
static_resources:
  listeners:%s
  clusters:%s
`, admin, profile, ls.String(), cs.String())
}

// weftListener is an HTTP connection manager with the router; routes is the YAML of
// the virtual host's routes, indented to sit under "routes:".
func weftListener(name string, port int, routes string) string {
	return fmt.Sprintf(`
  - name: %[1]s
    address: {socket_address: {address: 127.0.0.1, port_value: %[2]d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: %[1]s
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            name: %[1]s
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:%[3]s`, name, port, routes)
}

// weftCluster is a STATIC cluster with circuit breakers out of the way (the
// baselines have no such limits either).
func weftCluster(name string, h2 bool, endpoints []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
  - name: %s
    connect_timeout: 1s
    type: STATIC
    circuit_breakers: {thresholds: [{max_connections: 1000000, max_pending_requests: 1000000, max_requests: 1000000}]}`, name)
	if h2 {
		b.WriteString(`
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}`)
	}
	fmt.Fprintf(&b, `
    load_assignment:
      cluster_name: %s
      endpoints:
      - lb_endpoints:`, name)
	for _, ep := range endpoints {
		host, port, _ := strings.Cut(ep, ":")
		fmt.Fprintf(&b, "\n        - endpoint: {address: {socket_address: {address: %s, port_value: %s}}}", host, port)
	}
	return b.String()
}
