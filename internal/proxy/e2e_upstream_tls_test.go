package proxy_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestUpstreamMTLS originates mutual TLS to the upstream with SNI and checks the
// upstream's SPIFFE identity; a wrong expected identity fails with 503 UF.
func TestUpstreamMTLS(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	var sawSNI string
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client cert", 401)
			return
		}
		sawSNI = r.TLS.ServerName
		w.Write([]byte(r.TLS.PeerCertificates[0].URIs[0].String()))
	}))
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	up.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool}
	up.StartTLS()
	t.Cleanup(up.Close)

	tlsCluster := func(san string) string {
		return `transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: echo.default.svc
    common_tls_context:
      tls_certificates:
      - certificate_chain: {filename: ` + pki.clientCert + `}
        private_key: {filename: ` + pki.clientKey + `}
      validation_context:
        trusted_ca: {filename: ` + pki.caFile + `}
        match_typed_subject_alt_names:
        - san_type: URI
          matcher: {exact: "` + san + `"}`
	}
	routes := `
- match: {prefix: "/good"}
  route: {cluster: good}
- match: {prefix: "/bad"}
  route: {cluster: bad}`
	addr := up.Listener.Addr().String()
	b := bootstrapOf(t, hcmListener("l", routes, ""),
		staticCluster("good", tlsCluster("spiffe://cluster.local/ns/default/sa/echo"), addr)+
			staticCluster("bad", tlsCluster("spiffe://cluster.local/ns/default/sa/other"), addr))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")

	resp, err := http.Get(url + "/good")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	if resp.StatusCode != 200 || body != "spiffe://cluster.local/ns/default/sa/client" || sawSNI != "echo.default.svc" {
		t.Errorf("good: %d %q sni %q", resp.StatusCode, body, sawSNI)
	}
	resp, err = http.Get(url + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(resp)
	if resp.StatusCode != 503 {
		t.Errorf("SAN mismatch: %d %q, want 503 UF", resp.StatusCode, body)
	}
	eventually(t, counter(p, "cluster.bad.upstream_cx_connect_fail", 1))
}
