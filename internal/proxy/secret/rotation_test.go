package secret

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	// Write then rename, as cert-manager and the kubelet do, so a reader never sees half a file.
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func TestFileRotation(t *testing.T) {
	ca := newCA(t, "root")
	first, second := ca.issue(t, leafOpts{dns: []string{"a"}}), ca.issue(t, leafOpts{dns: []string{"a"}})
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	writeFile(t, certFile, first.certPEM)
	writeFile(t, keyFile, first.keyPEM)
	writeFile(t, caFile, ca.pem)

	m, clock := newManager(t)
	server, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificates: []*tlsv3.TlsCertificate{{CertificateChain: file(certFile), PrivateKey: file(keyFile)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		ValidationContextType: withValidation(&tlsv3.CertificateValidationContext{TrustedCa: file(caFile)}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		return mustHandshake(t, server, client).client.PeerCertificates[0].SerialNumber.String()
	}
	if got, want := serial(), first.cert.SerialNumber.String(); got != want {
		t.Fatalf("serving %s, want %s", got, want)
	}

	writeFile(t, certFile, second.certPEM)
	writeFile(t, keyFile, second.keyPEM)
	if got, want := serial(), first.cert.SerialNumber.String(); got != want {
		t.Errorf("files checked before the poll interval: serving %s, want %s", got, want)
	}
	clock.advance(2 * pollInterval)
	if got, want := serial(), second.cert.SerialNumber.String(); got != want {
		t.Errorf("after the poll interval: serving %s, want %s", got, want)
	}

	// A broken file keeps the last good certificate.
	writeFile(t, certFile, []byte("not pem"))
	clock.advance(2 * pollInterval)
	if got, want := serial(), second.cert.SerialNumber.String(); got != want {
		t.Errorf("after a bad write: serving %s, want %s", got, want)
	}

	// The trusted CA rotates too: the client stops trusting the old root.
	newRoot := newCA(t, "new root")
	writeFile(t, caFile, newRoot.pem)
	writeFile(t, certFile, second.certPEM) // repair the chain file
	clock.advance(2 * pollInterval)
	if r := handshake(t, server, client); !errors.Is(r.clientErr, ErrUntrusted) {
		t.Errorf("after ca rotation: client error %v, want ErrUntrusted", r.clientErr)
	}
	third := newRoot.issue(t, leafOpts{dns: []string{"a"}})
	writeFile(t, certFile, third.certPEM)
	writeFile(t, keyFile, third.keyPEM)
	clock.advance(2 * pollInterval)
	if got, want := serial(), third.cert.SerialNumber.String(); got != want {
		t.Errorf("after both rotated: serving %s, want %s", got, want)
	}
}

func TestSDSRotation(t *testing.T) {
	ca := newCA(t, "root")
	first, second := ca.issue(t, leafOpts{uris: []string{spiffeReviews}}), ca.issue(t, leafOpts{uris: []string{spiffeReviews}})
	m, _ := newManager(t)

	// Built before the secret arrives, as a listener from LDS before SDS answers.
	server, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{ads("default")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := m.ClientConfig(&tlsv3.UpstreamTlsContext{})
	if err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, server, client); !errors.Is(r.serverErr, ErrSecretNotReady) {
		t.Errorf("before the secret: server error %v, want ErrSecretNotReady", r.serverErr)
	}
	serial := func() string {
		return mustHandshake(t, server, client).client.PeerCertificates[0].SerialNumber.String()
	}
	for _, l := range []leaf{first, second} {
		if err := m.Set(&tlsv3.Secret{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: l.tlsCert()}}); err != nil {
			t.Fatal(err)
		}
		if got, want := serial(), l.cert.SerialNumber.String(); got != want {
			t.Errorf("serving %s, want %s", got, want)
		}
	}

	// An invalid update is refused and the current certificate stays.
	bad := &tlsv3.Secret{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
		CertificateChain: inlineString("garbage"), PrivateKey: inline(second.keyPEM),
	}}}
	if err := m.Set(bad); err == nil {
		t.Error("Set accepted a broken certificate")
	}
	if got, want := serial(), second.cert.SerialNumber.String(); got != want {
		t.Errorf("after a refused update: serving %s, want %s", got, want)
	}

	m.Remove("default")
	if r := handshake(t, server, client); !errors.Is(r.serverErr, ErrSecretNotReady) {
		t.Errorf("after Remove: server error %v, want ErrSecretNotReady", r.serverErr)
	}
}

// TestIstioShapedSDS uses the secrets Istio's sidecars use: "default" for the workload
// certificate and "ROOTCA" for the trust bundle, merged into a combined validation
// context whose default part holds the SAN matcher.
func TestIstioShapedSDS(t *testing.T) {
	oldRoot, newRoot := newCA(t, "old root"), newCA(t, "new root")
	m, _ := newManager(t)
	setCert := func(name string, l leaf) {
		t.Helper()
		if err := m.Set(&tlsv3.Secret{Name: name, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: l.tlsCert()}}); err != nil {
			t.Fatal(err)
		}
	}
	setRoot := func(ca *testCA) {
		t.Helper()
		vc := &tlsv3.CertificateValidationContext{TrustedCa: inline(ca.pem)}
		if err := m.Set(&tlsv3.Secret{Name: "ROOTCA", Type: &tlsv3.Secret_ValidationContext{ValidationContext: vc}}); err != nil {
			t.Fatal(err)
		}
	}
	common := func(san string) *tlsv3.CommonTlsContext {
		return &tlsv3.CommonTlsContext{
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{ads("default")},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
				CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
					DefaultValidationContext: &tlsv3.CertificateValidationContext{
						MatchSubjectAltNames: []*matcherv3.StringMatcher{exact(san)},
					},
					ValidationContextSdsSecretConfig: ads("ROOTCA"),
				},
			},
		}
	}
	server, err := m.ServerConfig(&tlsv3.DownstreamTlsContext{CommonTlsContext: common(spiffeProductpage), RequireClientCertificate: wrapperspb.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	// The client has its own manager: it is another sidecar.
	cm, _ := newManager(t)
	clientSet := func(l leaf, ca *testCA) {
		t.Helper()
		vc := &tlsv3.CertificateValidationContext{TrustedCa: inline(ca.pem)}
		for _, s := range []*tlsv3.Secret{
			{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: l.tlsCert()}},
			{Name: "ROOTCA", Type: &tlsv3.Secret_ValidationContext{ValidationContext: vc}},
		} {
			if err := cm.Set(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	client, err := cm.ClientConfig(&tlsv3.UpstreamTlsContext{CommonTlsContext: common(spiffeReviews)})
	if err != nil {
		t.Fatal(err)
	}

	setCert("default", oldRoot.issue(t, leafOpts{uris: []string{spiffeReviews}}))
	setRoot(oldRoot)
	clientSet(oldRoot.issue(t, leafOpts{uris: []string{spiffeProductpage}}), oldRoot)
	mustHandshake(t, server, client)

	// The client moves to the new root first: the server rejects its certificate.
	clientSet(newRoot.issue(t, leafOpts{uris: []string{spiffeProductpage}}), oldRoot)
	if r := handshake(t, server, client); !errors.Is(r.serverErr, ErrUntrusted) {
		t.Errorf("server error %v, want ErrUntrusted", r.serverErr)
	}
	// Then the server's ROOTCA and certificate follow; the client trusts the new root.
	setRoot(newRoot)
	setCert("default", newRoot.issue(t, leafOpts{uris: []string{spiffeReviews}}))
	clientSet(newRoot.issue(t, leafOpts{uris: []string{spiffeProductpage}}), newRoot)
	mustHandshake(t, server, client)

	// The SAN matcher of the default context still applies after the merge.
	clientSet(newRoot.issue(t, leafOpts{uris: []string{"spiffe://cluster.local/ns/default/sa/intruder"}}), newRoot)
	if r := handshake(t, server, client); !errors.Is(r.serverErr, ErrSANMismatch) {
		t.Errorf("server error %v, want ErrSANMismatch", r.serverErr)
	}
}

func TestStaticSecretMustExist(t *testing.T) {
	m, _ := newManager(t)
	static := &tlsv3.SdsSecretConfig{Name: "server_cert"}
	d := &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{static},
	}}
	_, err := m.ServerConfig(d)
	wantErr(t, err, `unknown static secret "server_cert"`)

	ca := newCA(t, "root")
	l := ca.issue(t, leafOpts{dns: []string{"a"}})
	if err := m.Set(&tlsv3.Secret{Name: "server_cert", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: l.tlsCert()}}); err != nil {
		t.Fatal(err)
	}
	s, err := m.ServerConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.ClientConfig(&tlsv3.UpstreamTlsContext{})
	mustHandshake(t, s, c)
}

func TestFileCheckIsRateLimited(t *testing.T) {
	ca := newCA(t, "root")
	l := ca.issue(t, leafOpts{dns: []string{"a"}})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeFile(t, certFile, l.certPEM)
	writeFile(t, keyFile, l.keyPEM)
	m, clock := newManager(t)
	src, err := m.keyPairSource(&tlsv3.TlsCertificate{CertificateChain: file(certFile), PrivateKey: file(keyFile)})
	if err != nil {
		t.Fatal(err)
	}
	w := src.(*watched[keyPair])
	next := w.next.Load()
	for range 100 {
		if _, err := src.get(); err != nil {
			t.Fatal(err)
		}
	}
	if w.next.Load() != next {
		t.Error("files checked before the interval")
	}
	clock.advance(time.Second)
	if _, err := src.get(); err != nil {
		t.Fatal(err)
	}
	if w.next.Load() == next {
		t.Error("files not checked after the interval")
	}
}

func TestSessionResumptionFollowsRotation(t *testing.T) {
	ms := newMesh(t)
	m, clock := newManager(t)
	setCert := func(l leaf) {
		t.Helper()
		if err := m.Set(&tlsv3.Secret{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: l.tlsCert()}}); err != nil {
			t.Fatal(err)
		}
	}
	setCert(ms.review)
	d := ms.serverCtx(spiffeProductpage)
	d.CommonTlsContext.TlsCertificates = nil
	d.CommonTlsContext.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{ads("default")}
	server, client := buildPair(t, m, d, ms.clientCtx(spiffeReviews))
	resumed := func() bool { return mustHandshake(t, server, client).client.DidResume }

	if resumed() || !resumed() {
		t.Fatal("want a full handshake, then a resumed one")
	}
	next := ms.ca.issue(t, leafOpts{uris: []string{spiffeReviews}, days: 1})
	setCert(next)
	r := mustHandshake(t, server, client)
	if r.client.DidResume || r.client.PeerCertificates[0].SerialNumber.Cmp(next.cert.SerialNumber) != 0 {
		t.Errorf("after rotation: resumed %v, serial %v; want a full handshake with the new certificate",
			r.client.DidResume, r.client.PeerCertificates[0].SerialNumber)
	}
	if !resumed() {
		t.Error("the session of the new certificate is not resumed")
	}

	// Once the certificate expired, the session is not resumed and the full handshake
	// fails.
	clock.advance(2 * 24 * time.Hour)
	r = handshake(t, server, client)
	if r.client.DidResume || !errors.Is(r.clientErr, ErrUntrusted) {
		t.Errorf("after expiry: resumed %v, client error %v; want a full handshake failing with ErrUntrusted", r.client.DidResume, r.clientErr)
	}
}
