package secret

import (
	"errors"
	"fmt"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// common is a compiled CommonTlsContext: what server and client configs share, and
// what Certs reports. The tls.Config callbacks keep it alive.
type common struct {
	certs      []source[keyPair]
	validation source[validator] // nil: the peer is not verified
	alpn       []string
	params     params
}

// compileCommon compiles c for the given role. A nil c is an empty context.
func (m *Manager) compileCommon(c *tlsv3.CommonTlsContext, r role) (*common, error) {
	out := &common{alpn: c.GetAlpnProtocols()}
	var err error
	if out.params, err = compileParams(c.GetTlsParams(), r); err != nil {
		return nil, fmt.Errorf("tls_params: %w", err)
	}
	for i, tc := range c.GetTlsCertificates() {
		src, err := m.keyPairSource(tc)
		if err != nil {
			return nil, fmt.Errorf("tls_certificates[%d]: %w", i, err)
		}
		out.certs = append(out.certs, src)
	}
	for i, sc := range c.GetTlsCertificateSdsSecretConfigs() {
		e, err := m.sdsEntry(sc)
		if err != nil {
			return nil, fmt.Errorf("tls_certificate_sds_secret_configs[%d]: %w", i, err)
		}
		out.certs = append(out.certs, sdsKeyPair{e})
	}
	if out.validation, err = m.validationSource(c); err != nil {
		return nil, err
	}
	return out, nil
}

// validationSource compiles whichever of the validation_context_type oneof is set.
func (m *Manager) validationSource(c *tlsv3.CommonTlsContext) (source[validator], error) {
	switch t := c.GetValidationContextType().(type) {
	case nil:
		return nil, nil
	case *tlsv3.CommonTlsContext_ValidationContext:
		v, err := m.compileValidation(t.ValidationContext)
		if err != nil {
			return nil, fmt.Errorf("validation_context: %w", err)
		}
		if v.empty() {
			return nil, nil
		}
		return fixed[validator]{v}, nil
	case *tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig:
		e, err := m.sdsEntry(t.ValidationContextSdsSecretConfig)
		if err != nil {
			return nil, fmt.Errorf("validation_context_sds_secret_config: %w", err)
		}
		return sdsValidation{e}, nil
	case *tlsv3.CommonTlsContext_CombinedValidationContext:
		src, err := m.combinedSource(t.CombinedValidationContext)
		if err != nil {
			return nil, fmt.Errorf("combined_validation_context: %w", err)
		}
		return src, nil
	default:
		return nil, fmt.Errorf("%T: not supported by weft", t)
	}
}

// combinedSource compiles a combined_validation_context. The default context is
// compiled alone first, so that its errors show when the config is built.
func (m *Manager) combinedSource(cc *tlsv3.CommonTlsContext_CombinedCertificateValidationContext) (source[validator], error) {
	base := cc.GetDefaultValidationContext()
	if base == nil {
		return nil, errors.New("default_validation_context: required")
	}
	if _, err := m.compileValidation(withoutSANs(base)); err != nil {
		return nil, fmt.Errorf("default_validation_context: %w", err)
	}
	if _, err := compileSANMatchers(base); err != nil {
		return nil, fmt.Errorf("default_validation_context: %w", err)
	}
	if cc.GetValidationContextSdsSecretConfig() == nil {
		return nil, errors.New("validation_context_sds_secret_config: required")
	}
	e, err := m.sdsEntry(cc.GetValidationContextSdsSecretConfig())
	if err != nil {
		return nil, fmt.Errorf("validation_context_sds_secret_config: %w", err)
	}
	return &combinedValidation{m: m, base: base, e: e}, nil
}

// withoutSANs returns vc without its SAN matchers: a default validation context
// usually holds the matchers and leaves the trusted CA to the SDS secret, so it is
// checked without the rule that matchers need a CA.
func withoutSANs(vc *tlsv3.CertificateValidationContext) *tlsv3.CertificateValidationContext {
	c := &tlsv3.CertificateValidationContext{
		TrustedCa:              vc.GetTrustedCa(),
		VerifyCertificateHash:  vc.GetVerifyCertificateHash(),
		VerifyCertificateSpki:  vc.GetVerifyCertificateSpki(),
		TrustChainVerification: vc.GetTrustChainVerification(),
	}
	return c
}
