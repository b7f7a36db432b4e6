package config

import (
	"errors"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func init() {
	Support(&bootstrapv3.Bootstrap{}, "static_resources")
	Support(&bootstrapv3.Bootstrap_StaticResources{}, "clusters", "listeners")
	Support(&clusterv3.Cluster{}, "name", "connect_timeout")
	Support(&listenerv3.Listener{}, "name", "filter_chains")
	Support(&listenerv3.FilterChain{}, "filters")
	Support(&listenerv3.Filter{}, "name", "typed_config")
}

func TestCheckNamesPathAndType(t *testing.T) {
	b := &bootstrapv3.Bootstrap{StaticResources: &bootstrapv3.Bootstrap_StaticResources{
		Clusters: []*clusterv3.Cluster{
			{Name: "ok", ConnectTimeout: durationpb.New(1)},
			{Name: "bad", OutlierDetection: &clusterv3.OutlierDetection{}},
		},
	}}
	err := Check(b)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want an UnsupportedError", err)
	}
	if ue.Path != "static_resources.clusters[1].outlier_detection" || ue.TypeURL != "type.googleapis.com/envoy.config.cluster.v3.Cluster" {
		t.Errorf("path %q type %q", ue.Path, ue.TypeURL)
	}
}

func TestCheckUnpacksAny(t *testing.T) {
	inner, _ := anypb.New(&corev3.Http1ProtocolOptions{AllowAbsoluteUrl: nil, AcceptHttp_10: true})
	l := &listenerv3.Listener{Name: "l", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{
		{Name: "x", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: inner}},
	}}}}
	err := Check(l)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Path != "filter_chains[0].filters[0].typed_config" ||
		ue.TypeURL != "type.googleapis.com/envoy.config.core.v3.Http1ProtocolOptions" {
		t.Errorf("err = %v", err)
	}
}
