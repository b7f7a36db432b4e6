package secret

import (
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// stringMatcher is a compiled Envoy StringMatcher.
type stringMatcher struct {
	kind       string // "exact", "prefix", "suffix", "contains" or "safe_regex"
	value      string
	ignoreCase bool
	re         *regexp.Regexp
}

// compileStringMatcher compiles m. safe_regex must match the whole string, as Envoy's
// RE2 FullMatch; ignore_case applies to the other kinds.
func compileStringMatcher(m *matcherv3.StringMatcher) (*stringMatcher, error) {
	sm := &stringMatcher{ignoreCase: m.GetIgnoreCase()}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		sm.kind, sm.value = "exact", p.Exact
	case *matcherv3.StringMatcher_Prefix:
		sm.kind, sm.value = "prefix", p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		sm.kind, sm.value = "suffix", p.Suffix
	case *matcherv3.StringMatcher_Contains:
		sm.kind, sm.value = "contains", p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		re, err := regexp.Compile(`^(?:` + p.SafeRegex.GetRegex() + `)$`)
		if err != nil {
			return nil, fmt.Errorf("safe_regex: %w", err)
		}
		sm.kind, sm.re = "safe_regex", re
	case nil:
		return nil, errors.New("match_pattern: required")
	default:
		return nil, fmt.Errorf("match_pattern %T: not supported by weft", p)
	}
	if sm.ignoreCase && sm.re == nil {
		sm.value = strings.ToLower(sm.value)
	}
	return sm, nil
}

func (sm *stringMatcher) match(s string) bool {
	if sm.re != nil {
		return sm.re.MatchString(s)
	}
	if sm.ignoreCase {
		s = strings.ToLower(s)
	}
	switch sm.kind {
	case "exact":
		return s == sm.value
	case "prefix":
		return strings.HasPrefix(s, sm.value)
	case "suffix":
		return strings.HasSuffix(s, sm.value)
	default:
		return strings.Contains(s, sm.value)
	}
}

// sanMatcher matches one type of subject alternative name.
type sanMatcher struct {
	typ tlsv3.SubjectAltNameMatcher_SanType
	m   *stringMatcher
}

// compileSANMatchers compiles match_typed_subject_alt_names and the deprecated
// match_subject_alt_names; a deprecated matcher applies to DNS, URI, email and IP
// address SANs alike, as Envoy does.
func compileSANMatchers(vc *tlsv3.CertificateValidationContext) ([]sanMatcher, error) {
	var out []sanMatcher
	for i, tm := range vc.GetMatchTypedSubjectAltNames() {
		switch tm.GetSanType() {
		case tlsv3.SubjectAltNameMatcher_DNS, tlsv3.SubjectAltNameMatcher_URI,
			tlsv3.SubjectAltNameMatcher_EMAIL, tlsv3.SubjectAltNameMatcher_IP_ADDRESS:
		default:
			return nil, fmt.Errorf("match_typed_subject_alt_names[%d].san_type: %s not supported by weft", i, tm.GetSanType())
		}
		sm, err := compileStringMatcher(tm.GetMatcher())
		if err != nil {
			return nil, fmt.Errorf("match_typed_subject_alt_names[%d].matcher: %w", i, err)
		}
		out = append(out, sanMatcher{typ: tm.GetSanType(), m: sm})
	}
	for i, m := range vc.GetMatchSubjectAltNames() {
		sm, err := compileStringMatcher(m)
		if err != nil {
			return nil, fmt.Errorf("match_subject_alt_names[%d]: %w", i, err)
		}
		for _, typ := range []tlsv3.SubjectAltNameMatcher_SanType{
			tlsv3.SubjectAltNameMatcher_DNS, tlsv3.SubjectAltNameMatcher_URI,
			tlsv3.SubjectAltNameMatcher_EMAIL, tlsv3.SubjectAltNameMatcher_IP_ADDRESS,
		} {
			out = append(out, sanMatcher{typ: typ, m: sm})
		}
	}
	return out, nil
}

// matchSANs reports whether any SAN of cert matches any of the matchers.
func matchSANs(cert *x509.Certificate, ms []sanMatcher) bool {
	for _, sm := range ms {
		for _, san := range sansOf(cert, sm.typ) {
			if sm.matches(san) {
				return true
			}
		}
	}
	return false
}

// matches applies the matcher to one SAN. For a DNS SAN and an exact matcher, a
// wildcard SAN such as "*.example.com" covers one leftmost label, as in Envoy.
func (sm sanMatcher) matches(san string) bool {
	if sm.typ == tlsv3.SubjectAltNameMatcher_DNS && sm.m.kind == "exact" {
		return dnsNameMatch(sm.m.value, san)
	}
	return sm.m.match(san)
}

// dnsNameMatch matches a configured name against a certificate's DNS SAN, which may be
// a wildcard. DNS names compare case-insensitively.
func dnsNameMatch(want, san string) bool {
	want, san = strings.ToLower(want), strings.ToLower(san)
	if want == san {
		return true
	}
	rest, ok := strings.CutPrefix(san, "*.")
	if !ok {
		return false
	}
	label, domain, ok := strings.Cut(want, ".")
	return ok && label != "" && domain == rest
}

// sansOf returns the SANs of one type in their string forms.
func sansOf(cert *x509.Certificate, typ tlsv3.SubjectAltNameMatcher_SanType) []string {
	switch typ {
	case tlsv3.SubjectAltNameMatcher_DNS:
		return cert.DNSNames
	case tlsv3.SubjectAltNameMatcher_EMAIL:
		return cert.EmailAddresses
	case tlsv3.SubjectAltNameMatcher_URI:
		out := make([]string, len(cert.URIs))
		for i, u := range cert.URIs {
			out[i] = u.String()
		}
		return out
	case tlsv3.SubjectAltNameMatcher_IP_ADDRESS:
		out := make([]string, len(cert.IPAddresses))
		for i, ip := range cert.IPAddresses {
			out[i] = ip.String()
		}
		return out
	}
	return nil
}
