package ads

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestMetricsExposed(t *testing.T) {
	h := newHarness(t)
	h.mesh.setVirtualServices(2)
	c := h.sotw(node("app", "ns1"))
	r1 := c.subscribe(ListenerType)
	c.ack(r1)
	h.configChanged(func(m map[string]fakeService) {
		m["d.ns1.svc.cluster.local"] = fakeService{namespace: "ns1", port: 8080}
	})
	c.nack(c.recv(), r1.GetVersionInfo(), "rejected")
	h.waitSync("app.ns1", ListenerType, func(r ResourceStatus) bool { return r.LastError != "" })
	body := h.get("/metrics")
	for _, want := range []string{
		`pilot_xds{version="1.31.0"} 1`,
		`pilot_xds_pushes{type="lds"} 2`,
		`pilot_xds_push_time_bucket{type="lds",le="0.01"}`,
		`pilot_proxy_convergence_time_count 1`,
		`pilot_proxy_queue_time_count 1`,
		`pilot_push_triggers{type="config"} 1`,
		`pilot_debounce_time_count 1`,
		`pilot_total_xds_rejects{type="lds"} 1`,
		`pilot_xds_config_size_bytes_bucket{type="lds",le="10000"} 2`,
		`pilot_services 4`,
		`pilot_virt_services 2`,
		`pilot_inbound_updates{type="config"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestDebugEndpoints(t *testing.T) {
	h := newHarness(t)
	v := h.s.Snapshot().Version
	h.mesh.setVirtualServices(1)
	h.configChanged(func(map[string]fakeService) {})
	h.waitRebuild(v)
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	c.ack(c.subscribe(EndpointType, clusterA), clusterA)
	c.ack(c.subscribe(ListenerType))
	c.ack(c.subscribe(RouteType, "80"), "80")
	h.waitSync("app.ns1", RouteType, synced)

	var ads AdsClients
	mustJSON(t, h.get("/debug/adsz"), &ads)
	if ads.Total != 1 || ads.Connected[0].NodeID != node("app", "ns1").GetId() {
		t.Fatalf("adsz = %+v", ads)
	}
	wantWatches := map[string][]string{ClusterType: {"*"}, EndpointType: {clusterA}, ListenerType: {"*"}, RouteType: {"80"}}
	if diff := cmp.Diff(wantWatches, ads.Connected[0].Watches); diff != "" {
		t.Errorf("adsz watches (-want +got):\n%s", diff)
	}

	st := h.syncz()[0]
	if st.ClusterID != "Kubernetes" || st.ProxyType != "sidecar" || st.ClusterSent == "" || st.ClusterSent != st.ClusterAcked ||
		st.ControlPlane != "weft-control-test" || st.IstioVersion != "1.31.0" {
		t.Errorf("syncz = %+v", st)
	}

	var cfg []configObject
	mustJSON(t, h.get("/debug/configz"), &cfg)
	if len(cfg) != 1 || cfg[0].Kind != "VirtualService" || cfg[0].APIVersion != "networking.istio.io/v1" || cfg[0].Metadata.Name != "vs0" {
		t.Errorf("configz = %+v", cfg)
	}

	var reg []serviceView
	mustJSON(t, h.get("/debug/registryz"), &reg)
	if len(reg) != 3 || reg[2].Hostname != "c.ns2.svc.cluster.local" || len(reg[2].Endpoints) != 2 || reg[2].Ports[0].Port != 9080 {
		t.Errorf("registryz = %+v", reg)
	}
}

func TestConfigDump(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r := c.subscribe(ClusterType)
	c.ack(r)
	c.ack(c.subscribe(EndpointType, clusterA), clusterA)
	c.ack(c.subscribe(ListenerType))
	c.ack(c.subscribe(RouteType, "80"), "80")
	h.waitSync("app.ns1", RouteType, synced)

	for _, id := range []string{"app.ns1", node("app", "ns1").GetId()} {
		var dump adminv3.ConfigDump
		if err := protojson.Unmarshal([]byte(h.get("/debug/config_dump?proxyID="+id)), &dump); err != nil {
			t.Fatal(err)
		}
		if n := len(dump.GetConfigs()); n != 4 {
			t.Fatalf("%s: %d sections, want 4", id, n)
		}
		var clusters adminv3.ClustersConfigDump
		if err := dump.GetConfigs()[0].UnmarshalTo(&clusters); err != nil {
			t.Fatal(err)
		}
		dc := clusters.GetDynamicActiveClusters()
		if len(dc) != 2 || dc[0].GetVersionInfo() != r.GetVersionInfo() || clusters.GetVersionInfo() != r.GetVersionInfo() {
			t.Errorf("clusters dump = %v", &clusters)
		}
		var eds adminv3.EndpointsConfigDump
		if err := dump.GetConfigs()[1].UnmarshalTo(&eds); err != nil || len(eds.GetDynamicEndpointConfigs()) != 1 {
			t.Errorf("endpoints dump = %v, %v", &eds, err)
		}
	}

	var dump adminv3.ConfigDump
	if err := proto.Unmarshal([]byte(h.get("/debug/config_dump?proxyID=app.ns1&format=proto")), &dump); err != nil || len(dump.GetConfigs()) != 4 {
		t.Errorf("binary dump: %d sections, %v", len(dump.GetConfigs()), err)
	}
	for path, code := range map[string]int{"/debug/config_dump": http.StatusBadRequest, "/debug/config_dump?proxyID=nobody": http.StatusNotFound} {
		resp, err := h.http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
