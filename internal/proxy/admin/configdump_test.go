package admin

import (
	"net/http"
	"strings"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
)

// configDump fetches target and returns the dump's configs, unpacked.
func (f *fixture) configDump(t *testing.T, target string) []proto.Message {
	t.Helper()
	rec := f.do(t, "GET", target)
	expect(t, rec, http.StatusOK, contentTypeJSON)
	d := &adminv3.ConfigDump{}
	unmarshal(t, rec, d)
	var out []proto.Message
	for _, a := range d.GetConfigs() {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func typeNames(msgs []proto.Message) []string {
	var names []string
	for _, m := range msgs {
		names = append(names, string(m.ProtoReflect().Descriptor().Name()))
	}
	return names
}

func TestConfigDumpAll(t *testing.T) {
	f := newFixture(t)
	msgs := f.configDump(t, "/config_dump")
	want := []string{"BootstrapConfigDump", "ClustersConfigDump", "ListenersConfigDump", "RoutesConfigDump", "ScopedRoutesConfigDump", "SecretsConfigDump"}
	if diff := cmp.Diff(want, typeNames(msgs)); diff != "" {
		t.Fatalf("config types (-want +got):\n%s", diff)
	}
	boot := msgs[0].(*adminv3.BootstrapConfigDump)
	if boot.GetBootstrap().GetNode().GetId() != f.bootstrap.GetNode().GetId() || !boot.GetLastUpdated().AsTime().Equal(testStart) {
		t.Errorf("bootstrap dump: %v", boot)
	}
	cl := msgs[1].(*adminv3.ClustersConfigDump)
	if len(cl.GetStaticClusters()) != 1 || len(cl.GetDynamicActiveClusters()) != 2 {
		t.Fatalf("clusters: %v", cl)
	}
	c := &clusterv3.Cluster{}
	if err := cl.GetStaticClusters()[0].GetCluster().UnmarshalTo(c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.bootstrap.GetStaticResources().GetClusters()[0], c, protocmp.Transform()); diff != "" {
		t.Errorf("static cluster (-want +got):\n%s", diff)
	}
	if !cl.GetStaticClusters()[0].GetLastUpdated().AsTime().Equal(testStart) {
		t.Errorf("static cluster last_updated %v", cl.GetStaticClusters()[0].GetLastUpdated())
	}
	ls := msgs[2].(*adminv3.ListenersConfigDump)
	l := &listenerv3.Listener{}
	if len(ls.GetStaticListeners()) != 1 || ls.GetStaticListeners()[0].GetListener().UnmarshalTo(l) != nil || l.GetName() != "ingress" {
		t.Errorf("listeners: %v", ls)
	}
	rt := msgs[3].(*adminv3.RoutesConfigDump)
	rc := &routev3.RouteConfiguration{}
	if len(rt.GetStaticRouteConfigs()) != 1 || rt.GetStaticRouteConfigs()[0].GetRouteConfig().UnmarshalTo(rc) != nil || rc.GetName() != "local_route" {
		t.Errorf("routes: %v", rt)
	}
	checkSecrets(t, msgs[5].(*adminv3.SecretsConfigDump))
	// The bootstrap's copy of the secret is redacted too, and the live config is not.
	if got := boot.GetBootstrap().GetStaticResources().GetSecrets()[0].GetTlsCertificate().GetPrivateKey().GetInlineString(); got != "[redacted]" {
		t.Errorf("bootstrap private key %q", got)
	}
	if got := f.bootstrap.GetStaticResources().GetSecrets()[0].GetTlsCertificate().GetPrivateKey().GetInlineString(); got != "very secret key" {
		t.Errorf("the dump changed the live bootstrap: %q", got)
	}
}

func checkSecrets(t *testing.T, d *adminv3.SecretsConfigDump) {
	t.Helper()
	if len(d.GetStaticSecrets()) != 1 || d.GetStaticSecrets()[0].GetName() != "server-cert" {
		t.Fatalf("secrets: %v", d)
	}
	s := &tlsv3.Secret{}
	if err := d.GetStaticSecrets()[0].GetSecret().UnmarshalTo(s); err != nil {
		t.Fatal(err)
	}
	tc := s.GetTlsCertificate()
	if tc.GetPrivateKey().GetInlineString() != "[redacted]" || tc.GetCertificateChain().GetInlineString() != "not really a certificate" {
		t.Errorf("secret not redacted as Envoy does: %v", tc)
	}
}

func TestConfigDumpIncludeEDS(t *testing.T) {
	f := newFixture(t)
	msgs := f.configDump(t, "/config_dump?include_eds")
	if got := typeNames(msgs); len(got) != 7 || got[2] != "EndpointsConfigDump" {
		t.Fatalf("config types %v", got)
	}
	eds := msgs[2].(*adminv3.EndpointsConfigDump)
	if len(eds.GetStaticEndpointConfigs()) != 1 || len(eds.GetDynamicEndpointConfigs()) != 2 {
		t.Fatalf("endpoints: %v", eds)
	}
	cla := &endpointv3.ClusterLoadAssignment{}
	if err := eds.GetStaticEndpointConfigs()[0].GetEndpointConfig().UnmarshalTo(cla); err != nil {
		t.Fatal(err)
	}
	if cla.GetClusterName() != "backend" || len(cla.GetEndpoints()) != 1 || len(cla.GetEndpoints()[0].GetLbEndpoints()) != 2 {
		t.Fatalf("backend endpoints: %v", cla)
	}
	second := cla.GetEndpoints()[0].GetLbEndpoints()[1]
	if second.GetLoadBalancingWeight().GetValue() != 3 || second.GetEndpoint().GetAddress().GetSocketAddress().GetPortValue() != 8082 ||
		cla.GetPolicy().GetOverprovisioningFactor().GetValue() != 140 || cla.GetEndpoints()[0].GetLocality().GetSubZone() != "rack1" {
		t.Errorf("backend endpoints: %v", cla)
	}
	if err := eds.GetDynamicEndpointConfigs()[1].GetEndpointConfig().UnmarshalTo(cla); err != nil || cla.GetClusterName() != "outbound|9080||reviews.default.svc.cluster.local" {
		t.Errorf("EDS cluster is named by its service name: %v %v", cla, err)
	}
}

func TestConfigDumpResource(t *testing.T) {
	f := newFixture(t)
	msgs := f.configDump(t, "/config_dump?resource=dynamic_active_clusters")
	var names []string
	for _, m := range msgs {
		dc := m.(*adminv3.ClustersConfigDump_DynamicCluster)
		c := &clusterv3.Cluster{}
		if err := dc.GetCluster().UnmarshalTo(c); err != nil {
			t.Fatal(err)
		}
		names = append(names, c.GetName())
	}
	if diff := cmp.Diff([]string{"dynamic", "reviews"}, names); diff != "" {
		t.Errorf("dynamic_active_clusters (-want +got):\n%s", diff)
	}
	msgs = f.configDump(t, "/config_dump?resource=static_listeners")
	if len(msgs) != 1 || typeNames(msgs)[0] != "StaticListener" {
		t.Errorf("static_listeners: %v", typeNames(msgs))
	}
}

// TestConfigDumpMask checks FieldMask trimming: on each tracker's message, and with
// resource on each element, reaching into its Any.
func TestConfigDumpMask(t *testing.T) {
	f := newFixture(t)
	msgs := f.configDump(t, "/config_dump?resource=static_clusters&mask=cluster.name,cluster.alt_stat_name")
	want := &adminv3.ClustersConfigDump_StaticCluster{Cluster: mustAny(t, &clusterv3.Cluster{Name: "backend", AltStatName: "backend_stats"})}
	if len(msgs) != 1 {
		t.Fatalf("%d configs", len(msgs))
	}
	if diff := cmp.Diff(want, msgs[0], protocmp.Transform()); diff != "" {
		t.Errorf("masked static cluster (-want +got):\n%s", diff)
	}
	msgs = f.configDump(t, "/config_dump?mask=static_clusters")
	if got := typeNames(msgs); len(got) != 1 || got[0] != "ClustersConfigDump" {
		t.Fatalf("mask=static_clusters kept %v", got)
	}
	cl := msgs[0].(*adminv3.ClustersConfigDump)
	if len(cl.GetStaticClusters()) != 1 || len(cl.GetDynamicActiveClusters()) != 0 {
		t.Errorf("mask=static_clusters: %v", cl)
	}
	msgs = f.configDump(t, "/config_dump?resource=static_clusters&mask=last_updated")
	if sc := msgs[0].(*adminv3.ClustersConfigDump_StaticCluster); sc.GetCluster() != nil || sc.GetLastUpdated() == nil {
		t.Errorf("mask=last_updated: %v", sc)
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConfigDumpNameRegex(t *testing.T) {
	f := newFixture(t)
	msgs := f.configDump(t, "/config_dump?name_regex=back.*&include_eds")
	cl := msgs[1].(*adminv3.ClustersConfigDump)
	if len(cl.GetStaticClusters()) != 1 || len(cl.GetDynamicActiveClusters()) != 0 {
		t.Errorf("clusters: %v", cl)
	}
	if eds := msgs[2].(*adminv3.EndpointsConfigDump); len(eds.GetStaticEndpointConfigs()) != 1 || len(eds.GetDynamicEndpointConfigs()) != 0 {
		t.Errorf("endpoints: %v", eds)
	}
	if ls := msgs[3].(*adminv3.ListenersConfigDump); len(ls.GetStaticListeners()) != 0 {
		t.Errorf("listener ingress matched back.*: %v", ls)
	}
	// The regex must match the whole name.
	cl = f.configDump(t, "/config_dump?name_regex=back")[1].(*adminv3.ClustersConfigDump)
	if len(cl.GetStaticClusters()) != 0 {
		t.Errorf("name_regex=back matched backend")
	}
	// Blank fields from the home page's form are ignored.
	if got := typeNames(f.configDump(t, "/config_dump?resource=&mask=&name_regex=")); len(got) != 6 {
		t.Errorf("blank parameters: %v", got)
	}
	msgs = f.configDump(t, "/config_dump?resource=static_route_configs&name_regex=local_route")
	if len(msgs) != 1 {
		t.Errorf("routes matched by name: %d", len(msgs))
	}
}

func TestConfigDumpErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		target string
		code   int
		body   string
	}{
		{"/config_dump?resource=nope", 404, "nope not found in config dump"},
		{"/config_dump?resource=version_info", 400, "version_info is not a repeated field. Use ?mask=version_info to get only this field"},
		{"/config_dump?mask=bogus", 400, "FieldMask bogus could not be successfully applied to any configs."},
		{"/config_dump?resource=static_clusters&mask=cluster.bogus", 400, "FieldMask paths: \"cluster.bogus\"\n could not be successfully used."},
		{"/config_dump?name_regex=(", 400, "INVALID_ARGUMENT: Error while parsing name_regex from (: error parsing regexp: missing closing ): `(`"},
	} {
		rec := f.do(t, "GET", tc.target)
		expect(t, rec, tc.code, contentTypeText)
		if rec.Body.String() != tc.body {
			t.Errorf("%s: body %q, want %q", tc.target, rec.Body, tc.body)
		}
	}
}

// TestConfigDumpJSON checks the printed form: proto field names, type URLs, Envoy's
// one-space indentation.
func TestConfigDumpJSON(t *testing.T) {
	f := newFixture(t)
	body := f.do(t, "GET", "/config_dump").Body.String()
	for _, want := range []string{
		"{\n \"configs\": [\n  {\n   \"@type\": \"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\",",
		`"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"`,
		`"static_clusters": [`,
		`"last_updated": "2024-06-13T04:12:41Z"`,
		`"private_key": {`,
		`"inline_string": "[redacted]"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("config dump lacks %q", want)
		}
	}
}
