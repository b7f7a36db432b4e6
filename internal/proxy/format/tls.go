package format

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/netip"
	"net/url"
	"time"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

func tlsOperators() map[string]spec {
	return map[string]spec{
		"DOWNSTREAM_TLS_VERSION":          tlsField(func(t *streaminfo.TLSInfo) string { return t.Version }),
		"DOWNSTREAM_TLS_CIPHER":           tlsField(func(t *streaminfo.TLSInfo) string { return t.CipherSuite }),
		"DOWNSTREAM_PEER_URI_SAN":         certField(true, appendURISANs),
		"DOWNSTREAM_LOCAL_URI_SAN":        certField(false, appendURISANs),
		"DOWNSTREAM_PEER_DNS_SAN":         certField(true, appendDNSSANs),
		"DOWNSTREAM_LOCAL_DNS_SAN":        certField(false, appendDNSSANs),
		"DOWNSTREAM_PEER_IP_SAN":          certField(true, appendIPSANs),
		"DOWNSTREAM_LOCAL_IP_SAN":         certField(false, appendIPSANs),
		"DOWNSTREAM_PEER_SUBJECT":         certField(true, appendSubject),
		"DOWNSTREAM_LOCAL_SUBJECT":        certField(false, appendSubject),
		"DOWNSTREAM_PEER_ISSUER":          certField(true, appendIssuer),
		"DOWNSTREAM_PEER_SERIAL":          certField(true, appendSerial),
		"DOWNSTREAM_PEER_FINGERPRINT_256": certField(true, appendSHA256),
		"DOWNSTREAM_PEER_FINGERPRINT_1":   certField(true, appendSHA1),
		"DOWNSTREAM_PEER_CERT_V_START":    {arg: argOptional, build: certTimeOp(func(c *x509.Certificate) time.Time { return c.NotBefore })},
		"DOWNSTREAM_PEER_CERT_V_END":      {arg: argOptional, build: certTimeOp(func(c *x509.Certificate) time.Time { return c.NotAfter })},
	}
}

// tlsField prints a string of the downstream TLS session; "" is absent.
func tlsField(get func(*streaminfo.TLSInfo) string) spec {
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		t := info.Downstream.TLS
		if t == nil || get(t) == "" {
			return dst, false
		}
		return append(dst, get(t)...), true
	}})
}

// certificate returns the downstream peer or local certificate, or nil.
func certificate(info *streaminfo.Info, peer bool) *x509.Certificate {
	t := info.Downstream.TLS
	switch {
	case t == nil:
		return nil
	case peer:
		return t.PeerCert
	}
	return t.LocalCert
}

// certField prints something from a certificate; an empty result is absent.
func certField(peer bool, app func([]byte, *x509.Certificate) []byte) spec {
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		c := certificate(info, peer)
		if c == nil {
			return dst, false
		}
		n := len(dst)
		dst = app(dst, c)
		return dst, len(dst) > n
	}})
}

// appendURISANs appends the URI SANs joined by ",".
func appendURISANs(dst []byte, c *x509.Certificate) []byte {
	for i, u := range c.URIs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendURL(dst, u)
	}
	return dst
}

// appendURL appends u without allocating for the usual scheme://host/path form
// (SPIFFE IDs).
func appendURL(dst []byte, u *url.URL) []byte {
	if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return append(dst, u.String()...)
	}
	if u.Scheme != "" {
		dst = append(dst, u.Scheme...)
		dst = append(dst, ':')
	}
	if u.Scheme != "" || u.Host != "" {
		dst = append(dst, "//"...)
		dst = append(dst, u.Host...)
	}
	return append(dst, u.EscapedPath()...)
}

func appendDNSSANs(dst []byte, c *x509.Certificate) []byte {
	for i, name := range c.DNSNames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, name...)
	}
	return dst
}

func appendIPSANs(dst []byte, c *x509.Certificate) []byte {
	for i, ip := range c.IPAddresses {
		if i > 0 {
			dst = append(dst, ',')
		}
		a, _ := netip.AddrFromSlice(ip)
		dst = a.Unmap().AppendTo(dst)
	}
	return dst
}

// appendSubject appends the subject in RFC 2253 form, as Envoy prints it.
func appendSubject(dst []byte, c *x509.Certificate) []byte {
	return append(dst, c.Subject.String()...)
}

func appendIssuer(dst []byte, c *x509.Certificate) []byte {
	return append(dst, c.Issuer.String()...)
}

// appendSerial appends the serial number in lowercase hex with an even number of digits.
func appendSerial(dst []byte, c *x509.Certificate) []byte {
	if c.SerialNumber == nil {
		return dst
	}
	n := len(dst)
	dst = c.SerialNumber.Append(dst, 16)
	if (len(dst)-n)%2 == 1 {
		dst = append(dst, 0)
		copy(dst[n+1:], dst[n:])
		dst[n] = '0'
	}
	return dst
}

func appendSHA256(dst []byte, c *x509.Certificate) []byte {
	sum := sha256.Sum256(c.Raw)
	return hex.AppendEncode(dst, sum[:])
}

func appendSHA1(dst []byte, c *x509.Certificate) []byte {
	sum := sha1.Sum(c.Raw)
	return hex.AppendEncode(dst, sum[:])
}

// certTimeOp prints a validity time of the peer certificate, formatted like START_TIME.
func certTimeOp(get func(*x509.Certificate) time.Time) func(string) (*operator, error) {
	return func(arg string) (*operator, error) {
		tf, err := compileTimeFormat(arg, false)
		if err != nil {
			return nil, err
		}
		return &operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			c := certificate(info, true)
			if c == nil {
				return dst, false
			}
			return tf.append(dst, get(c)), true
		}}, nil
	}
}
