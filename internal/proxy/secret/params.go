package secret

import (
	"crypto/tls"
	"fmt"
	"strings"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// role is the side of the handshake a config is for; Envoy's defaults differ by it.
type role int

const (
	roleServer role = iota
	roleClient
)

// params is a compiled TlsParameters.
type params struct {
	min, max uint16
	ciphers  []uint16 // nil: Go's defaults
	curves   []tls.CurveID
}

// compileParams compiles p with Envoy's defaults: TLS 1.2 minimum, and maximum TLS 1.3
// for servers, TLS 1.2 for clients. Cipher suites apply to TLS 1.0-1.2 only, as in
// Envoy; Go orders them itself, so the order and BoringSSL's equal-preference groups
// "[A|B]" do not matter.
func compileParams(p *tlsv3.TlsParameters, r role) (params, error) {
	out := params{min: tls.VersionTLS12, max: tls.VersionTLS13}
	if r == roleClient {
		out.max = tls.VersionTLS12
	}
	var err error
	if v := p.GetTlsMinimumProtocolVersion(); v != tlsv3.TlsParameters_TLS_AUTO {
		if out.min, err = tlsVersion(v); err != nil {
			return params{}, fmt.Errorf("tls_minimum_protocol_version: %w", err)
		}
	}
	if v := p.GetTlsMaximumProtocolVersion(); v != tlsv3.TlsParameters_TLS_AUTO {
		if out.max, err = tlsVersion(v); err != nil {
			return params{}, fmt.Errorf("tls_maximum_protocol_version: %w", err)
		}
	}
	if out.min > out.max {
		return params{}, fmt.Errorf("tls_minimum_protocol_version %s is above tls_maximum_protocol_version %s",
			tls.VersionName(out.min), tls.VersionName(out.max))
	}
	if out.ciphers, err = cipherSuites(p.GetCipherSuites()); err != nil {
		return params{}, err
	}
	if out.curves, err = curves(p.GetEcdhCurves()); err != nil {
		return params{}, err
	}
	return out, nil
}

func tlsVersion(v tlsv3.TlsParameters_TlsProtocol) (uint16, error) {
	switch v {
	case tlsv3.TlsParameters_TLSv1_0:
		return tls.VersionTLS10, nil
	case tlsv3.TlsParameters_TLSv1_1:
		return tls.VersionTLS11, nil
	case tlsv3.TlsParameters_TLSv1_2:
		return tls.VersionTLS12, nil
	case tlsv3.TlsParameters_TLSv1_3:
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown version %d", v)
}

// boringCiphers maps BoringSSL's cipher names, the ones Envoy configs use, to Go's
// suites. BoringSSL suites without a Go implementation (the PSK ones) are missing and
// rejected.
var boringCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// cipherSuites maps cipher_suites entries, BoringSSL or standard (IANA) names, to Go
// suite IDs. Each entry may be an equal-preference group "[A|B]".
func cipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []uint16
	for i, entry := range names {
		for name := range strings.SplitSeq(strings.Trim(entry, "[]"), "|") {
			id, ok := cipherID(name)
			if !ok {
				return nil, fmt.Errorf("cipher_suites[%d]: %q not supported by weft", i, name)
			}
			out = append(out, id)
		}
	}
	return out, nil
}

func cipherID(name string) (uint16, bool) {
	if id, ok := boringCiphers[name]; ok {
		return id, true
	}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			if cs.Name == name && !tls13Only(cs) {
				return cs.ID, true
			}
		}
	}
	return 0, false
}

// tls13Only reports whether a suite is a TLS 1.3 one, which Envoy does not let
// cipher_suites configure.
func tls13Only(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// curveNames maps ecdh_curves names, BoringSSL's and their aliases, to Go curves.
var curveNames = map[string]tls.CurveID{
	"X25519":         tls.X25519,
	"P-256":          tls.CurveP256,
	"prime256v1":     tls.CurveP256,
	"secp256r1":      tls.CurveP256,
	"P-384":          tls.CurveP384,
	"secp384r1":      tls.CurveP384,
	"P-521":          tls.CurveP521,
	"secp521r1":      tls.CurveP521,
	"X25519MLKEM768": tls.X25519MLKEM768,
}

func curves(names []string) ([]tls.CurveID, error) {
	var out []tls.CurveID
	for i, n := range names {
		id, ok := curveNames[n]
		if !ok {
			return nil, fmt.Errorf("ecdh_curves[%d]: %q not supported by weft", i, n)
		}
		out = append(out, id)
	}
	return out, nil
}

// apply sets the parameters on a tls.Config.
func (p params) apply(cfg *tls.Config) {
	cfg.MinVersion, cfg.MaxVersion = p.min, p.max
	cfg.CipherSuites = p.ciphers
	cfg.CurvePreferences = p.curves
}
