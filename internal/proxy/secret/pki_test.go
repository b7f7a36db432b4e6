package secret

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// TestMain fails the run if a test leaves goroutines behind.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); code == 0 && n > before {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n%s\n", n-before, buf[:runtime.Stack(buf, true)])
		code = 1
	}
	os.Exit(code)
}

const (
	spiffeProductpage = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
	spiffeReviews     = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
)

// testCA is a certificate authority made up for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serials atomic.Int64

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"weft test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(3650 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}
}

// leaf is an issued certificate and its key, in PEM.
type leaf struct {
	cert    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
}

// leafOpts says what goes into a leaf certificate.
type leafOpts struct {
	dns  []string
	uris []string
	ips  []string
	days int // validity from now; 0 means 90
}

// issue signs a leaf for both server and client use, like an Istio workload
// certificate.
func (ca *testCA) issue(t testing.TB, o leafOpts) leaf {
	t.Helper()
	key := newKey(t)
	days := o.days
	if days == 0 {
		days = 90
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
		Subject:      pkix.Name{Organization: []string{"weft test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Duration(days) * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     o.dns,
	}
	for _, u := range o.uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	for _, ip := range o.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{cert: cert, certPEM: pemBlock("CERTIFICATE", der), keyPEM: pemBlock("PRIVATE KEY", keyDER)}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Envoy config builders.

func inline(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

func inlineString(s string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: s}}
}

func file(name string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: name}}
}

func (l leaf) tlsCert() *tlsv3.TlsCertificate {
	return &tlsv3.TlsCertificate{CertificateChain: inline(l.certPEM), PrivateKey: inlineString(string(l.keyPEM))}
}

func exact(s string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
}

func uriSAN(m *matcherv3.StringMatcher) *tlsv3.SubjectAltNameMatcher {
	return &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_URI, Matcher: m}
}

// validation trusts ca and, if sans are given, wants one of those URI SANs.
func validation(ca *testCA, sans ...string) *tlsv3.CertificateValidationContext {
	vc := &tlsv3.CertificateValidationContext{TrustedCa: inline(ca.pem)}
	for _, s := range sans {
		vc.MatchTypedSubjectAltNames = append(vc.MatchTypedSubjectAltNames, uriSAN(exact(s)))
	}
	return vc
}

func withValidation(vc *tlsv3.CertificateValidationContext) *tlsv3.CommonTlsContext_ValidationContext {
	return &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: vc}
}

func ads(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}}
}

// fakeClock is the real time plus an offset that tests move forward.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

func newManager(t testing.TB) (*Manager, *fakeClock) {
	clock := &fakeClock{}
	return NewManager(Options{Clock: clock.now}), clock
}

// result is what each side saw of a handshake.
type result struct {
	server, client       tls.ConnectionState
	serverErr, clientErr error
}

// handshake runs a TLS handshake over loopback TCP (net.Pipe has no buffer, so a side
// that aborts while the other is still writing its flight would deadlock) and has the
// server send one byte, so that a client certificate rejected after the TLS 1.3 client
// finished shows as a client error too.
func handshake(t testing.TB, serverCfg, clientCfg *tls.Config) result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	done := make(chan struct{})
	var r result
	go func() {
		defer close(done)
		sc, err := ln.Accept()
		if err != nil {
			r.serverErr = err
			return
		}
		defer sc.Close()
		_ = sc.SetDeadline(deadline)
		srv := tls.Server(sc, serverCfg)
		if r.serverErr = srv.Handshake(); r.serverErr == nil {
			r.server = srv.ConnectionState()
			_, r.serverErr = srv.Write([]byte{'x'})
		}
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = cc.SetDeadline(deadline)
	cl := tls.Client(cc, clientCfg)
	if r.clientErr = cl.Handshake(); r.clientErr == nil {
		r.client = cl.ConnectionState()
		_, r.clientErr = io.ReadFull(cl, make([]byte, 1))
	}
	cc.Close()
	<-done
	return r
}

// mustHandshake fails the test unless both sides succeed.
func mustHandshake(t testing.TB, serverCfg, clientCfg *tls.Config) result {
	t.Helper()
	r := handshake(t, serverCfg, clientCfg)
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("handshake failed: server: %v; client: %v", r.serverErr, r.clientErr)
	}
	return r
}

func wantErr(t testing.TB, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}
