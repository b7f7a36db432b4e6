package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

// refServer is go-control-plane's own ADS server with a snapshot cache: an xDS server
// weft did not write, to check the client against.
type refServer struct {
	cache cachev3.SnapshotCache
	addr  string
	mu    sync.Mutex
	nacks []string
	stop  func()
}

func startRefServer(t *testing.T) *refServer { return startRefServerAt(t, "127.0.0.1:0") }

func startRefServerAt(t *testing.T, addr string) *refServer {
	t.Helper()
	rs := &refServer{cache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)}
	nack := func(msg string) {
		rs.mu.Lock()
		rs.nacks = append(rs.nacks, msg)
		rs.mu.Unlock()
	}
	cb := serverv3.CallbackFuncs{
		StreamRequestFunc: func(_ int64, r *discoveryv3.DiscoveryRequest) error {
			if r.GetErrorDetail() != nil {
				nack(r.GetErrorDetail().GetMessage())
			}
			return nil
		},
		StreamDeltaRequestFunc: func(_ int64, r *discoveryv3.DeltaDiscoveryRequest) error {
			if r.GetErrorDetail() != nil {
				nack(r.GetErrorDetail().GetMessage())
			}
			return nil
		},
	}
	srv := serverv3.NewServer(context.Background(), rs.cache, cb)
	gs := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(gs, srv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	rs.addr = ln.Addr().String()
	rs.stop = gs.Stop
	return rs
}

func (rs *refServer) nackCount() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.nacks)
}

// set publishes a snapshot for node "test".
func (rs *refServer) set(t *testing.T, version string, res map[resource.Type][]string) {
	t.Helper()
	out := map[resource.Type][]types.Resource{}
	for typ, docs := range res {
		for _, y := range docs {
			var m proto.Message
			switch typ {
			case resource.ClusterType:
				m = &clusterv3.Cluster{}
			case resource.EndpointType:
				m = &endpointv3.ClusterLoadAssignment{}
			case resource.ListenerType:
				m = &listenerv3.Listener{}
			case resource.RouteType:
				m = &routev3.RouteConfiguration{}
			}
			if err := config.Unmarshal([]byte(y), m); err != nil {
				t.Fatalf("%v\n%s", err, y)
			}
			out[typ] = append(out[typ], m.(types.Resource))
		}
	}
	snap, err := cachev3.NewSnapshot(version, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.cache.SetSnapshot(context.Background(), "test", snap); err != nil {
		t.Fatal(err)
	}
}

func xdsBootstrap(t *testing.T, server string) string { return xdsBootstrapAPI(t, server, "GRPC") }

func xdsBootstrapAPI(t *testing.T, server, api string) string {
	host, port, _ := net.SplitHostPort(server)
	return fmt.Sprintf(`
node: {id: test, cluster: test}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
dynamic_resources:
  ads_config: {api_type: %s, transport_api_version: V3, grpc_services: [{envoy_grpc: {cluster_name: xds-grpc}}]}
  lds_config: {ads: {}, resource_api_version: V3}
  cds_config: {ads: {}, resource_api_version: V3}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: xds-grpc, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: %s, port_value: %s}}}}]}]}
`, api, host, port)
}

func edsCluster(name string) string {
	return "name: " + name + "\ntype: EDS\nconnect_timeout: 1s\neds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}"
}

func cla(name string, addrs ...string) string {
	var eps []string
	for _, a := range addrs {
		h, p, _ := net.SplitHostPort(a)
		eps = append(eps, fmt.Sprintf("{endpoint: {address: {socket_address: {address: %s, port_value: %s}}}}", h, p))
	}
	return "cluster_name: " + name + "\nendpoints: [{lb_endpoints: [" + strings.Join(eps, ", ") + "]}]"
}

func rdsListener(name string, port int) string {
	return fmt.Sprintf(`name: %s
address: {socket_address: {address: 127.0.0.1, port_value: %d}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: %s
      rds: {route_config_name: local, config_source: {ads: {}, resource_api_version: V3}}
      http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]`, name, port, name)
}

func routeTo(cluster string) string {
	return `name: local
virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster: ` + cluster + `}}]}]`
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestXDSClient drives the proxy from go-control-plane's ADS server: the proxy starts
// with no listeners, gets clusters, endpoints, a listener and its routes, serves; an
// update moves traffic; a bad update is NACKed and the proxy keeps serving its last
// good config; losing the control plane loses nothing.
func TestXDSClient(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"GRPC", "DELTA_GRPC"} {
		t.Run(api, func(t *testing.T) { testXDSClient(t, api) })
	}
}

func testXDSClient(t *testing.T, api string) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	rs := startRefServer(t)
	port := freePort(t)
	rs.set(t, "1", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a"), edsCluster("svc-b")},
		resource.EndpointType: {cla("svc-a", a), cla("svc-b", b)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-a")},
	})
	p := startProxy(t, bootstrapYAML(t, xdsBootstrapAPI(t, rs.addr, api)), proxy.Options{})
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	eventually(t, bodyIs(url, "a"))
	eventually(t, func() string {
		if code, body := get(t, "http://"+p.AdminAddress()+"/ready"); code != 200 {
			return fmt.Sprintf("/ready = %d %q after the first config", code, body)
		}
		return ""
	})

	rs.set(t, "2", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a"), edsCluster("svc-b")},
		resource.EndpointType: {cla("svc-a", a), cla("svc-b", b)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-b")},
	})
	eventually(t, bodyIs(url, "b"))

	// An update the proxy cannot take (an unsupported field) is NACKed; traffic goes on.
	rs.set(t, "3", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a"), edsCluster("svc-b") + "\nupstream_connection_options: {tcp_keepalive: {keepalive_time: 30}}"},
		resource.EndpointType: {cla("svc-a", a), cla("svc-b", b)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-b")},
	})
	eventually(t, func() string {
		if rs.nackCount() == 0 {
			return "no NACK for an unsupported field"
		}
		return ""
	})
	eventually(t, func() string {
		if p.Stats.Counter("cluster_manager.cds.update_rejected").Value() == 0 {
			return "update_rejected not counted"
		}
		return ""
	})
	eventually(t, bodyIs(url, "b"))
	if got := p.Stats.TextReadout("cluster_manager.cds.version_text").Value(); got == "3" {
		t.Errorf("cds version_text %q: the rejected version was recorded as accepted", got)
	}

	// The control plane goes away: traffic goes on. A new one at the same address
	// takes over and its config is followed.
	rs.stop()
	eventually(t, func() string {
		if p.Stats.Gauge("control_plane.connected_state").Value() != 0 {
			return "still connected"
		}
		return ""
	})
	for i := 0; i < 20; i++ {
		if msg := bodyIs(url, "b")(); msg != "" {
			t.Fatalf("without a control plane: %s", msg)
		}
	}
	rs2 := startRefServerAt(t, rs.addr)
	rs2.set(t, "4", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a")},
		resource.EndpointType: {cla("svc-a", a)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-a")},
	})
	eventuallyWithin(t, 10*time.Second, bodyIs(url, "a"))
	eventually(t, func() string {
		if p.Clusters.Cluster("svc-b") != nil {
			return "cluster svc-b still there after the new control plane dropped it"
		}
		return ""
	})
}

func bodyIs(url, want string) func() string {
	return func() string {
		c := &http.Client{Timeout: time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return err.Error()
		}
		if got := readAll(resp); got != want {
			return fmt.Sprintf("body %q, want %q", got, want)
		}
		return ""
	}
}

// TestAgentBootstrap: the bootstrap weft proxy --xds writes passes config checks and
// drives the proxy from the control plane.
func TestAgentBootstrap(t *testing.T) {
	t.Parallel()
	a := namedServer(t, "a")
	rs := startRefServer(t)
	port := freePort(t)
	rs.set(t, "1", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a")},
		resource.EndpointType: {cla("svc-a", a)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-a")},
	})
	b, err := proxy.AgentBootstrap(proxy.AgentOptions{XDS: rs.addr, NodeID: "test", AdminAddress: "127.0.0.1:0",
		Metadata: map[string]string{"NAMESPACE": "default"}, Labels: map[string]string{"app": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := config.Check(b); err != nil {
		t.Fatal(err)
	}
	hp := freePort(t)
	startProxy(t, b, proxy.Options{HealthAddress: fmt.Sprintf("127.0.0.1:%d", hp)})
	eventually(t, bodyIs(fmt.Sprintf("http://127.0.0.1:%d/", port), "a"))
	eventually(t, bodyIs(fmt.Sprintf("http://127.0.0.1:%d/healthz/ready", hp), "LIVE\n"))
}
