package proxy

import (
	"fmt"
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// AgentOptions describe a proxy driven by a control plane, as pilot-agent starts Envoy.
type AgentOptions struct {
	// XDS is the control plane's ADS address (host:port).
	XDS string
	// XDSRootCert, when set, is a PEM file of the root the control plane's
	// certificate is verified against: ADS then goes over TLS (see XDSRootCert).
	XDSRootCert string
	// NodeID is the xDS node ID ("sidecar~10.1.0.5~reviews-v1-xxx.default~default.svc.cluster.local").
	NodeID  string
	Cluster string
	// Metadata becomes the node metadata (string values); Labels its LABELS.
	Metadata map[string]string
	Labels   map[string]string
	// AdminAddress is where the admin API listens (default 127.0.0.1:15000).
	AdminAddress string
	// Delta selects incremental xDS.
	Delta bool
	// Type is the node type of an ID built from the environment: "sidecar"
	// (default) or "router". Domain is its DNS domain (default
	// "<POD_NAMESPACE>.svc.cluster.local").
	Type   string
	Domain string
}

// AgentBootstrap builds the bootstrap of a control-plane-driven proxy: the node,
// the admin API, and ADS to the control plane through a static "xds-grpc" cluster,
// with an UpstreamTlsContext when o.XDSRootCert is set.
func AgentBootstrap(o AgentOptions) (*bootstrapv3.Bootstrap, error) {
	host, port, err := splitHostPort(o.XDS)
	if err != nil {
		return nil, fmt.Errorf("xds address %q: %w", o.XDS, err)
	}
	admHost, admPort, err := splitHostPort(orString(o.AdminAddress, "127.0.0.1:15000"))
	if err != nil {
		return nil, fmt.Errorf("admin address: %w", err)
	}
	api := corev3.ApiConfigSource_GRPC
	if o.Delta {
		api = corev3.ApiConfigSource_DELTA_GRPC
	}
	xds, err := xdsCluster(host, port, o.XDSRootCert)
	if err != nil {
		return nil, err
	}
	ads := &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion: corev3.ApiVersion_V3}
	return &bootstrapv3.Bootstrap{
		Node:  &corev3.Node{Id: o.NodeID, Cluster: orString(o.Cluster, "weft"), Metadata: nodeMetadata(o)},
		Admin: &bootstrapv3.Admin{Address: socketAddress(admHost, admPort)},
		// A sidecar sees every cluster of its scope and uses few: their traffic stats
		// wait for their first request.
		DeferredStatOptions: &bootstrapv3.Bootstrap_DeferredStatOptions{EnableDeferredCreationStats: true},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			LdsConfig: ads, CdsConfig: ads,
			AdsConfig: &corev3.ApiConfigSource{ApiType: api, TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
					EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: xdsClusterName}}}}},
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{Clusters: []*clusterv3.Cluster{xds}},
	}, nil
}

func nodeMetadata(o AgentOptions) *structpb.Struct {
	fields := map[string]*structpb.Value{}
	for k, v := range o.Metadata {
		fields[k] = structpb.NewStringValue(v)
	}
	if len(o.Labels) > 0 {
		labels := map[string]*structpb.Value{}
		for k, v := range o.Labels {
			labels[k] = structpb.NewStringValue(v)
		}
		fields["LABELS"] = structpb.NewStructValue(&structpb.Struct{Fields: labels})
	}
	return &structpb.Struct{Fields: fields}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

func splitHostPort(hp string) (string, uint32, error) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", port, err)
	}
	return host, uint32(n), nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
