package secret

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// ServerConfig builds the config that terminates downstream TLS for d. The
// certificate is chosen per handshake among the configured ones by the client's SNI
// (the first one valid for the name and the client's signature algorithms, else the
// first), and read from its secret or file at that moment. With a validation context
// the server asks for a client certificate, requires one if
// require_client_certificate is set, and verifies one that is presented.
// disable_stateful_session_resumption needs nothing: crypto/tls servers keep no
// session cache, only tickets, which disable_stateless_session_resumption turns off.
func (m *Manager) ServerConfig(d *tlsv3.DownstreamTlsContext) (*tls.Config, error) {
	if err := checkMessage(d); err != nil {
		return nil, err
	}
	c, err := m.compileCommon(d.GetCommonTlsContext(), roleServer)
	if err != nil {
		return nil, fmt.Errorf("common_tls_context: %w", err)
	}
	if len(c.certs) == 0 {
		return nil, errors.New("common_tls_context: a server needs tls_certificates or tls_certificate_sds_secret_configs")
	}
	s := &serverContext{c: c, requireSNI: d.GetRequireSni().GetValue()}
	cfg := &tls.Config{
		GetCertificate:         s.certificate,
		GetConfigForClient:     s.configForClient,
		NextProtos:             c.alpn,
		SessionTicketsDisabled: d.GetDisableStatelessSessionResumption(),
		Time:                   m.clock,
	}
	c.params.apply(cfg)
	if err := s.clientAuth(cfg, d.GetRequireClientCertificate().GetValue()); err != nil {
		return nil, err
	}
	if !cfg.SessionTicketsDisabled {
		cfg.WrapSession, cfg.UnwrapSession = s.wrapSession, s.unwrapSession
	}
	s.base = cfg
	m.track(c)
	return cfg, nil
}

// serverContext holds what the server config's callbacks need.
type serverContext struct {
	c          *common
	requireSNI bool
	require    bool        // require_client_certificate
	base       *tls.Config // the config these callbacks belong to
}

// clientAuth sets how the server asks for and checks client certificates. Verification
// is weft's, in VerifyConnection, so that the CA can rotate; crypto/tls only asks.
func (s *serverContext) clientAuth(cfg *tls.Config, require bool) error {
	s.require = require
	switch {
	case s.c.validation == nil && require:
		return errors.New("require_client_certificate: needs a validation context with trusted_ca or pins")
	case s.c.validation == nil:
		cfg.ClientAuth = tls.NoClientCert
	case require:
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = s.verifyClient
	default:
		cfg.ClientAuth = tls.RequestClientCert
		cfg.VerifyConnection = s.verifyClient
	}
	return nil
}

// certificate picks the certificate for a handshake.
func (s *serverContext) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	var first *tls.Certificate
	var firstErr error
	for _, src := range s.c.certs {
		kp, err := src.get()
		if err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		if hello.SupportsCertificate(kp.cert) == nil {
			return kp.cert, nil
		}
		if first == nil {
			first = kp.cert
		}
	}
	if first == nil {
		return nil, fmt.Errorf("no server certificate: %w", firstErr)
	}
	return first, nil
}

// configForClient enforces require_sni, and lets a client whose ALPN protocols share
// none with the server's go on without ALPN, as BoringSSL does, instead of failing the
// handshake as crypto/tls does.
func (s *serverContext) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if s.requireSNI && hello.ServerName == "" {
		return nil, errors.New("client sent no server name and require_sni is set")
	}
	if len(s.c.alpn) == 0 || len(hello.SupportedProtos) == 0 || overlaps(s.c.alpn, hello.SupportedProtos) {
		return nil, nil
	}
	cfg := s.base.Clone()
	cfg.NextProtos = nil
	return cfg, nil
}

func (s *serverContext) verifyClient(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 && !s.require {
		return nil
	}
	return verifyPeer(s.c.validation, cs, x509.ExtKeyUsageClientAuth)
}

// verifyPeer verifies the peer of a connection against the current validation context.
func verifyPeer(src source[validator], cs tls.ConnectionState, usage x509.ExtKeyUsage) error {
	v, err := src.get()
	if err != nil {
		return fmt.Errorf("validation context: %w", err)
	}
	return v.verify(cs.PeerCertificates, usage)
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// cmpOr returns err if it is not nil, else next.
func cmpOr(err, next error) error {
	if err != nil {
		return err
	}
	return next
}
