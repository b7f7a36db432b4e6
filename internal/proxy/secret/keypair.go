package secret

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// keyPair is a loaded certificate chain with its private key.
type keyPair struct {
	cert *tls.Certificate // Leaf is set
	path string           // of the certificate chain, for /certs
	id   [sha256.Size]byte
}

// caBundle is a loaded set of trusted CA certificates.
type caBundle struct {
	pool  *x509.CertPool
	certs []*x509.Certificate
	path  string
	id    [sha256.Size]byte
}

// keyPairSource compiles a TlsCertificate.
func (m *Manager) keyPairSource(tc *tlsv3.TlsCertificate) (source[keyPair], error) {
	if tc.GetCertificateChain() == nil {
		return nil, errors.New("certificate_chain: required")
	}
	if tc.GetPrivateKey() == nil {
		return nil, errors.New("private_key: required")
	}
	dss := []*corev3.DataSource{tc.GetCertificateChain(), tc.GetPrivateKey()}
	return sourceOf(m, dss, parseKeyPair)
}

// parseKeyPair parses a PEM certificate chain and PEM private key.
func parseKeyPair(ds []data) (*keyPair, error) {
	chain, key := ds[0], ds[1]
	cert, err := tls.X509KeyPair(chain.bytes, key.bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate_chain %s and private_key %s: %w", chain.path, key.path, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate_chain %s: %w", chain.path, err)
		}
	}
	return &keyPair{cert: &cert, path: chain.path, id: sha256.Sum256(cert.Leaf.Raw)}, nil
}

// caSource compiles a trusted_ca data source.
func (m *Manager) caSource(ds *corev3.DataSource) (source[caBundle], error) {
	return sourceOf(m, []*corev3.DataSource{ds}, parseCABundle)
}

// parseCABundle parses the PEM certificates of a CA bundle. Blocks of other types are
// skipped, as OpenSSL does; a bundle without any certificate is an error.
func parseCABundle(ds []data) (*caBundle, error) {
	d := ds[0]
	b := &caBundle{pool: x509.NewCertPool(), path: d.path}
	h := sha256.New()
	rest := d.bytes
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trusted_ca %s: %w", d.path, err)
		}
		b.pool.AddCert(c)
		b.certs = append(b.certs, c)
		h.Write(c.Raw)
	}
	if len(b.certs) == 0 {
		return nil, fmt.Errorf("trusted_ca %s: no PEM certificate found", d.path)
	}
	h.Sum(b.id[:0])
	return b, nil
}
