package secret

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// The reasons a peer certificate is rejected, one per Envoy ssl stat
// (ssl.fail_verify_no_cert, ssl.fail_verify_error, ssl.fail_verify_san,
// ssl.fail_verify_cert_hash). Handshake errors wrap them; test with errors.Is.
var (
	ErrNoPeerCertificate = errors.New("peer presented no certificate")
	ErrUntrusted         = errors.New("peer certificate chain not trusted")
	ErrSANMismatch       = errors.New("peer certificate subject alt names match no matcher")
	ErrCertHashMismatch  = errors.New("peer certificate matches no configured hash or spki")
)

// validator is a compiled CertificateValidationContext.
type validator struct {
	ca              source[caBundle] // nil without trusted_ca
	sans            []sanMatcher
	hashes          [][]byte // SHA-256 of the certificate DER
	spkis           [][]byte // SHA-256 of the SubjectPublicKeyInfo DER
	acceptUntrusted bool
	clock           func() time.Time
}

// compileValidation compiles vc. As Envoy, it refuses subject-alt-name matching
// without a trusted CA, which anyone could satisfy with a self-signed certificate.
func (m *Manager) compileValidation(vc *tlsv3.CertificateValidationContext) (*validator, error) {
	v := &validator{clock: m.clock}
	switch vc.GetTrustChainVerification() {
	case tlsv3.CertificateValidationContext_VERIFY_TRUST_CHAIN:
	case tlsv3.CertificateValidationContext_ACCEPT_UNTRUSTED:
		v.acceptUntrusted = true
	default:
		return nil, fmt.Errorf("trust_chain_verification: %s not supported by weft", vc.GetTrustChainVerification())
	}
	var err error
	if vc.GetTrustedCa() != nil {
		if v.ca, err = m.caSource(vc.GetTrustedCa()); err != nil {
			return nil, fmt.Errorf("trusted_ca: %w", err)
		}
	}
	if v.sans, err = compileSANMatchers(vc); err != nil {
		return nil, err
	}
	if len(v.sans) > 0 && v.ca == nil {
		return nil, errors.New("match_typed_subject_alt_names: subject alt name matching without trusted_ca is insecure and not allowed")
	}
	if v.hashes, err = decodeHashes(vc.GetVerifyCertificateHash()); err != nil {
		return nil, err
	}
	if v.spkis, err = decodeSPKIs(vc.GetVerifyCertificateSpki()); err != nil {
		return nil, err
	}
	return v, nil
}

// empty reports whether v checks nothing: a validation context with neither a CA nor
// pins leaves the peer unverified, as in Envoy.
func (v *validator) empty() bool {
	return v.ca == nil && len(v.hashes) == 0 && len(v.spkis) == 0
}

// verify checks a peer's certificates, leaf first: the chain against the trusted CA
// for the given key usage, then the subject alt names, then the pins. It runs on
// resumed sessions too, against the current CA and matchers; crypto/tls does not
// resume a session whose peer certificate has expired.
func (v *validator) verify(certs []*x509.Certificate, usage x509.ExtKeyUsage) error {
	if len(certs) == 0 {
		return ErrNoPeerCertificate
	}
	leaf := certs[0]
	if v.ca != nil && !v.acceptUntrusted {
		if err := v.verifyChain(certs, usage); err != nil {
			return err
		}
	}
	if len(v.sans) > 0 && !matchSANs(leaf, v.sans) {
		return fmt.Errorf("%w: %s", ErrSANMismatch, strings.Join(sanList(leaf), ", "))
	}
	if (len(v.hashes) > 0 || len(v.spkis) > 0) && !v.pinned(leaf) {
		return ErrCertHashMismatch
	}
	return nil
}

func (v *validator) verifyChain(certs []*x509.Certificate, usage x509.ExtKeyUsage) error {
	ca, err := v.ca.get()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	opts := x509.VerifyOptions{
		Roots:         ca.pool,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   v.clock(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return nil
}

// pinned reports whether leaf matches one of the certificate hashes or SPKI hashes.
func (v *validator) pinned(leaf *x509.Certificate) bool {
	h := sha256.Sum256(leaf.Raw)
	s := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	for _, want := range v.hashes {
		if bytes.Equal(want, h[:]) {
			return true
		}
	}
	for _, want := range v.spkis {
		if bytes.Equal(want, s[:]) {
			return true
		}
	}
	return false
}

// decodeHashes decodes verify_certificate_hash: hex SHA-256, with or without colons.
func decodeHashes(in []string) ([][]byte, error) {
	out := make([][]byte, 0, len(in))
	for i, s := range in {
		b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("verify_certificate_hash[%d]: %q is not a hex SHA-256 hash", i, s)
		}
		out = append(out, b)
	}
	return out, nil
}

// decodeSPKIs decodes verify_certificate_spki: base64 SHA-256.
func decodeSPKIs(in []string) ([][]byte, error) {
	out := make([][]byte, 0, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("verify_certificate_spki[%d]: %q is not a base64 SHA-256 hash", i, s)
		}
		out = append(out, b)
	}
	return out, nil
}

// sanList lists a certificate's SANs for error messages.
func sanList(c *x509.Certificate) []string {
	var out []string
	for _, typ := range []tlsv3.SubjectAltNameMatcher_SanType{
		tlsv3.SubjectAltNameMatcher_DNS, tlsv3.SubjectAltNameMatcher_URI,
		tlsv3.SubjectAltNameMatcher_EMAIL, tlsv3.SubjectAltNameMatcher_IP_ADDRESS,
	} {
		for _, s := range sansOf(c, typ) {
			out = append(out, typ.String()+":"+s)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
