package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/xdsclient"
)

func init() {
	config.Support(&bootstrapv3.Bootstrap_DynamicResources{}, "lds_config", "cds_config", "ads_config")
	config.Support(&corev3.ApiConfigSource{}, "api_type", "transport_api_version", "grpc_services",
		"set_node_on_first_message_only")
	config.Support(&corev3.GrpcService{}, "envoy_grpc", "google_grpc", "timeout")
	config.Support(&corev3.GrpcService_EnvoyGrpc{}, "cluster_name")
	config.Support(&corev3.GrpcService_GoogleGrpc{}, "target_uri", "stat_prefix")
}

// xdsOptions reads the bootstrap's dynamic_resources: ADS over gRPC, with LDS and CDS
// from ADS. It returns false when the bootstrap is static only.
func (p *Proxy) xdsOptions() (xdsclient.Options, bool, error) {
	dr := p.bootstrap.GetDynamicResources()
	if dr == nil {
		return xdsclient.Options{}, false, nil
	}
	ads := dr.GetAdsConfig()
	if ads == nil {
		return xdsclient.Options{}, false, fmt.Errorf("dynamic_resources.ads_config: weft's xDS client speaks ADS only")
	}
	for name, cs := range map[string]*corev3.ConfigSource{"lds_config": dr.GetLdsConfig(), "cds_config": dr.GetCdsConfig()} {
		if cs != nil && cs.GetAds() == nil {
			return xdsclient.Options{}, false, fmt.Errorf("dynamic_resources.%s: only ads is supported", name)
		}
	}
	delta := false
	switch ads.GetApiType() {
	case corev3.ApiConfigSource_GRPC:
	case corev3.ApiConfigSource_DELTA_GRPC:
		delta = true
	default:
		return xdsclient.Options{}, false, fmt.Errorf("dynamic_resources.ads_config.api_type: %s is not supported", ads.GetApiType())
	}
	target, tlsConfig, err := p.adsTarget(ads)
	if err != nil {
		return xdsclient.Options{}, false, fmt.Errorf("dynamic_resources.ads_config.grpc_services: %w", err)
	}
	return xdsclient.Options{
		Target: target, TLS: tlsConfig, Node: p.bootstrap.GetNode(), Delta: delta, Clusters: p.Clusters, Listeners: p.Listeners,
		Routes: p.Routes, Secrets: p.Secrets, Runtime: p.Runtime, Stats: p.Stats, Log: p.log,
	}, true, nil
}

// adsTarget finds the control plane's address: a google_grpc target_uri, or the first
// endpoint of the static cluster an envoy_grpc service names (Istio's "xds-grpc"),
// with the TLS config of that cluster's transport socket (nil for plaintext).
func (p *Proxy) adsTarget(ads *corev3.ApiConfigSource) (string, *tls.Config, error) {
	if len(ads.GetGrpcServices()) != 1 {
		return "", nil, fmt.Errorf("exactly one grpc service is required")
	}
	gs := ads.GetGrpcServices()[0]
	if g := gs.GetGoogleGrpc(); g != nil {
		return g.GetTargetUri(), nil, nil
	}
	name := gs.GetEnvoyGrpc().GetClusterName()
	for _, c := range p.bootstrap.GetStaticResources().GetClusters() {
		if c.GetName() != name {
			continue
		}
		tlsConfig, err := p.adsTLS(c.GetTransportSocket())
		if err != nil {
			return "", nil, fmt.Errorf("cluster %q: transport_socket: %w", name, err)
		}
		for _, lle := range c.GetLoadAssignment().GetEndpoints() {
			for _, le := range lle.GetLbEndpoints() {
				host, port, err := config.SocketAddress(le.GetEndpoint().GetAddress())
				if err != nil {
					return "", nil, err
				}
				return net.JoinHostPort(host, strconv.Itoa(int(port))), tlsConfig, nil
			}
		}
		return "", nil, fmt.Errorf("cluster %q has no endpoint", name)
	}
	return "", nil, fmt.Errorf("envoy_grpc cluster %q is not a static cluster of the bootstrap", name)
}

// adsTLS is the client TLS config of the ADS cluster's transport socket, built as
// for any cluster (the validation context's trusted_ca file is watched), or nil
// for plaintext.
func (p *Proxy) adsTLS(ts *corev3.TransportSocket) (*tls.Config, error) {
	if ts == nil {
		return nil, nil
	}
	var uc tlsv3.UpstreamTlsContext
	switch url := ts.GetTypedConfig().GetTypeUrl(); url {
	case "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer":
		return nil, nil
	case "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext":
		if err := ts.GetTypedConfig().UnmarshalTo(&uc); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: not supported for the xDS connection", url)
	}
	return p.Secrets.ClientConfig(&uc)
}
