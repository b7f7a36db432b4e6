package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Options describe a CA. Every field has a default.
type Options struct {
	// Org is the root's subject organization: the trust domain ("cluster.local").
	Org string
	// RootTTL is how long a new root is valid (10 years, as Istio's self-signed root).
	RootTTL time.Duration
	// Clock gives the time certificates are valid from (time.Now).
	Clock func() time.Time
}

func (o *Options) defaults() {
	if o.Org == "" {
		o.Org = "cluster.local"
	}
	if o.RootTTL == 0 {
		o.RootTTL = 10 * 365 * 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}

// CA is a root certificate and its key. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	clock   func() time.Time
}

// New makes a CA with a new self-signed root.
func New(o Options) (*CA, error) {
	o.defaults()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := o.Clock()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{o.Org}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(o.RootTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	return fromDER(der, key, o.Clock)
}

// Load makes a CA from a root certificate and its private key in PEM (PKCS #8,
// EC or PKCS #1 keys), such as ones New made and KeyPEM wrote.
func Load(certPEM, keyPEM []byte, o Options) (*CA, error) {
	o.defaults()
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("root certificate: no CERTIFICATE PEM block")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("root key: no PEM block")
	}
	key, err := parseKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	c, err := fromDER(cb.Bytes, key, o.Clock)
	if err != nil {
		return nil, err
	}
	if !c.cert.IsCA {
		return nil, errors.New("root certificate: not a CA")
	}
	if !publicKeysEqual(c.cert.PublicKey, key.Public()) {
		return nil, errors.New("root key does not match the root certificate")
	}
	return c, nil
}

func fromDER(der []byte, key crypto.Signer, clock func() time.Time) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	return &CA{cert: cert, key: key, clock: clock,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// RootPEM is the root certificate in PEM: what clients trust (a webhook's caBundle).
func (c *CA) RootPEM() []byte { return c.certPEM }

// KeyPEM is the root's private key in PKCS #8 PEM, for keeping the root across
// restarts. Guard it.
func (c *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Issue signs a serving certificate with a new key for hosts, each a DNS name
// ("istiod.istio-system.svc") or an IP address, valid for ttl. The first host is
// also the subject's common name. The returned certificate's chain ends with the
// root.
func (c *CA) Issue(hosts []string, ttl time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("issue: no hosts")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := c.clock()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		tmpl.NotAfter = c.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue %v: %w", hosts, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS #8, EC or PKCS #1 private key")
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}
