package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/probe"
)

// TestStatusPort: the status port (15020) answers readiness once xDS config is in,
// serves the proxy's stats for Prometheus, and runs the app probes the injector
// moved there against the app.
func TestStatusPort(t *testing.T) {
	t.Parallel()
	app := newHTTPTestServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ready" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()
	appPort := 0
	fmt.Sscan(portOf(t, app.URL), &appPort)
	probers, err := probe.Parse([]byte(fmt.Sprintf(`{
		"/app-health/web/readyz":{"httpGet":{"path":"/ready","port":%d,"scheme":"HTTP"},"timeoutSeconds":1},
		"/app-health/web/livez":{"httpGet":{"path":"/live","port":%d}},
		"/app-health/web/startupz":{"tcpSocket":{"port":%d}}}`, appPort, appPort, appPort)))
	if err != nil {
		t.Fatal(err)
	}
	a := namedServer(t, "a")
	rs := startRefServer(t)
	port := freePort(t)
	b, err := proxy.AgentBootstrap(proxy.AgentOptions{XDS: rs.addr, NodeID: "test", AdminAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, b, proxy.Options{StatusAddress: "127.0.0.1:0", AppProbers: probers})
	status := "http://" + p.StatusAddress()
	eventually(t, statusIs(status+"/healthz/ready", http.StatusServiceUnavailable))
	rs.set(t, "1", map[resource.Type][]string{
		resource.ClusterType:  {edsCluster("svc-a")},
		resource.EndpointType: {cla("svc-a", a)},
		resource.ListenerType: {rdsListener("http", port)},
		resource.RouteType:    {routeTo("svc-a")},
	})
	eventually(t, bodyIs(status+"/healthz/ready", "LIVE\n"))
	for path, want := range map[string]int{"/app-health/web/readyz": 200, "/app-health/web/livez": 503,
		"/app-health/web/startupz": 200, "/app-health/other/readyz": 404} {
		eventually(t, statusIs(status+path, want))
	}
	eventually(t, func() string {
		resp, err := http.Get(status + "/stats/prometheus")
		if err != nil {
			return err.Error()
		}
		if body := readAll(resp); !strings.Contains(body, "envoy_cluster_manager_cds_update_success") {
			return "no cds stats in " + body
		}
		return ""
	})
}

func statusIs(url string, want int) func() string {
	return func() string {
		resp, err := http.Get(url)
		if err != nil {
			return err.Error()
		}
		readAll(resp)
		if resp.StatusCode != want {
			return fmt.Sprintf("%s: status %d, want %d", url, resp.StatusCode, want)
		}
		return ""
	}
}
