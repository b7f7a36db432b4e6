package secret

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func TestServerConfigErrors(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	certs := []*tlsv3.TlsCertificate{ms.review.tlsCert()}
	withCommon := func(c *tlsv3.CommonTlsContext) *tlsv3.DownstreamTlsContext {
		if c.TlsCertificates == nil {
			c.TlsCertificates = certs
		}
		return &tlsv3.DownstreamTlsContext{CommonTlsContext: c}
	}
	tests := []struct {
		name string
		in   *tlsv3.DownstreamTlsContext
		want string
	}{
		{"unsupported field", &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificates: certs}, SessionTimeout: durationpb.New(1)}, "session_timeout"},
		{"unsupported nested field", withCommon(&tlsv3.CommonTlsContext{TlsParams: &tlsv3.TlsParameters{SignatureAlgorithms: []string{"ed25519"}}}), "common_tls_context.tls_params.signature_algorithms"},
		{"no certificate", &tlsv3.DownstreamTlsContext{}, "a server needs tls_certificates"},
		{"cipher go lacks", withCommon(&tlsv3.CommonTlsContext{TlsParams: &tlsv3.TlsParameters{CipherSuites: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-PSK-CHACHA20-POLY1305"}}}), `cipher_suites[1]: "ECDHE-PSK-CHACHA20-POLY1305" not supported`},
		{"tls13 cipher", withCommon(&tlsv3.CommonTlsContext{TlsParams: &tlsv3.TlsParameters{CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}}}), `"TLS_AES_128_GCM_SHA256" not supported`},
		{"unknown curve", withCommon(&tlsv3.CommonTlsContext{TlsParams: &tlsv3.TlsParameters{EcdhCurves: []string{"X448"}}}), `ecdh_curves[0]: "X448"`},
		{"min above max", withCommon(&tlsv3.CommonTlsContext{TlsParams: &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_3, TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_2}}), "is above tls_maximum_protocol_version"},
		{"other name san", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{
			TrustedCa:                 inline(ms.ca.pem),
			MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{SanType: tlsv3.SubjectAltNameMatcher_OTHER_NAME, Matcher: exact("x"), Oid: "1.2.3"}},
		})}), "match_typed_subject_alt_names[0].oid"},
		{"sans without ca", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{
			MatchSubjectAltNames: []*matcherv3.StringMatcher{exact("x")},
		})}), "without trusted_ca"},
		{"bad regex", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{
			TrustedCa:            inline(ms.ca.pem),
			MatchSubjectAltNames: []*matcherv3.StringMatcher{{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "("}}}},
		})}), "match_subject_alt_names[0]: safe_regex"},
		{"bad hash", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{
			VerifyCertificateHash: []string{"abcd"},
		})}), "VerifyCertificateHash[0]: value length must be at least 64"},
		{"ca not pem", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{
			TrustedCa: inlineString("nope"),
		})}), "trusted_ca: trusted_ca <inline>: no PEM certificate"},
		{"missing file", withCommon(&tlsv3.CommonTlsContext{TlsCertificates: []*tlsv3.TlsCertificate{{
			CertificateChain: file("/nonexistent/cert.pem"), PrivateKey: file("/nonexistent/key.pem"),
		}}}), "tls_certificates[0]: stat /nonexistent/cert.pem"},
		{"key mismatch", withCommon(&tlsv3.CommonTlsContext{TlsCertificates: []*tlsv3.TlsCertificate{{
			CertificateChain: inline(ms.review.certPEM), PrivateKey: inline(ms.productpage.keyPEM),
		}}}), "tls_certificates[0]: certificate_chain <inline> and private_key <inline>"},
		{"env data source", withCommon(&tlsv3.CommonTlsContext{TlsCertificates: []*tlsv3.TlsCertificate{{
			CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_EnvironmentVariable{EnvironmentVariable: "CERT"}}, PrivateKey: inline(nil),
		}}}), "environment_variable"},
		{"sds over grpc", withCommon(&tlsv3.CommonTlsContext{TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{{
			Name: "default", SdsConfig: &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Path{Path: "/etc/sds.yaml"}},
		}}}), "sds_config.path"},
		{"client cert required without validation", &tlsv3.DownstreamTlsContext{
			CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificates: certs}, RequireClientCertificate: wrapperspb.Bool(true),
		}, "require_client_certificate: needs a validation context"},
		{"combined without sds", withCommon(&tlsv3.CommonTlsContext{ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
			CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{DefaultValidationContext: &tlsv3.CertificateValidationContext{}},
		}}), "ValidationContextSdsSecretConfig: value is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.ServerConfig(tt.in)
			wantErr(t, err, tt.want)
		})
	}
}

func TestClientConfigErrors(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	tests := []struct {
		name string
		in   *tlsv3.UpstreamTlsContext
		want string
	}{
		{"two certificates", &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates: []*tlsv3.TlsCertificate{ms.productpage.tlsCert(), ms.review.tlsCert()},
		}}, "at most one certificate"},
		{"auto sni", &tlsv3.UpstreamTlsContext{AutoHostSni: true}, "auto_host_sni"},
		{"validation secret unknown", &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{ValidationContextSdsSecretConfig: &tlsv3.SdsSecretConfig{Name: "ca"}},
		}}, `validation_context_sds_secret_config: name: unknown static secret "ca"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.ClientConfig(tt.in)
			wantErr(t, err, tt.want)
		})
	}
}

func TestClientConfigFields(t *testing.T) {
	m, _ := newManager(t)
	cfg, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{
		Sni:                "reviews",
		AllowRenegotiation: true,
		MaxSessionKeys:     wrapperspb.UInt32(0),
		CommonTlsContext:   &tlsv3.CommonTlsContext{AlpnProtocols: []string{"istio"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "reviews" || cfg.Renegotiation != tls.RenegotiateFreelyAsClient || cfg.ClientSessionCache != nil {
		t.Errorf("config: server name %q, renegotiation %v, session cache %v", cfg.ServerName, cfg.Renegotiation, cfg.ClientSessionCache)
	}
	if cfg.GetClientCertificate != nil {
		t.Error("client certificate callback set without a certificate")
	}
	def, _ := m.ClientConfig(&tlsv3.UpstreamTlsContext{})
	if def.ClientSessionCache == nil || def.Renegotiation != tls.RenegotiateNever {
		t.Error("defaults: want a session cache and no renegotiation")
	}
}

func TestSetErrors(t *testing.T) {
	m, _ := newManager(t)
	tests := []struct {
		name string
		in   *tlsv3.Secret
		want string
	}{
		{"no name", &tlsv3.Secret{}, "name is required"},
		{"no type", &tlsv3.Secret{Name: "a"}, "one of tls_certificate, validation_context"},
		{"session ticket keys", &tlsv3.Secret{Name: "a", Type: &tlsv3.Secret_SessionTicketKeys{SessionTicketKeys: &tlsv3.TlsSessionTicketKeys{Keys: []*corev3.DataSource{inline(make([]byte, 80))}}}}, "session_ticket_keys"},
		{"no private key", &tlsv3.Secret{Name: "a", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{CertificateChain: inline(nil)}}}, "private_key: required"},
		{"pkcs12", &tlsv3.Secret{Name: "a", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{Pkcs12: inline([]byte{1})}}}, "pkcs12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, m.Set(tt.in), tt.want)
		})
	}
}

func TestSupportRegistered(t *testing.T) {
	for _, f := range []struct{ msg, field string }{
		{"envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", "require_client_certificate"},
		{"envoy.extensions.transport_sockets.tls.v3.CommonTlsContext", "combined_validation_context"},
		{"envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher", "san_type"},
		{"envoy.type.matcher.v3.StringMatcher", "safe_regex"},
		{"envoy.config.core.v3.DataSource", "inline_string"},
	} {
		if !config.Supported(protoreflect.FullName(f.msg), protoreflect.Name(f.field)) {
			t.Errorf("%s.%s not registered", f.msg, f.field)
		}
	}
	if config.Supported("envoy.extensions.transport_sockets.tls.v3.TlsCertificate", "pkcs12") {
		t.Error("pkcs12 registered but not implemented")
	}
}

func TestStringMatcher(t *testing.T) {
	sm := func(m *matcherv3.StringMatcher) *stringMatcher {
		c, err := compileStringMatcher(m)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	re := func(r string) *matcherv3.StringMatcher {
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: r}}}
	}
	tests := []struct {
		m    *matcherv3.StringMatcher
		in   string
		want bool
	}{
		{exact(spiffeReviews), spiffeReviews, true},
		{exact(spiffeReviews), spiffeReviews + "-v2", false},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "spiffe://cluster.local/ns/default/"}}, spiffeReviews, true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: "/sa/bookinfo-reviews"}}, spiffeReviews, true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Contains{Contains: "/ns/default/"}}, spiffeProductpage, true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "SPIFFE://A"}, IgnoreCase: true}, "spiffe://a", true},
		{&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "SPIFFE://A"}}, "spiffe://a", false},
		{re(`spiffe://cluster\.local/ns/[a-z]+/sa/bookinfo-.*`), spiffeReviews, true},
		{re(`bookinfo`), spiffeReviews, false}, // safe_regex matches the whole string
	}
	for _, tt := range tests {
		if got := sm(tt.m).match(tt.in); got != tt.want {
			t.Errorf("%v on %q = %v, want %v", tt.m, tt.in, got, tt.want)
		}
	}
}

func TestSANMatching(t *testing.T) {
	u, _ := url.Parse(spiffeReviews)
	cert := &x509.Certificate{
		DNSNames:       []string{"*.reviews.example.com", "Reviews.Default.svc"},
		URIs:           []*url.URL{u},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fd00::5")},
		EmailAddresses: []string{"reviews@example.com"},
	}
	typed := func(typ tlsv3.SubjectAltNameMatcher_SanType, m *matcherv3.StringMatcher) *tlsv3.CertificateValidationContext {
		return &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{SanType: typ, Matcher: m}}}
	}
	tests := []struct {
		name string
		vc   *tlsv3.CertificateValidationContext
		want bool
	}{
		{"uri", typed(tlsv3.SubjectAltNameMatcher_URI, exact(spiffeReviews)), true},
		{"uri is not dns", typed(tlsv3.SubjectAltNameMatcher_DNS, exact(spiffeReviews)), false},
		{"dns wildcard", typed(tlsv3.SubjectAltNameMatcher_DNS, exact("v1.reviews.example.com")), true},
		{"dns wildcard one label", typed(tlsv3.SubjectAltNameMatcher_DNS, exact("a.v1.reviews.example.com")), false},
		{"dns case", typed(tlsv3.SubjectAltNameMatcher_DNS, exact("reviews.default.SVC")), true},
		{"ip v4", typed(tlsv3.SubjectAltNameMatcher_IP_ADDRESS, exact("10.0.0.5")), true},
		{"ip v6", typed(tlsv3.SubjectAltNameMatcher_IP_ADDRESS, exact("fd00::5")), true},
		{"email", typed(tlsv3.SubjectAltNameMatcher_EMAIL, exact("reviews@example.com")), true},
		{"deprecated matches any type", &tlsv3.CertificateValidationContext{MatchSubjectAltNames: []*matcherv3.StringMatcher{exact("10.0.0.5")}}, true},
		{"deprecated no match", &tlsv3.CertificateValidationContext{MatchSubjectAltNames: []*matcherv3.StringMatcher{exact("10.0.0.6")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := compileSANMatchers(tt.vc)
			if err != nil {
				t.Fatal(err)
			}
			if got := matchSANs(cert, ms); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCipherSuites(t *testing.T) {
	got, err := cipherSuites([]string{
		"[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
		"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		"AES128-SHA",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
}
