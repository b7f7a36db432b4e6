package secret

import (
	"crypto/x509"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Certs returns the certificates of the TLS configs still in use, one entry per config
// as Envoy's admin /certs lists its TLS contexts: ca_cert holds the first certificate of
// the trusted CA bundle, cert_chain the leaf of each configured certificate. Secrets
// not ready yet are left out. Marshalled with protojson (UseProtoNames) it is the
// /certs body.
func (m *Manager) Certs() *adminv3.Certificates {
	now := m.clock()
	out := &adminv3.Certificates{}
	for _, c := range m.liveContexts() {
		cert := &adminv3.Certificate{}
		if ca := caOf(c); ca != nil {
			cert.CaCert = []*adminv3.CertificateDetails{certificateDetails(ca.certs[0], ca.path, now)}
		}
		for _, src := range c.certs {
			if kp, err := src.get(); err == nil {
				cert.CertChain = append(cert.CertChain, certificateDetails(kp.cert.Leaf, kp.path, now))
			}
		}
		out.Certificates = append(out.Certificates, cert)
	}
	return out
}

// caOf returns the current CA bundle of a context, or nil.
func caOf(c *common) *caBundle {
	if c.validation == nil {
		return nil
	}
	v, err := c.validation.get()
	if err != nil || v.ca == nil {
		return nil
	}
	ca, err := v.ca.get()
	if err != nil || len(ca.certs) == 0 {
		return nil
	}
	return ca
}

// certificateDetails describes one certificate as Envoy does: the serial number in
// lowercase hex, SANs DNS first, then URI, then IP address, and the whole days left,
// zero once expired.
func certificateDetails(c *x509.Certificate, path string, now time.Time) *adminv3.CertificateDetails {
	d := &adminv3.CertificateDetails{
		Path:           path,
		SerialNumber:   c.SerialNumber.Text(16),
		ValidFrom:      timestamppb.New(c.NotBefore),
		ExpirationTime: timestamppb.New(c.NotAfter),
	}
	if left := c.NotAfter.Sub(now); left > 0 {
		d.DaysUntilExpiration = uint64(left / (24 * time.Hour))
	}
	for _, n := range c.DNSNames {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{
			Name: &adminv3.SubjectAlternateName_Dns{Dns: n}})
	}
	for _, u := range c.URIs {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{
			Name: &adminv3.SubjectAlternateName_Uri{Uri: u.String()}})
	}
	for _, ip := range c.IPAddresses {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{
			Name: &adminv3.SubjectAlternateName_IpAddress{IpAddress: ip.String()}})
	}
	return d
}
