package proxy_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

func TestXDSRootCert(t *testing.T) {
	yes, no := true, false
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == proxy.EnvXDSRootCA {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, addr string
		useTLS     *bool
		root, env  string
		want       string
	}{
		{"plaintext port", "istiod.istio-system.svc:15010", nil, "", "", ""},
		{"secure port", "istiod.istio-system.svc:15012", nil, "", "", proxy.DefaultXDSRootCert},
		{"secure port, XDS_ROOT_CA", "istiod.istio-system.svc:15012", nil, "", "/etc/x/root.pem", "/etc/x/root.pem"},
		{"secure port, flag over env", "istiod:15012", nil, "/a.pem", "/etc/x/root.pem", "/a.pem"},
		{"root file given", "127.0.0.1:9000", nil, "/a.pem", "", "/a.pem"},
		{"--xds-tls", "127.0.0.1:9000", &yes, "", "", proxy.DefaultXDSRootCert},
		{"--xds-tls=false on 15012", "istiod:15012", &no, "", "", ""},
		{"--xds-tls=false with a root file", "istiod:9000", &no, "/a.pem", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := proxy.XDSRootCert(c.addr, c.useTLS, c.root, env(c.env))
			if err != nil || got != c.want {
				t.Errorf("XDSRootCert = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := proxy.XDSRootCert("istiod", nil, "", env("")); err == nil {
		t.Error("an address without a port: no error")
	}
}

// TestAgentBootstrapTLS: with a root file, the xds-grpc cluster carries the
// UpstreamTlsContext Envoy's bootstrap has for istiod, which weft's config checks
// accept: the root as trusted_ca, the host as SNI and as the SAN required (an IP
// address as an IP SAN, without SNI).
func TestAgentBootstrapTLS(t *testing.T) {
	san := func(typ tlsv3.SubjectAltNameMatcher_SanType, v string) []*tlsv3.SubjectAltNameMatcher {
		return []*tlsv3.SubjectAltNameMatcher{{SanType: typ,
			Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v}}}}
	}
	cases := []struct {
		addr, sni string
		sans      []*tlsv3.SubjectAltNameMatcher
	}{
		{"istiod.istio-system.svc:15012", "istiod.istio-system.svc", san(tlsv3.SubjectAltNameMatcher_DNS, "istiod.istio-system.svc")},
		{"127.0.0.1:15012", "", san(tlsv3.SubjectAltNameMatcher_IP_ADDRESS, "127.0.0.1")},
	}
	for _, c := range cases {
		b, err := proxy.AgentBootstrap(proxy.AgentOptions{XDS: c.addr, NodeID: "test", XDSRootCert: "/var/run/secrets/istio/root-cert.pem"})
		if err != nil {
			t.Fatal(err)
		}
		if err := config.Check(b); err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		cl := b.GetStaticResources().GetClusters()[0]
		ts := cl.GetTransportSocket()
		var got tlsv3.UpstreamTlsContext
		if cl.GetName() != "xds-grpc" || ts.GetName() != "envoy.transport_sockets.tls" || ts.GetTypedConfig().UnmarshalTo(&got) != nil {
			t.Fatalf("%s: cluster %s transport socket %v", c.addr, cl.GetName(), ts)
		}
		want := &tlsv3.UpstreamTlsContext{Sni: c.sni, CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols: []string{"h2"},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa:                 &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: "/var/run/secrets/istio/root-cert.pem"}},
				MatchTypedSubjectAltNames: c.sans,
			}},
		}}
		if d := cmp.Diff(want, &got, protocmp.Transform()); d != "" {
			t.Errorf("%s: UpstreamTlsContext (-want +got):\n%s", c.addr, d)
		}
	}
	b, err := proxy.AgentBootstrap(proxy.AgentOptions{XDS: "istiod.istio-system.svc:15010", NodeID: "test"})
	if err != nil || b.GetStaticResources().GetClusters()[0].GetTransportSocket() != nil {
		t.Errorf("plaintext: %v, transport socket %v", err, b.GetStaticResources().GetClusters()[0].GetTransportSocket())
	}
}

// TestAgentBootstrapTLSNoRoot: a proxy whose root file is missing does not start,
// and says which file.
func TestAgentBootstrapTLSNoRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "root-cert.pem")
	b, err := proxy.AgentBootstrap(proxy.AgentOptions{XDS: "127.0.0.1:15012", NodeID: "test", AdminAddress: "127.0.0.1:0",
		XDSRootCert: missing})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := proxy.New(ctx, b, proxy.Options{})
	if err == nil {
		p.Shutdown()
		t.Fatal("the proxy started without its xDS root")
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "xds-grpc") {
		t.Errorf("error %q does not name the cluster and the file", err)
	}
}
