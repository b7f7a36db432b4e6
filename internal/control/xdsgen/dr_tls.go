package xdsgen

import (
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// applyTLS originates TLS for tls modes SIMPLE and MUTUAL with certificates from files.
// ISTIO_MUTUAL needs workload certificates from a CA over SDS, which weft does not have
// yet: while no PeerAuthentication asks for STRICT mTLS, such clusters stay plaintext
// (the servers accept plaintext too); with one, it is an error.
func (g *gen) applyTLS(c *clusterv3.Cluster, svc *mesh.Service, tls *networking.ClientTLSSettings, path string) *policyErr {
	switch tls.GetMode() {
	case networking.ClientTLSSettings_DISABLE:
		return nil
	case networking.ClientTLSSettings_ISTIO_MUTUAL:
		if ns, name, strict := g.strictPeerAuthentication(); strict {
			return &policyErr{path + ".mode", "ISTIO_MUTUAL needs workload certificates from a CA over SDS, which weft control " +
				"does not serve yet (PeerAuthentication " + ns + "/" + name + " asks for STRICT mTLS)"}
		}
		return nil
	case networking.ClientTLSSettings_MUTUAL:
		if tls.GetClientCertificate() == "" || tls.GetPrivateKey() == "" {
			return &policyErr{path, "MUTUAL needs clientCertificate and privateKey file paths"}
		}
	}
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{}, Sni: tls.GetSni()}
	if ctx.Sni == "" && !strings.HasPrefix(svc.Hostname, "*") {
		ctx.Sni = svc.Hostname
	}
	if tls.GetClientCertificate() != "" {
		ctx.CommonTlsContext.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(tls.GetClientCertificate()), PrivateKey: fileSource(tls.GetPrivateKey()),
		}}
	}
	if !tls.GetInsecureSkipVerify().GetValue() {
		ca := tls.GetCaCertificates()
		if ca == "" || ca == "system" {
			ca = g.systemCA()
		}
		ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{
			ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: fileSource(ca), MatchTypedSubjectAltNames: sanMatchers(tls.GetSubjectAltNames()),
			},
		}
	}
	c.TransportSocket = &corev3.TransportSocket{Name: tlsSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}
	return nil
}

func (g *gen) systemCA() string {
	if g.opts.SystemCA != "" {
		return g.opts.SystemCA
	}
	return DefaultSystemCA
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}

// sanMatchers matches subject alt names exactly: SPIFFE IDs as URIs, the rest as DNS names.
func sanMatchers(sans []string) []*tlsv3.SubjectAltNameMatcher {
	var out []*tlsv3.SubjectAltNameMatcher
	for _, s := range sans {
		t := tlsv3.SubjectAltNameMatcher_DNS
		if strings.Contains(s, "://") {
			t = tlsv3.SubjectAltNameMatcher_URI
		}
		out = append(out, &tlsv3.SubjectAltNameMatcher{SanType: t,
			Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}})
	}
	return out
}

// strictPeerAuthentication reports the first PeerAuthentication that asks for STRICT mTLS.
func (g *gen) strictPeerAuthentication() (ns, name string, strict bool) {
	for _, c := range g.snap.List(config.PeerAuthentication) {
		pa, ok := c.Spec.(*security.PeerAuthentication)
		if !ok {
			continue
		}
		if pa.GetMtls().GetMode() == security.PeerAuthentication_MutualTLS_STRICT {
			return c.Namespace, c.Name, true
		}
		for _, pm := range pa.GetPortLevelMtls() {
			if pm.GetMode() == security.PeerAuthentication_MutualTLS_STRICT {
				return c.Namespace, c.Name, true
			}
		}
	}
	return "", "", false
}
