package proxy_test

import (
	"net/http"
	"testing"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestVirtualClusterStats: requests are charged to the first virtual cluster whose
// headers match, or to "other", under vhost.<vhost>.vcluster.<name>.* (the stats
// package's tag extraction gives them Envoy's envoy_virtual_host and
// envoy_virtual_cluster tags).
func TestVirtualClusterStats(t *testing.T) {
	echo := echoServer(t)
	b := bootstrapYAML(t, `
static_resources:
  listeners:
  - name: in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: in
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
          route_config:
            virtual_hosts:
            - name: shop
              domains: ["*"]
              virtual_clusters:
              - name: orders
                headers: [{name: ":path", string_match: {prefix: "/orders"}}, {name: ":method", string_match: {exact: POST}}]
              - name: catalog
                headers: [{name: ":path", string_match: {prefix: "/catalog"}}]
              routes:
              - match: {prefix: "/"}
                route: {cluster: echo}
  clusters:`+staticCluster("echo", "", echo.URL))
	p := startProxy(t, b, proxy.Options{})
	base := listenerURL(t, p, "in")
	for _, req := range []struct{ method, path string }{
		{"POST", "/orders/1"}, {"POST", "/orders/2"}, {"GET", "/orders/1"}, {"GET", "/catalog/x"}, {"GET", "/"},
	} {
		r, _ := http.NewRequest(req.method, base+req.path, nil)
		if resp, _ := getEcho(t, nil, r); resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", req.method, req.path, resp.StatusCode)
		}
	}
	eventually(t, counter(p, "vhost.shop.vcluster.orders.upstream_rq_200", 2))
	eventually(t, counter(p, "vhost.shop.vcluster.orders.upstream_rq_2xx", 2))
	eventually(t, counter(p, "vhost.shop.vcluster.orders.upstream_rq_total", 2))
	eventually(t, counter(p, "vhost.shop.vcluster.catalog.upstream_rq_completed", 1))
	eventually(t, counter(p, "vhost.shop.vcluster.other.upstream_rq_total", 2)) // GET /orders/1 and GET /
}
