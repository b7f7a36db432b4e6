package ca

import (
	"crypto/tls"
	"sync"
	"time"
)

// ServingConfig returns a TLS server config whose certificate for hosts the CA
// issues, valid for ttl, and issues again once two thirds of its life has passed,
// so that a long-running server never serves an expired certificate.
func (c *CA) ServingConfig(hosts []string, ttl time.Duration) (*tls.Config, error) {
	s := &servingCert{ca: c, hosts: hosts, ttl: ttl}
	if _, err := s.get(nil); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.get}, nil
}

type servingCert struct {
	ca    *CA
	hosts []string
	ttl   time.Duration

	mu    sync.Mutex
	cert  *tls.Certificate
	renew time.Time
}

func (s *servingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.ca.clock()
	if s.cert != nil && now.Before(s.renew) {
		return s.cert, nil
	}
	cert, err := s.ca.Issue(s.hosts, s.ttl)
	if err != nil {
		if s.cert != nil && now.Before(s.cert.Leaf.NotAfter) {
			return s.cert, nil // keep serving the old one while it is valid
		}
		return nil, err
	}
	life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
	s.cert, s.renew = &cert, cert.Leaf.NotBefore.Add(life*2/3)
	return s.cert, nil
}
