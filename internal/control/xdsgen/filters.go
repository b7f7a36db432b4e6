package xdsgen

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	httpinspv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/http_inspector/v3"
	origdstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Extension names, as Envoy and Istio spell them.
const (
	hcmFilter      = "envoy.filters.network.http_connection_manager"
	tcpProxyFilter = "envoy.filters.network.tcp_proxy"
	routerFilter   = "envoy.filters.http.router"
	faultFilter    = "envoy.filters.http.fault"
	origDstFilter  = "envoy.filters.listener.original_dst"
	tlsInspector   = "envoy.filters.listener.tls_inspector"
	httpInspector  = "envoy.filters.listener.http_inspector"
	tlsSocket      = "envoy.transport_sockets.tls"
)

// httpProtocols are the application protocols http_inspector reports for plaintext HTTP.
var httpProtocols = []string{"http/1.1", "http/1.0", "h2c"}

// toAny packs m. Marshalling a generated message cannot fail, so a failure is a bug.
func toAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic("xdsgen: packing " + string(m.ProtoReflect().Descriptor().FullName()) + ": " + err.Error())
	}
	return a
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func u32(v uint32) *wrapperspb.UInt32Value { return wrapperspb.UInt32(v) }

// socketAddress is an Envoy TCP socket address.
func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

// adsSource is the config source that says "over the same ADS stream".
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

func listenerFilter(name string, m proto.Message) *listenerv3.ListenerFilter {
	return &listenerv3.ListenerFilter{Name: name, ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(m)}}
}

func originalDst() *listenerv3.ListenerFilter {
	return listenerFilter(origDstFilter, &origdstv3.OriginalDst{})
}

func tlsInspectorFilter() *listenerv3.ListenerFilter {
	return listenerFilter(tlsInspector, &tlsinspv3.TlsInspector{})
}

func httpInspectorFilter() *listenerv3.ListenerFilter {
	return listenerFilter(httpInspector, &httpinspv3.HttpInspector{})
}

func networkFilter(name string, m proto.Message) *listenerv3.Filter {
	return &listenerv3.Filter{Name: name, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(m)}}
}

// tcpProxy forwards a connection to one cluster.
func tcpProxy(statPrefix, cluster string) *listenerv3.Filter {
	return networkFilter(tcpProxyFilter, &tcpv3.TcpProxy{
		StatPrefix:       statPrefix,
		ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: cluster},
	})
}

// weightedTCPProxy forwards a connection to one of several clusters by weight.
func weightedTCPProxy(statPrefix string, clusters []weighted) *listenerv3.Filter {
	if len(clusters) == 1 {
		return tcpProxy(statPrefix, clusters[0].name)
	}
	wc := &tcpv3.TcpProxy_WeightedCluster{}
	for _, c := range clusters {
		wc.Clusters = append(wc.Clusters, &tcpv3.TcpProxy_WeightedCluster_ClusterWeight{Name: c.name, Weight: c.weight})
	}
	return networkFilter(tcpProxyFilter, &tcpv3.TcpProxy{
		StatPrefix:       statPrefix,
		ClusterSpecifier: &tcpv3.TcpProxy_WeightedClusters{WeightedClusters: wc},
	})
}

// weighted is a cluster with its share of traffic.
type weighted struct {
	name   string
	weight uint32
}

// httpManager describes one HTTP connection manager.
type httpManager struct {
	statPrefix string
	rc         *routev3.RouteConfiguration // the routes, by RDS name or inline
	inline     bool
	fault      bool // put the fault filter before the router
	gateway    bool // edge proxy: trust the remote address
}

// filter builds the connection manager's network filter.
func (h httpManager) filter() *listenerv3.Filter {
	m := &hcmv3.HttpConnectionManager{
		StatPrefix:        h.statPrefix,
		CodecType:         hcmv3.HttpConnectionManager_AUTO,
		HttpFilters:       httpFilters(h.fault),
		UseRemoteAddress:  wrapperspb.Bool(h.gateway),
		GenerateRequestId: wrapperspb.Bool(true),
		UpgradeConfigs:    []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}},
	}
	if h.inline {
		m.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: h.rc}
	} else {
		m.RouteSpecifier = &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: adsSource(), RouteConfigName: h.rc.GetName(),
		}}
	}
	return networkFilter(hcmFilter, m)
}

// Configs every generation uses, packed once. Generated resources share them and
// must not be changed.
var (
	routerConfig        = toAny(&routerv3.Router{})
	emptyFaultConfig    = toAny(&faultv3.HTTPFault{})
	previousHostsConfig = toAny(&previoushostsv3.PreviousHostsPredicate{})
)

// httpFilters is the HTTP filter chain: the fault filter when a route injects faults
// (it does nothing without a route's typed_per_filter_config), then the router.
func httpFilters(fault bool) []*hcmv3.HttpFilter {
	var out []*hcmv3.HttpFilter
	if fault {
		out = append(out, &hcmv3.HttpFilter{Name: faultFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: emptyFaultConfig}})
	}
	return append(out, &hcmv3.HttpFilter{Name: routerFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: routerConfig}})
}

// usesFault reports whether any route of rc carries a fault filter config.
func usesFault(rc *routev3.RouteConfiguration) bool {
	for _, vh := range rc.GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if _, ok := r.GetTypedPerFilterConfig()[faultFilter]; ok {
				return true
			}
		}
	}
	return false
}
