package ca

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestIssueVerifies(t *testing.T) {
	c, err := New(Options{Org: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.Issue([]string{"istiod.istio-system.svc", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.RootPEM()) {
		t.Fatal("RootPEM does not parse")
	}
	for _, name := range []string{"istiod.istio-system.svc", "127.0.0.1"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.svc"}); err == nil {
		t.Error("verified for a name not issued")
	}
	if _, err := c.Issue(nil, time.Hour); err == nil {
		t.Error("issued for no hosts")
	}
}

func TestLoad(t *testing.T) {
	c, _ := New(Options{})
	key, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(c.RootPEM(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(again.RootPEM()) != string(c.RootPEM()) {
		t.Error("loaded root differs")
	}
	other, _ := New(Options{})
	otherKey, _ := other.KeyPEM()
	for _, tc := range []struct {
		cert, key []byte
		want      string
	}{
		{[]byte("x"), key, "no CERTIFICATE"},
		{c.RootPEM(), []byte("x"), "no PEM block"},
		{c.RootPEM(), otherKey, "does not match"},
		{c.RootPEM(), c.RootPEM(), "root key"},
	} {
		if _, err := Load(tc.cert, tc.key, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load: %v, want %q", err, tc.want)
		}
	}
}

// TestServingConfig: a TLS server with the CA's serving config is trusted by a
// client with the root, and renews its certificate after two thirds of its life.
func TestServingConfig(t *testing.T) {
	now := time.Now()
	c, _ := New(Options{Clock: func() time.Time { return now }})
	cfg, err := c.ServingConfig([]string{"127.0.0.1"}, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.RootPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	first, _ := cfg.GetCertificate(nil)
	now = now.Add(time.Hour)
	if same, _ := cfg.GetCertificate(nil); same != first {
		t.Error("renewed before two thirds of the certificate's life")
	}
	now = now.Add(time.Hour + 2*time.Minute)
	if renewed, _ := cfg.GetCertificate(nil); renewed == first {
		t.Error("not renewed after two thirds of the certificate's life")
	}
}
