package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// The checks in this file are the building blocks of validation: each looks at one value
// and returns an error that says what is wrong with it, without its path.

// isDNSLabel reports whether s is an RFC 1123 label: 1-63 letters, digits and dashes,
// starting and ending with a letter or digit. Istio accepts upper case here, so weft does too.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// checkDomainLabels checks the dot-separated labels of a domain name. A trailing dot is
// allowed; an all-numeric last label is not (that would be an IP address).
func checkDomainLabels(domain, rest string) error {
	parts := strings.Split(rest, ".")
	last := parts[len(parts)-1]
	if last == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
		last = parts[len(parts)-1]
	}
	if _, err := strconv.Atoi(last); err == nil {
		return fmt.Errorf("invalid domain name %q: top level domain %q is all numeric", domain, last)
	}
	for _, l := range parts {
		if !isDNSLabel(l) {
			return fmt.Errorf("invalid domain name %q: %q is not a DNS label", domain, l)
		}
	}
	return nil
}

// checkDomainLength checks what every domain name needs: 1-255 characters.
func checkDomainLength(domain string) error {
	switch {
	case domain == "":
		return errors.New("must not be empty")
	case len(domain) > 255:
		return fmt.Errorf("domain name %q is longer than 255 characters", domain)
	}
	return nil
}

// checkFQDN checks a domain name without wildcards ("reviews", "www.example.com").
func checkFQDN(domain string) error {
	if err := checkDomainLength(domain); err != nil {
		return err
	}
	return checkDomainLabels(domain, domain)
}

// checkWildcardDomain checks a domain name whose first label may be a wildcard
// ("*", "*.example.com", "reviews").
func checkWildcardDomain(domain string) error {
	if err := checkDomainLength(domain); err != nil {
		return err
	}
	first, rest, dotted := strings.Cut(domain, ".")
	if first != "*" && !isDNSLabel(strings.TrimPrefix(first, "*")) {
		return fmt.Errorf("invalid domain name %q: %q is not a DNS label or a wildcard", domain, first)
	}
	if !dotted {
		return nil
	}
	return checkDomainLabels(domain, rest)
}

// checkPartialWildcard rejects wildcards that are not a whole first label ("*foo.com").
func checkPartialWildcard(host string) error {
	if strings.Contains(host, "*") && host != "*" && !strings.HasPrefix(host, "*.") {
		return fmt.Errorf("partial wildcard %q is not allowed", host)
	}
	return nil
}

// checkPort checks a port number.
func checkPort(n uint32) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("port number %d must be in 1..65535", n)
	}
	return nil
}

// isIP reports whether s is an IPv4 or IPv6 address.
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkIPOrCIDR checks an address that may be an IP or a CIDR block.
func checkIPOrCIDR(s string) error {
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not a valid CIDR block", s)
		}
		return nil
	}
	if !isIP(s) {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	return nil
}

// checkDuration checks a duration as Envoy takes it: at least 1ms, whole milliseconds.
func checkDuration(d *durationpb.Duration) error {
	if err := d.CheckValid(); err != nil {
		return fmt.Errorf("invalid duration: %w", err)
	}
	dur := d.AsDuration()
	if dur < time.Millisecond {
		return fmt.Errorf("duration %s must be at least 1ms", dur)
	}
	if dur%time.Millisecond != 0 {
		return fmt.Errorf("duration %s must be a whole number of milliseconds", dur)
	}
	return nil
}

var labelNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// checkLabelKey checks a Kubernetes label key: an optional DNS subdomain prefix and a
// name of at most 63 characters.
func checkLabelKey(k string) error {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix && (checkFQDN(prefix) != nil || len(prefix) > 253) {
		return fmt.Errorf("invalid label key %q: prefix %q is not a DNS subdomain", k, prefix)
	}
	if len(name) > 63 || !labelNameRE.MatchString(name) {
		return fmt.Errorf("invalid label key %q", k)
	}
	return nil
}

// checkLabelValue checks a Kubernetes label value: empty, or at most 63 characters of
// letters, digits, '-', '_' and '.', starting and ending with a letter or digit.
func checkLabelValue(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 63 || !labelNameRE.MatchString(v) {
		return fmt.Errorf("invalid label value %q", v)
	}
	return nil
}

// knownProtocols are the port protocols Istio knows, in lower case.
var knownProtocols = map[string]bool{
	"http": true, "http2": true, "https": true, "grpc": true, "grpc-web": true, "http_proxy": true,
	"tcp": true, "tls": true, "udp": true, "mongo": true, "redis": true, "mysql": true,
}

// checkProtocol checks a port protocol name; empty means "sniff" and is allowed.
func checkProtocol(p string) error {
	if p == "" || knownProtocols[strings.ToLower(p)] {
		return nil
	}
	return fmt.Errorf("unknown protocol %q (want HTTP, HTTPS, HTTP2, GRPC, GRPC-Web, TCP, TLS, UDP, Mongo, Redis or MySQL)", p)
}

// isHTTPProtocol and isTLSProtocol classify protocol names as Istio does.
func isHTTPProtocol(p string) bool {
	switch strings.ToLower(p) {
	case "http", "http2", "grpc", "grpc-web", "http_proxy":
		return true
	}
	return false
}

func isTLSProtocol(p string) bool {
	switch strings.ToLower(p) {
	case "https", "tls":
		return true
	}
	return false
}

// hostsOverlap reports whether two hosts can name the same thing: they are equal, or one
// is a wildcard ("*.example.com", "*") whose suffix the other ends with. This is Istio's
// host.Name.Matches.
func hostsOverlap(a, b string) bool {
	aw, bw := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	switch {
	case aw && bw:
		if len(a) < len(b) {
			return strings.HasSuffix(b[1:], a[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	case aw:
		return strings.HasSuffix(b, a[1:])
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}

// hostSubsetOf reports whether every name h matches is matched by pattern (Istio's
// host.Name.SubsetOf): "a.example.com" and "*.b.example.com" are subsets of "*.example.com".
func hostSubsetOf(h, pattern string) bool {
	if strings.HasPrefix(h, "*") {
		return strings.HasPrefix(pattern, "*") && strings.HasSuffix(h[1:], pattern[1:])
	}
	if strings.HasPrefix(pattern, "*") {
		return strings.HasSuffix(h, pattern[1:])
	}
	return h == pattern
}

// errorf is fmt.Errorf, named so that checks read as sentences.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
