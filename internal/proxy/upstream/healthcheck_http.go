package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// maxHCBody is how much of a health check response body is read (and dropped) so
// that the connection can be reused; a longer body closes the connection instead.
const maxHCBody = 64 << 10

// httpCheck is a validated HttpHealthCheck.
type httpCheck struct {
	method, host, path string
	header             http.Header
	http2              bool
	expected           []statusRange
	retriable          []statusRange
}

// statusRange is a half-open range of HTTP status codes [start, end).
type statusRange struct{ start, end int64 }

func inRanges(code int, rs []statusRange) bool {
	for _, r := range rs {
		if int64(code) >= r.start && int64(code) < r.end {
			return true
		}
	}
	return false
}

// httpProber validates an HttpHealthCheck and returns the factory of its probes.
func httpProber(c *Cluster, hh *corev3.HealthCheck_HttpHealthCheck) (func(*healthChecker, *Host) probe, error) {
	hc := &httpCheck{method: http.MethodGet, host: hh.GetHost(), path: hh.GetPath()}
	if hc.host == "" {
		hc.host = c.name // Envoy's default :authority
	}
	if _, err := url.ParseRequestURI(hc.path); err != nil || !strings.HasPrefix(hc.path, "/") {
		return nil, fmt.Errorf("path: %q is not a request path", hc.path)
	}
	if m := hh.GetMethod(); m != corev3.RequestMethod_METHOD_UNSPECIFIED {
		if m == corev3.RequestMethod_CONNECT {
			return nil, errors.New("method: CONNECT is not allowed")
		}
		hc.method = m.String()
	}
	switch hh.GetCodecClientType() {
	case typev3.CodecClientType_HTTP1:
	case typev3.CodecClientType_HTTP2:
		hc.http2 = true
	default:
		return nil, fmt.Errorf("codec_client_type: %s is not supported", hh.GetCodecClientType())
	}
	var err error
	if hc.expected, err = statusRanges("expected_statuses", hh.GetExpectedStatuses()); err != nil {
		return nil, err
	}
	if len(hc.expected) == 0 {
		hc.expected = []statusRange{{200, 201}}
	}
	if hc.retriable, err = statusRanges("retriable_statuses", hh.GetRetriableStatuses()); err != nil {
		return nil, err
	}
	hc.header = http.Header{"User-Agent": {"Envoy/HC"}}
	for _, name := range hh.GetRequestHeadersToRemove() {
		hc.header.Del(name)
	}
	for i, o := range hh.GetRequestHeadersToAdd() {
		if err := addHeader(hc.header, o); err != nil {
			return nil, fmt.Errorf("request_headers_to_add[%d].%w", i, err)
		}
	}
	return func(k *healthChecker, h *Host) probe { return newHTTPProbe(k, h, hc) }, nil
}

func statusRanges(field string, rs []*typev3.Int64Range) ([]statusRange, error) {
	var out []statusRange
	for i, r := range rs {
		if r.GetStart() < 100 || r.GetEnd() > 600 || r.GetStart() >= r.GetEnd() {
			return nil, fmt.Errorf("%s[%d]: [%d, %d) is not a range of HTTP statuses within [100, 600)",
				field, i, r.GetStart(), r.GetEnd())
		}
		out = append(out, statusRange{r.GetStart(), r.GetEnd()})
	}
	return out, nil
}

// addHeader applies a HeaderValueOption to h, with Envoy's append semantics.
func addHeader(h http.Header, o *corev3.HeaderValueOption) error {
	k, v := o.GetHeader().GetKey(), o.GetHeader().GetValue()
	if k == "" || strings.HasPrefix(k, ":") || strings.EqualFold(k, "host") {
		return fmt.Errorf("header.key: %q cannot be set on a health check", k)
	}
	if v == "" && !o.GetKeepEmptyValue() {
		return nil
	}
	action := o.GetAppendAction()
	if a := o.GetAppend(); a != nil {
		action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
		if !a.GetValue() {
			action = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		}
	}
	_, exists := h[http.CanonicalHeaderKey(k)]
	switch action {
	case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
		h.Add(k, v)
	case corev3.HeaderValueOption_ADD_IF_ABSENT:
		if !exists {
			h.Set(k, v)
		}
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
		h.Set(k, v)
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		if exists {
			h.Set(k, v)
		}
	}
	return nil
}

// httpProbe sends health check requests to one host, over a connection it keeps
// when reuse_connection allows.
type httpProbe struct {
	hc  *httpCheck
	url string
	tr  *http.Transport
}

func newHTTPProbe(k *healthChecker, h *Host, hc *httpCheck) *httpProbe {
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return k.dial(ctx, h) },
		DisableKeepAlives:   !k.cfg.reuse,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
	}
	if hc.http2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	u := url.URL{Scheme: "http", Host: h.Address().String()}
	return &httpProbe{hc: hc, url: u.String() + hc.path, tr: tr}
}

// check sends one request. A status in expected_statuses passes (degraded with
// x-envoy-degraded), one in retriable_statuses is a retriable failure, any other an
// immediate failure; no response is a network failure.
func (p *httpProbe) check(ctx context.Context) hcResult {
	req, err := http.NewRequestWithContext(ctx, p.hc.method, p.url, nil)
	if err != nil {
		return hcFailed
	}
	req.Host = p.hc.host
	req.Header = p.hc.header.Clone()
	resp, err := p.tr.RoundTrip(req)
	if err != nil {
		p.tr.CloseIdleConnections()
		return hcNetwork
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHCBody))
	resp.Body.Close()
	_, degraded := resp.Header["X-Envoy-Degraded"]
	r := hcFailed
	switch {
	case err != nil:
		r = hcNetwork
	case inRanges(resp.StatusCode, p.hc.expected) && degraded:
		r = hcDegraded
	case inRanges(resp.StatusCode, p.hc.expected):
		r = hcSuccess
	case inRanges(resp.StatusCode, p.hc.retriable):
		r = hcRetriable
	}
	if r != hcSuccess && r != hcDegraded {
		p.tr.CloseIdleConnections()
	}
	return r
}

func (p *httpProbe) close() { p.tr.CloseIdleConnections() }
