package proxy

import (
	"fmt"
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

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
	target, err := p.adsTarget(ads)
	if err != nil {
		return xdsclient.Options{}, false, fmt.Errorf("dynamic_resources.ads_config.grpc_services: %w", err)
	}
	return xdsclient.Options{
		Target: target, Node: p.bootstrap.GetNode(), Delta: delta, Clusters: p.Clusters, Listeners: p.Listeners,
		Routes: p.Routes, Secrets: p.Secrets, Runtime: p.Runtime, Stats: p.Stats, Log: p.log,
	}, true, nil
}

// adsTarget finds the control plane's address: a google_grpc target_uri, or the first
// endpoint of the static cluster an envoy_grpc service names (Istio's "xds-grpc").
func (p *Proxy) adsTarget(ads *corev3.ApiConfigSource) (string, error) {
	if len(ads.GetGrpcServices()) != 1 {
		return "", fmt.Errorf("exactly one grpc service is required")
	}
	gs := ads.GetGrpcServices()[0]
	if g := gs.GetGoogleGrpc(); g != nil {
		return g.GetTargetUri(), nil
	}
	name := gs.GetEnvoyGrpc().GetClusterName()
	for _, c := range p.bootstrap.GetStaticResources().GetClusters() {
		if c.GetName() != name {
			continue
		}
		for _, lle := range c.GetLoadAssignment().GetEndpoints() {
			for _, le := range lle.GetLbEndpoints() {
				host, port, err := config.SocketAddress(le.GetEndpoint().GetAddress())
				if err != nil {
					return "", err
				}
				return net.JoinHostPort(host, strconv.Itoa(int(port))), nil
			}
		}
		return "", fmt.Errorf("cluster %q has no endpoint", name)
	}
	return "", fmt.Errorf("envoy_grpc cluster %q is not a static cluster of the bootstrap", name)
}
