package secret

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// defaultMaxSessionKeys is Envoy's default for max_session_keys.
const defaultMaxSessionKeys = 1

// ClientConfig builds the config for upstream TLS connections for u. The server's
// certificate is verified by weft against the validation context, if there is one: the
// chain against trusted_ca, then the subject-alt-name matchers and pins. As in Envoy,
// the SNI is not checked against the certificate, and without a validation context the
// server is not verified at all.
func (m *Manager) ClientConfig(u *tlsv3.UpstreamTlsContext) (*tls.Config, error) {
	if err := checkMessage(u); err != nil {
		return nil, err
	}
	c, err := m.compileCommon(u.GetCommonTlsContext(), roleClient)
	if err != nil {
		return nil, fmt.Errorf("common_tls_context: %w", err)
	}
	if len(c.certs) > 1 {
		return nil, errors.New("common_tls_context: a client takes at most one certificate")
	}
	cl := &clientContext{c: c}
	cfg := &tls.Config{
		ServerName: u.GetSni(),
		NextProtos: c.alpn,
		// crypto/tls verifies hostnames, which Envoy does not; verifyServer does
		// Envoy's verification instead.
		InsecureSkipVerify: true,
		Time:               m.clock,
	}
	c.params.apply(cfg)
	if len(c.certs) == 1 {
		cfg.GetClientCertificate = cl.certificate
	}
	// Set even without a validation context: the callback keeps the context alive
	// for Certs as long as the config is.
	cfg.VerifyConnection = cl.verifyServer
	if u.GetAllowRenegotiation() {
		cfg.Renegotiation = tls.RenegotiateFreelyAsClient
	}
	keys := defaultMaxSessionKeys
	if mk := u.GetMaxSessionKeys(); mk != nil {
		keys = int(mk.GetValue())
	}
	if keys > 0 {
		cfg.ClientSessionCache = &sessionCache{c: c, lru: tls.NewLRUClientSessionCache(keys)}
	}
	m.track(c)
	return cfg, nil
}

// clientContext holds what the client config's callbacks need.
type clientContext struct {
	c *common
}

// certificate returns the client certificate, whatever CAs the server asks for, as
// Envoy does.
func (cl *clientContext) certificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	kp, err := cl.c.certs[0].get()
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return kp.cert, nil
}

func (cl *clientContext) verifyServer(cs tls.ConnectionState) error {
	if cl.c.validation == nil {
		return nil
	}
	return verifyPeer(cl.c.validation, cs, x509.ExtKeyUsageServerAuth)
}
