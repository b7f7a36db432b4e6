package secret

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// mesh is a CA with a productpage (client) and a reviews (server) workload.
type mesh struct {
	ca                  *testCA
	productpage, review leaf
}

func newMesh(t *testing.T) mesh {
	ca := newCA(t, "cluster.local root")
	return mesh{
		ca:          ca,
		productpage: ca.issue(t, leafOpts{uris: []string{spiffeProductpage}}),
		review:      ca.issue(t, leafOpts{uris: []string{spiffeReviews}, dns: []string{"reviews.default.svc.cluster.local"}}),
	}
}

// serverCtx is the inbound side of reviews: mTLS, wanting productpage's identity.
func (ms mesh) serverCtx(sans ...string) *tlsv3.DownstreamTlsContext {
	return &tlsv3.DownstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates:       []*tlsv3.TlsCertificate{ms.review.tlsCert()},
			ValidationContextType: withValidation(validation(ms.ca, sans...)),
			AlpnProtocols:         []string{"h2", "http/1.1"},
		},
		RequireClientCertificate: wrapperspb.Bool(true),
	}
}

// clientCtx is productpage's outbound side to reviews.
func (ms mesh) clientCtx(sans ...string) *tlsv3.UpstreamTlsContext {
	return &tlsv3.UpstreamTlsContext{
		Sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates:       []*tlsv3.TlsCertificate{ms.productpage.tlsCert()},
			ValidationContextType: withValidation(validation(ms.ca, sans...)),
			AlpnProtocols:         []string{"h2"},
		},
	}
}

func buildPair(t *testing.T, m *Manager, d *tlsv3.DownstreamTlsContext, u *tlsv3.UpstreamTlsContext) (*tls.Config, *tls.Config) {
	t.Helper()
	s, err := m.ServerConfig(d)
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	c, err := m.ClientConfig(u)
	if err != nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	return s, c
}

func TestMutualTLS(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	for _, maxVersion := range []tlsv3.TlsParameters_TlsProtocol{tlsv3.TlsParameters_TLSv1_2, tlsv3.TlsParameters_TLSv1_3} {
		t.Run(maxVersion.String(), func(t *testing.T) {
			u := ms.clientCtx(spiffeReviews)
			u.CommonTlsContext.TlsParams = &tlsv3.TlsParameters{TlsMaximumProtocolVersion: maxVersion}
			s, c := buildPair(t, m, ms.serverCtx(spiffeProductpage), u)
			r := mustHandshake(t, s, c)
			if got := r.server.PeerCertificates[0].URIs[0].String(); got != spiffeProductpage {
				t.Errorf("server saw client %s", got)
			}
			if got := r.client.PeerCertificates[0].URIs[0].String(); got != spiffeReviews {
				t.Errorf("client saw server %s", got)
			}
			if r.client.NegotiatedProtocol != "h2" {
				t.Errorf("alpn %q, want h2", r.client.NegotiatedProtocol)
			}
			if r.server.ServerName != u.Sni {
				t.Errorf("server saw sni %q", r.server.ServerName)
			}
		})
	}
}

func TestSANMismatch(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	t.Run("server rejects client", func(t *testing.T) {
		s, c := buildPair(t, m, ms.serverCtx("spiffe://cluster.local/ns/default/sa/bookinfo-details"), ms.clientCtx())
		r := handshake(t, s, c)
		if !errors.Is(r.serverErr, ErrSANMismatch) {
			t.Errorf("server error %v, want ErrSANMismatch", r.serverErr)
		}
		if r.clientErr == nil {
			t.Error("client did not see the rejection")
		}
	})
	t.Run("client rejects server", func(t *testing.T) {
		s, c := buildPair(t, m, ms.serverCtx(), ms.clientCtx(spiffeProductpage))
		r := handshake(t, s, c)
		if !errors.Is(r.clientErr, ErrSANMismatch) {
			t.Errorf("client error %v, want ErrSANMismatch", r.clientErr)
		}
		wantErr(t, r.clientErr, "URI:"+spiffeReviews)
	})
}

func TestWrongCA(t *testing.T) {
	ms := newMesh(t)
	other := newCA(t, "other root")
	m, _ := newManager(t)
	t.Run("client cert from another ca", func(t *testing.T) {
		u := ms.clientCtx()
		u.CommonTlsContext.TlsCertificates[0] = other.issue(t, leafOpts{uris: []string{spiffeProductpage}}).tlsCert()
		s, c := buildPair(t, m, ms.serverCtx(spiffeProductpage), u)
		if r := handshake(t, s, c); !errors.Is(r.serverErr, ErrUntrusted) {
			t.Errorf("server error %v, want ErrUntrusted", r.serverErr)
		}
	})
	t.Run("client trusts another ca", func(t *testing.T) {
		u := ms.clientCtx()
		u.CommonTlsContext.ValidationContextType = withValidation(validation(other, spiffeReviews))
		s, c := buildPair(t, m, ms.serverCtx(), u)
		if r := handshake(t, s, c); !errors.Is(r.clientErr, ErrUntrusted) {
			t.Errorf("client error %v, want ErrUntrusted", r.clientErr)
		}
	})
	t.Run("accept untrusted still matches sans", func(t *testing.T) {
		vc := validation(other, spiffeReviews)
		vc.TrustChainVerification = tlsv3.CertificateValidationContext_ACCEPT_UNTRUSTED
		u := ms.clientCtx()
		u.CommonTlsContext.ValidationContextType = withValidation(vc)
		s, c := buildPair(t, m, ms.serverCtx(), u)
		mustHandshake(t, s, c)
	})
}

func TestMissingClientCertificate(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	u := ms.clientCtx()
	u.CommonTlsContext.TlsCertificates = nil
	s, c := buildPair(t, m, ms.serverCtx(), u)
	if r := handshake(t, s, c); r.serverErr == nil {
		t.Error("server accepted a client without certificate")
	}

	d := ms.serverCtx(spiffeProductpage)
	d.RequireClientCertificate = nil // asked for, verified if given, not required
	s, c = buildPair(t, m, d, u)
	if r := mustHandshake(t, s, c); len(r.server.PeerCertificates) != 0 {
		t.Error("server saw a client certificate")
	}
}

func TestALPN(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	tests := []struct {
		name   string
		client []string
		want   string
	}{
		{"server preference", []string{"http/1.1", "h2"}, "h2"},
		{"http1 only", []string{"http/1.1"}, "http/1.1"},
		{"no overlap goes on without alpn", []string{"istio-peer-exchange"}, ""},
		{"client without alpn", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ms.clientCtx()
			u.CommonTlsContext.AlpnProtocols = tt.client
			s, c := buildPair(t, m, ms.serverCtx(), u)
			r := mustHandshake(t, s, c)
			if r.client.NegotiatedProtocol != tt.want || r.server.NegotiatedProtocol != tt.want {
				t.Errorf("negotiated %q/%q, want %q", r.client.NegotiatedProtocol, r.server.NegotiatedProtocol, tt.want)
			}
		})
	}
}

func TestCertificateBySNI(t *testing.T) {
	ca := newCA(t, "gateway root")
	a := ca.issue(t, leafOpts{dns: []string{"bookinfo.example.com"}})
	b := ca.issue(t, leafOpts{dns: []string{"*.httpbin.example.com"}})
	m, _ := newManager(t)
	s, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificates: []*tlsv3.TlsCertificate{a.tlsCert(), b.tlsCert()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ sni, want string }{
		{"bookinfo.example.com", "bookinfo.example.com"},
		{"www.httpbin.example.com", "*.httpbin.example.com"},
		{"unknown.example.com", "bookinfo.example.com"},
		{"", "bookinfo.example.com"},
	}
	for _, tt := range tests {
		c, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{Sni: tt.sni})
		if err != nil {
			t.Fatal(err)
		}
		r := mustHandshake(t, s, c)
		if got := r.client.PeerCertificates[0].DNSNames[0]; got != tt.want {
			t.Errorf("sni %q: got certificate for %q, want %q", tt.sni, got, tt.want)
		}
	}
}

func TestRequireSNI(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	d := &tlsv3.DownstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificates: []*tlsv3.TlsCertificate{ms.review.tlsCert()}},
		RequireSni:       wrapperspb.Bool(true),
	}
	s, c := buildPair(t, m, d, &tlsv3.UpstreamTlsContext{})
	wantErr(t, handshake(t, s, c).serverErr, "require_sni")
	c, _ = m.ClientConfig(&tlsv3.UpstreamTlsContext{Sni: "reviews"})
	mustHandshake(t, s, c)
}

func TestVersionLimits(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	v := func(min, max tlsv3.TlsParameters_TlsProtocol) *tlsv3.TlsParameters {
		return &tlsv3.TlsParameters{TlsMinimumProtocolVersion: min, TlsMaximumProtocolVersion: max}
	}
	const auto, v12, v13 = tlsv3.TlsParameters_TLS_AUTO, tlsv3.TlsParameters_TLSv1_2, tlsv3.TlsParameters_TLSv1_3
	tests := []struct {
		name           string
		server, client *tlsv3.TlsParameters
		want           uint16 // 0: the handshake fails
	}{
		{"defaults: envoy clients stop at 1.2", nil, nil, tls.VersionTLS12},
		{"client allows 1.3", nil, v(auto, v13), tls.VersionTLS13},
		{"server 1.2 only", v(auto, v12), v(auto, v13), tls.VersionTLS12},
		{"server 1.3 only, default client", v(v13, v13), nil, 0},
		{"server 1.2, client 1.3 only", v(auto, v12), v(v13, v13), 0},
		{"tls 1.0 allowed but not chosen", v(tlsv3.TlsParameters_TLSv1_0, auto), v(tlsv3.TlsParameters_TLSv1_0, v13), tls.VersionTLS13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, u := ms.serverCtx(), ms.clientCtx()
			d.CommonTlsContext.TlsParams, u.CommonTlsContext.TlsParams = tt.server, tt.client
			s, c := buildPair(t, m, d, u)
			r := handshake(t, s, c)
			if tt.want == 0 {
				if r.clientErr == nil || r.serverErr == nil {
					t.Fatalf("handshake succeeded with %s", tls.VersionName(r.client.Version))
				}
				return
			}
			if r.clientErr != nil || r.serverErr != nil {
				t.Fatalf("server: %v; client: %v", r.serverErr, r.clientErr)
			}
			if r.client.Version != tt.want {
				t.Errorf("negotiated %s, want %s", tls.VersionName(r.client.Version), tls.VersionName(tt.want))
			}
		})
	}
}

func TestCipherSuiteHandshake(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	d, u := ms.serverCtx(), ms.clientCtx()
	d.CommonTlsContext.TlsParams = &tlsv3.TlsParameters{CipherSuites: []string{"ECDHE-ECDSA-AES256-GCM-SHA384"}}
	u.CommonTlsContext.TlsParams = &tlsv3.TlsParameters{EcdhCurves: []string{"P-256"}}
	s, c := buildPair(t, m, d, u)
	r := mustHandshake(t, s, c)
	if r.client.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("cipher %s", tls.CipherSuiteName(r.client.CipherSuite))
	}
}

func TestPins(t *testing.T) {
	ms := newMesh(t)
	m, _ := newManager(t)
	h := sha256.Sum256(ms.review.cert.Raw)
	spki := sha256.Sum256(ms.review.cert.RawSubjectPublicKeyInfo)
	other := sha256.Sum256([]byte("another certificate"))
	tests := []struct {
		name string
		vc   *tlsv3.CertificateValidationContext
		ok   bool
	}{
		{"hash with colons", &tlsv3.CertificateValidationContext{VerifyCertificateHash: []string{colonHex(h[:])}}, true},
		{"spki", &tlsv3.CertificateValidationContext{VerifyCertificateSpki: []string{base64.StdEncoding.EncodeToString(spki[:])}}, true},
		{"other hash", &tlsv3.CertificateValidationContext{VerifyCertificateHash: []string{hex.EncodeToString(other[:])}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ms.clientCtx()
			u.CommonTlsContext.ValidationContextType = withValidation(tt.vc)
			s, c := buildPair(t, m, ms.serverCtx(), u)
			r := handshake(t, s, c)
			if tt.ok && r.clientErr != nil {
				t.Errorf("client: %v", r.clientErr)
			}
			if !tt.ok && !errors.Is(r.clientErr, ErrCertHashMismatch) {
				t.Errorf("client error %v, want ErrCertHashMismatch", r.clientErr)
			}
		})
	}
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}
