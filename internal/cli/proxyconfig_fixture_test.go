package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/control/ads"
)

// fakeControl serves a fixed /debug/syncz and, for node reviews-v1-1.default, a fixed
// /debug/config_dump, as the control plane does.
func fakeControl(t *testing.T) string {
	t.Helper()
	dump := fixtureDump(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/syncz", func(w http.ResponseWriter, _ *http.Request) { writeJSONBody(t, w, fixtureSyncz()) })
	mux.HandleFunc("/debug/config_dump", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("proxyID") != "reviews-v1-1.default" {
			http.Error(w, `node "`+r.URL.Query().Get("proxyID")+`" is not connected`, http.StatusNotFound)
			return
		}
		var b []byte
		var err error
		if r.URL.Query().Get("format") == "proto" {
			b, err = proto.Marshal(dump)
		} else {
			b, err = protojson.MarshalOptions{Multiline: true}.Marshal(dump)
		}
		if err != nil {
			t.Error(err)
		}
		_, _ = w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func fixtureSyncz() []ads.SyncStatus {
	synced := ads.ResourceStatus{Sent: "n-1", Acked: "n-1", SentVersion: "v1", AckedVersion: "v1"}
	nacked := ads.ResourceStatus{Sent: "n-5", Acked: "n-2", SentVersion: "v2", AckedVersion: "v1", LastError: "bad"}
	unacked := ads.ResourceStatus{Sent: "n-6", Acked: "n-3"}
	cp := func(s ads.SyncStatus) ads.SyncStatus {
		s.ControlPlane, s.ControlPlaneVersion = "weft-control-0", "0.1.0"
		return s
	}
	return []ads.SyncStatus{
		cp(ads.SyncStatus{ProxyID: "reviews-v1-1.default", ClusterID: "Kubernetes", Resources: map[string]ads.ResourceStatus{
			ads.ClusterType: synced, ads.ListenerType: synced, ads.EndpointType: synced, ads.RouteType: synced}}),
		cp(ads.SyncStatus{ProxyID: "istio-ingressgateway-7d.istio-system", ClusterID: "Kubernetes", Resources: map[string]ads.ResourceStatus{
			ads.ClusterType: synced, ads.ListenerType: nacked, ads.EndpointType: unacked}}),
		cp(ads.SyncStatus{ProxyID: "grpc-client"}),
	}
}

func istioMeta(path string) *corev3.Metadata {
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": {Fields: map[string]*structpb.Value{
		"config": structpb.NewStringValue(path)}}}}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sockAddr(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

func fixtureClusters() []*clusterv3.Cluster {
	typed := func(name string, ty clusterv3.Cluster_DiscoveryType) *clusterv3.Cluster {
		return &clusterv3.Cluster{Name: name, ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: ty}}
	}
	reviews := typed("outbound|9080||reviews.default.svc.cluster.local", clusterv3.Cluster_EDS)
	reviews.Metadata = istioMeta("/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews")
	v1 := typed("outbound|9080|v1|reviews.default.svc.cluster.local", clusterv3.Cluster_EDS)
	v1.Metadata = reviews.Metadata
	return []*clusterv3.Cluster{
		typed("PassthroughCluster", clusterv3.Cluster_ORIGINAL_DST), typed("BlackHoleCluster", clusterv3.Cluster_STATIC),
		v1, reviews, typed("inbound|9080||", clusterv3.Cluster_ORIGINAL_DST),
		typed("outbound|443||www.googleapis.com", clusterv3.Cluster_STRICT_DNS),
		typed("outbound|80||details.default.svc.cluster.local", clusterv3.Cluster_EDS),
	}
}

func fixtureListeners(t *testing.T) []*listenerv3.Listener {
	hcm := func(route string) *listenerv3.Filter {
		return &listenerv3.Filter{Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{
			TypedConfig: mustAny(t, &hcmv3.HttpConnectionManager{StatPrefix: route, RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{
				Rds: &hcmv3.Rds{RouteConfigName: route}}})}}
	}
	tcp := func(cluster string) *listenerv3.Filter {
		return &listenerv3.Filter{Name: "envoy.filters.network.tcp_proxy", ConfigType: &listenerv3.Filter_TypedConfig{
			TypedConfig: mustAny(t, &tcpproxyv3.TcpProxy{StatPrefix: cluster, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}})}}
	}
	api := mustAny(t, &hcmv3.HttpConnectionManager{RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: "reviews:9080"}}})
	return []*listenerv3.Listener{
		{Name: "virtualOutbound", Address: sockAddr("0.0.0.0", 15001),
			FilterChains:       []*listenerv3.FilterChain{{FilterChainMatch: &listenerv3.FilterChainMatch{PrefixRanges: []*corev3.CidrRange{{AddressPrefix: "10.0.0.5", PrefixLen: wrapperspb.UInt32(32)}}}, Filters: []*listenerv3.Filter{tcp("BlackHoleCluster")}}},
			DefaultFilterChain: &listenerv3.FilterChain{Filters: []*listenerv3.Filter{tcp("PassthroughCluster")}}},
		{Name: "0.0.0.0_9080", Address: sockAddr("0.0.0.0", 9080), FilterChains: []*listenerv3.FilterChain{
			{FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: "raw_buffer", ApplicationProtocols: []string{"http/1.1", "h2c"}}, Filters: []*listenerv3.Filter{hcm("9080")}},
			{FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: "tls", ServerNames: []string{"reviews.default.svc.cluster.local"}}, Filters: []*listenerv3.Filter{tcp("outbound|9080||reviews.default.svc.cluster.local")}}}},
		{Name: "virtualInbound", Address: sockAddr("0.0.0.0", 15006), FilterChains: []*listenerv3.FilterChain{
			{FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(9080)}, Filters: []*listenerv3.Filter{hcm("inbound|9080||")}},
			{Filters: []*listenerv3.Filter{{Name: "envoy.filters.network.echo"}}}}},
		{Name: "reviews:9080", ApiListener: &listenerv3.ApiListener{ApiListener: api}},
	}
}

func fixtureRoutes() []*routev3.RouteConfiguration {
	prefix := func(p string) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
	}
	vsMeta := istioMeta("/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews")
	return []*routev3.RouteConfiguration{
		{Name: "9080", VirtualHosts: []*routev3.VirtualHost{
			{Name: "reviews.default.svc.cluster.local:9080", Domains: []string{"reviews.default.svc.cluster.local", "reviews", "reviews.default"},
				Routes: []*routev3.Route{
					{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/health"}}, Metadata: vsMeta},
					{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/v[0-9]+/.*"}}}, Metadata: vsMeta},
					{Match: prefix("/"), Metadata: vsMeta}}},
			{Name: "allow_any", Domains: []string{"*"}, Routes: []*routev3.Route{{Match: prefix("/")}}}}},
		{Name: "80", VirtualHosts: []*routev3.VirtualHost{{Name: "details.default.svc.cluster.local:80", Domains: []string{"details.default.svc.cluster.local"},
			Routes: []*routev3.Route{{Match: prefix("/")}}}}},
	}
}

func fixtureEndpoints() []*endpointv3.ClusterLoadAssignment {
	ep := func(ip string, h corev3.HealthStatus) *endpointv3.LbEndpoint {
		return &endpointv3.LbEndpoint{HealthStatus: h, HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: sockAddr(ip, 9080)}}}
	}
	return []*endpointv3.ClusterLoadAssignment{
		{ClusterName: "outbound|9080|v1|reviews.default.svc.cluster.local", Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{ep("10.1.0.7", corev3.HealthStatus_HEALTHY)}}}},
		{ClusterName: "outbound|9080||reviews.default.svc.cluster.local", Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{
			ep("10.1.0.7", corev3.HealthStatus_UNKNOWN), ep("10.1.0.8", corev3.HealthStatus_UNHEALTHY)}}}},
	}
}

func fixtureDump(t *testing.T) *adminv3.ConfigDump {
	ts := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	cds := &adminv3.ClustersConfigDump{VersionInfo: "v1"}
	for _, c := range fixtureClusters() {
		cds.DynamicActiveClusters = append(cds.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{VersionInfo: "v1", Cluster: mustAny(t, c), LastUpdated: ts})
	}
	eds := &adminv3.EndpointsConfigDump{}
	for _, e := range fixtureEndpoints() {
		eds.DynamicEndpointConfigs = append(eds.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{VersionInfo: "v1", EndpointConfig: mustAny(t, e), LastUpdated: ts})
	}
	lds := &adminv3.ListenersConfigDump{VersionInfo: "v1"}
	for _, l := range fixtureListeners(t) {
		lds.DynamicListeners = append(lds.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{Name: l.GetName(),
			ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: "v1", Listener: mustAny(t, l), LastUpdated: ts}})
	}
	rds := &adminv3.RoutesConfigDump{}
	for _, r := range fixtureRoutes() {
		rds.DynamicRouteConfigs = append(rds.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{VersionInfo: "v1", RouteConfig: mustAny(t, r), LastUpdated: ts})
	}
	return &adminv3.ConfigDump{Configs: []*anypb.Any{mustAny(t, cds), mustAny(t, eds), mustAny(t, lds), mustAny(t, rds)}}
}

func writeJSONBody(t *testing.T, w http.ResponseWriter, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Error(err)
	}
	_, _ = w.Write(b)
}
