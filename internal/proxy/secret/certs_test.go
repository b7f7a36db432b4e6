package secret

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCerts(t *testing.T) {
	ca := newCA(t, "root")
	l := ca.issue(t, leafOpts{
		dns:  []string{"reviews.default.svc.cluster.local"},
		uris: []string{spiffeReviews},
		ips:  []string{"10.0.0.5"},
	})
	caFile := filepath.Join(t.TempDir(), "root-cert.pem")
	writeFile(t, caFile, ca.pem)
	m, clock := newManager(t)
	server, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificates:       []*tlsv3.TlsCertificate{l.tlsCert()},
		ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{TrustedCa: file(caFile)}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{ads("not-yet")},
	}})
	if err != nil {
		t.Fatal(err)
	}

	clock.advance(30 * 24 * time.Hour)
	want := &adminv3.Certificates{Certificates: []*adminv3.Certificate{{
		CaCert: []*adminv3.CertificateDetails{{
			Path:                caFile,
			SerialNumber:        ca.cert.SerialNumber.Text(16),
			DaysUntilExpiration: 3650 - 30 - 1,
			ValidFrom:           timestamppb.New(ca.cert.NotBefore),
			ExpirationTime:      timestamppb.New(ca.cert.NotAfter),
		}},
		CertChain: []*adminv3.CertificateDetails{{
			Path:         "<inline>",
			SerialNumber: l.cert.SerialNumber.Text(16),
			SubjectAltNames: []*adminv3.SubjectAlternateName{
				{Name: &adminv3.SubjectAlternateName_Dns{Dns: "reviews.default.svc.cluster.local"}},
				{Name: &adminv3.SubjectAlternateName_Uri{Uri: spiffeReviews}},
				{Name: &adminv3.SubjectAlternateName_IpAddress{IpAddress: "10.0.0.5"}},
			},
			DaysUntilExpiration: 90 - 30 - 1,
			ValidFrom:           timestamppb.New(l.cert.NotBefore),
			ExpirationTime:      timestamppb.New(l.cert.NotAfter),
		}},
	}, {}}}
	got := m.Certs()
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Certs (-want +got):\n%s", diff)
	}

	// The admin endpoint marshals it with proto names: check the JSON shape.
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Certificates []struct {
			CACert    []map[string]any `json:"ca_cert"`
			CertChain []map[string]any `json:"cert_chain"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	chain := doc.Certificates[0].CertChain[0]
	for _, k := range []string{"path", "serial_number", "subject_alt_names", "days_until_expiration", "valid_from", "expiration_time"} {
		if _, ok := chain[k]; !ok {
			t.Errorf("cert_chain entry lacks %q: %s", k, b)
		}
	}
	if chain["days_until_expiration"] != "59" {
		t.Errorf("days_until_expiration = %#v, want the string \"59\" as protojson writes uint64", chain["days_until_expiration"])
	}

	clock.advance(100 * 24 * time.Hour)
	if d := m.Certs().Certificates[0].CertChain[0].DaysUntilExpiration; d != 0 {
		t.Errorf("expired certificate: %d days left, want 0", d)
	}
	runtime.KeepAlive(server)
	runtime.KeepAlive(pending)
}

func TestCertsForgetsUnusedConfigs(t *testing.T) {
	ca := newCA(t, "root")
	l := ca.issue(t, leafOpts{dns: []string{"a"}})
	m, _ := newManager(t)
	build := func() {
		if _, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates: []*tlsv3.TlsCertificate{l.tlsCert()},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{})
	if err != nil {
		t.Fatal(err)
	}
	build()
	clone := func() any {
		s, _ := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates: []*tlsv3.TlsCertificate{l.tlsCert()},
		}})
		return s.Clone() // a clone keeps the context alive
	}()
	for range 3 {
		runtime.GC()
	}
	if n := len(m.Certs().Certificates); n != 2 {
		t.Errorf("%d contexts listed, want 2 (the kept client and the clone)", n)
	}
	runtime.KeepAlive(kept)
	runtime.KeepAlive(clone)
}
