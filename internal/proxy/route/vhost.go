package route

import (
	"errors"
	"strconv"
	"sync/atomic"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// tlsRequirement is VirtualHost.require_tls.
type tlsRequirement uint8

const (
	tlsNone tlsRequirement = iota
	tlsExternalOnly
	tlsAll
)

// VirtualHost is a compiled virtual host.
type VirtualHost struct {
	name                          string
	index                         int
	table                         *Table
	rules                         []*rule
	requireTLS                    tlsRequirement
	vclusters                     []*VirtualCluster
	other                         *VirtualCluster // for requests no virtual cluster matches
	reqOps, respOps               headerOps
	filters                       map[string]any
	retry                         *RetryPolicy
	includeAttemptCount           bool
	includeAttemptCountInResponse bool
}

// VirtualCluster is a compiled virtual cluster: requests of a virtual host picked by
// their headers, for stats (vhost.<vhost>.vcluster.<name>.*).
type VirtualCluster struct {
	name    string
	headers []*HeaderMatcher
	// Stats is for the router, which keeps the virtual cluster's stats here, made on
	// first use.
	Stats atomic.Value
}

// Name returns the virtual cluster's name.
func (vc *VirtualCluster) Name() string { return vc.name }

// OtherVirtualCluster is the virtual cluster of a request that matches none of its
// virtual host's virtual clusters.
const OtherVirtualCluster = "other"

func buildVirtualHost(t *Table, index int, v *routev3.VirtualHost, opts Options) (*VirtualHost, error) {
	vh := &VirtualHost{
		name:                          v.GetName(),
		index:                         index,
		table:                         t,
		includeAttemptCount:           v.GetIncludeRequestAttemptCount(),
		includeAttemptCountInResponse: v.GetIncludeAttemptCountInResponse(),
	}
	if vh.name == "" {
		return nil, at("name", errors.New("name is required"))
	}
	switch v.GetRequireTls() {
	case routev3.VirtualHost_NONE:
	case routev3.VirtualHost_EXTERNAL_ONLY:
		vh.requireTLS = tlsExternalOnly
	case routev3.VirtualHost_ALL:
		vh.requireTLS = tlsAll
	default:
		return nil, at("require_tls", errors.New("unknown TLS requirement"))
	}
	if err := vh.buildParts(v, opts); err != nil {
		return nil, err
	}
	for i, r := range v.GetRoutes() {
		rl, err := buildRule(vh, i, r, opts)
		if err != nil {
			return nil, at("routes["+strconv.Itoa(i)+"]", err)
		}
		vh.rules = append(vh.rules, rl)
	}
	return vh, nil
}

func (vh *VirtualHost) buildParts(v *routev3.VirtualHost, opts Options) error {
	var err error
	if vh.reqOps, err = compileHeaderOps(v.GetRequestHeadersToAdd(), v.GetRequestHeadersToRemove(),
		"request_headers_to_add", "request_headers_to_remove"); err != nil {
		return err
	}
	if vh.respOps, err = compileHeaderOps(v.GetResponseHeadersToAdd(), v.GetResponseHeadersToRemove(),
		"response_headers_to_add", "response_headers_to_remove"); err != nil {
		return err
	}
	if vh.filters, err = parseFilterConfigs(v.GetTypedPerFilterConfig(), opts); err != nil {
		return at("typed_per_filter_config", err)
	}
	if vh.retry, err = compileRetryPolicy(v.GetRetryPolicy()); err != nil {
		return at("retry_policy", err)
	}
	for i, c := range v.GetVirtualClusters() {
		if c.GetName() == "" {
			return at("virtual_clusters["+strconv.Itoa(i)+"].name", errors.New("name is required"))
		}
		hs, err := compileHeaderMatchers(c.GetHeaders())
		if err != nil {
			return at("virtual_clusters["+strconv.Itoa(i)+"].headers", err)
		}
		vh.vclusters = append(vh.vclusters, &VirtualCluster{name: c.GetName(), headers: hs})
	}
	if len(vh.vclusters) > 0 {
		vh.other = &VirtualCluster{name: OtherVirtualCluster}
	}
	return nil
}

// Name returns the virtual host's name. The methods of VirtualHost accept a nil
// receiver (the require_tls redirect has no virtual host): its name is "".
func (vh *VirtualHost) Name() string {
	if vh == nil {
		return ""
	}
	return vh.name
}

// RetryPolicy returns the virtual host's retry policy, or nil.
func (vh *VirtualHost) RetryPolicy() *RetryPolicy {
	if vh == nil {
		return nil
	}
	return vh.retry
}

// IncludeRequestAttemptCount reports include_request_attempt_count.
func (vh *VirtualHost) IncludeRequestAttemptCount() bool {
	return vh != nil && vh.includeAttemptCount
}

// IncludeAttemptCountInResponse reports include_attempt_count_in_response.
func (vh *VirtualHost) IncludeAttemptCountInResponse() bool {
	return vh != nil && vh.includeAttemptCountInResponse
}

// VirtualClusterName returns the name of the first virtual cluster whose header
// matchers all match the request, OtherVirtualCluster when the virtual host has virtual
// clusters but none matches, and "" when it has none.
func (vh *VirtualHost) VirtualClusterName(req *header.Map) string {
	if vc := vh.VirtualCluster(req); vc != nil {
		return vc.name
	}
	return ""
}

// VirtualCluster returns the request's virtual cluster: the first whose header
// matchers all match, the "other" one when none does, nil when the virtual host has no
// virtual clusters.
func (vh *VirtualHost) VirtualCluster(req *header.Map) *VirtualCluster {
	if vh == nil || len(vh.vclusters) == 0 {
		return nil
	}
	for _, vc := range vh.vclusters {
		if matchAll(vc.headers, req) {
			return vc
		}
	}
	return vh.other
}

// match applies the TLS requirement, then returns the first matching route's entry.
func (vh *VirtualHost) match(req *header.Map, info *streaminfo.Info, random uint64) *Entry {
	if vh.requireTLS != tlsNone && req.Get("x-forwarded-proto") != "https" {
		if vh.requireTLS == tlsAll || req.Get("x-envoy-internal") != "true" {
			return vh.table.sslRedirect
		}
	}
	for _, rl := range vh.rules {
		if rl.match.matches(&vh.table.env, req, info, random) {
			return rl.entry(req, random)
		}
	}
	return nil
}
