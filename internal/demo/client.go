package demo

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProxyFunc picks the proxy for an outbound request, as http.Transport.Proxy does; a nil URL
// means a direct connection.
type ProxyFunc func(*http.Request) (*url.URL, error)

// ProxyFromEnv reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their lowercase forms) through
// getenv once and returns the proxy choice they describe, or nil when no proxy is set.
//
// Unlike http.ProxyFromEnvironment it reads the environment when called rather than once per
// process, and, like curl, it proxies localhost and loopback addresses too unless NO_PROXY
// names them: in the mesh's shared-network mode every app reaches every service, wherever it
// is, through its sidecar.
func ProxyFromEnv(getenv func(string) string) ProxyFunc {
	httpProxy := parseProxy(firstEnv(getenv, "HTTP_PROXY", "http_proxy"))
	httpsProxy := parseProxy(firstEnv(getenv, "HTTPS_PROXY", "https_proxy"))
	if httpProxy == nil && httpsProxy == nil {
		return nil
	}
	noProxy := splitNoProxy(firstEnv(getenv, "NO_PROXY", "no_proxy"))
	return func(r *http.Request) (*url.URL, error) {
		if bypass(r.URL.Hostname(), noProxy) {
			return nil, nil
		}
		if r.URL.Scheme == "https" {
			return httpsProxy, nil
		}
		return httpProxy, nil
	}
}

// NewClient returns an HTTP client whose requests go through proxy (nil: direct). Callers
// bound each request with its context; the client has no overall timeout of its own.
func NewClient(proxy ProxyFunc) *http.Client {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	if proxy != nil {
		t.Proxy = proxy
	}
	return &http.Client{Transport: t}
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// parseProxy accepts a proxy URL with or without its http:// scheme; it returns nil for an
// empty or unusable value.
func parseProxy(s string) *url.URL {
	if s == "" {
		return nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil
	}
	return u
}

func splitNoProxy(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// bypass reports whether host matches a NO_PROXY entry: "*", an exact host or IP, a domain
// whose subdomains match too (with or without a leading dot), or a CIDR range.
func bypass(host string, noProxy []string) bool {
	host = strings.ToLower(host)
	ip := net.ParseIP(host)
	for _, p := range noProxy {
		if h, _, err := net.SplitHostPort(p); err == nil {
			p = h // ports in NO_PROXY entries are ignored
		}
		switch {
		case p == "*" || p == host:
			return true
		case ip != nil && strings.Contains(p, "/"):
			if _, n, err := net.ParseCIDR(p); err == nil && n.Contains(ip) {
				return true
			}
		case strings.HasSuffix(host, "."+strings.TrimPrefix(p, ".")):
			return true
		}
	}
	return false
}
