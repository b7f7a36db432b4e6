package proxy

import (
	"fmt"
	"net"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Secure xDS, as pilot-agent dials istiod.
const (
	// SecureXDSPort is istiod's xDS port over TLS: an --xds address with this port is
	// dialled over TLS unless told otherwise.
	SecureXDSPort = 15012
	// DefaultXDSRootCert is where the injector mounts the ConfigMap
	// istio-ca-root-cert, whose root-cert.pem the control plane's certificate is
	// verified against.
	DefaultXDSRootCert = "/var/run/secrets/istio/root-cert.pem"
	// EnvXDSRootCA is pilot-agent's variable naming another file for that root.
	EnvXDSRootCA = "XDS_ROOT_CA"
)

// XDSRootCert decides whether ADS to addr goes over TLS, and returns the root
// certificate file to verify the control plane with, or "" for plaintext. useTLS is
// what --xds-tls said (nil when not given); rootCert is --xds-root-cert. Without
// --xds-tls, TLS is used when addr's port is 15012 or a root file is given. The
// root file is rootCert, else $XDS_ROOT_CA, else DefaultXDSRootCert.
func XDSRootCert(addr string, useTLS *bool, rootCert string, getenv func(string) string) (string, error) {
	_, port, err := splitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("xds address %q: %w", addr, err)
	}
	secure := port == SecureXDSPort || rootCert != ""
	if useTLS != nil {
		secure = *useTLS
	}
	if !secure {
		return "", nil
	}
	for _, path := range []string{rootCert, getenv(EnvXDSRootCA)} {
		if path != "" {
			return path, nil
		}
	}
	return DefaultXDSRootCert, nil
}

// xdsTransportSocket is the xds-grpc cluster's TLS, as Envoy's bootstrap writes it
// for istiod: ALPN h2, the server verified against the root file, and its
// certificate required to name the host dialled (a DNS name, also the SNI, or an IP
// address), as pilot-agent requires of istiod.
func xdsTransportSocket(host, rootCert string) (*corev3.TransportSocket, error) {
	san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS,
		Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: host}}}
	sni := host
	if net.ParseIP(host) != nil {
		san.SanType, sni = tlsv3.SubjectAltNameMatcher_IP_ADDRESS, ""
	}
	tc, err := anypb.New(&tlsv3.UpstreamTlsContext{Sni: sni, CommonTlsContext: &tlsv3.CommonTlsContext{
		AlpnProtocols: []string{"h2"},
		ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:                 &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: rootCert}},
			MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
		}},
	}})
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tc}}, nil
}

// xdsCluster is the static cluster ADS is dialled through (Istio's "xds-grpc"), with
// TLS when rootCert is set. A host name (the istiod Service's) makes it STRICT_DNS,
// as in Istio's bootstrap; an IP address STATIC.
func xdsCluster(host string, port uint32, rootCert string) (*clusterv3.Cluster, error) {
	typ := clusterv3.Cluster_STRICT_DNS
	if net.ParseIP(host) != nil {
		typ = clusterv3.Cluster_STATIC
	}
	c := &clusterv3.Cluster{
		Name:                 xdsClusterName,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: typ},
		ConnectTimeout:       durationpb.New(time.Second),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: xdsClusterName, Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
				Endpoint: &endpointv3.Endpoint{Address: socketAddress(host, port)}}}}}}},
	}
	if rootCert == "" {
		return c, nil
	}
	ts, err := xdsTransportSocket(host, rootCert)
	if err != nil {
		return nil, fmt.Errorf("xds TLS: %w", err)
	}
	c.TransportSocket = ts
	return c, nil
}

// xdsClusterName is the static cluster of the control plane, as Istio names it.
const xdsClusterName = "xds-grpc"
