package route

import (
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Entry is what a matched request gets: a route, narrowed to one weighted cluster when
// the route has several. Entries are part of the immutable Table; Match returns the same
// *Entry for the same route and cluster, so it can key per-route state.
type Entry struct {
	rule          *rule
	cluster       string
	clusterHeader string
	wc            *clusterWeight
	index         int // in weighted_clusters.clusters
}

// Position returns where the entry's route is in the config: the index of its virtual
// host in virtual_hosts, of the route in that host's routes, and of its cluster in
// weighted_clusters.clusters (0 for other routes). The redirect that require_tls
// produces belongs to no route and returns (-1, -1, 0).
func (e *Entry) Position() (vhost, route, cluster int) {
	if e.rule.vh == nil {
		return -1, -1, 0
	}
	return e.rule.vh.index, e.rule.index, e.index
}

// Name returns the route's name ("" when unnamed).
func (e *Entry) Name() string { return e.rule.name }

// VirtualHost returns the virtual host the route belongs to; it is nil for the redirect
// that require_tls produces, and a nil *VirtualHost's Name is "".
func (e *Entry) VirtualHost() *VirtualHost { return e.rule.vh }

// Action says whether the route forwards, redirects or answers directly.
func (e *Entry) Action() Action { return e.rule.action }

// ClusterName returns the upstream cluster: the configured or picked weighted cluster,
// or for cluster_header the first value of that header ("" when it is absent). It is
// "" for redirects and direct responses.
func (e *Entry) ClusterName(req *header.Map) string {
	if e.clusterHeader != "" {
		return req.Get(e.clusterHeader)
	}
	return e.cluster
}

// WeightedCluster reports whether the entry is one cluster of a weighted_clusters route.
func (e *Entry) WeightedCluster() bool { return e.wc != nil }

// ClusterNotFoundCode returns the status to answer with when the cluster does not exist
// (cluster_not_found_response_code; 503 by default).
func (e *Entry) ClusterNotFoundCode() int {
	if e.rule.act == nil {
		return 503
	}
	return e.rule.act.notFoundCode
}

// VirtualClusterName returns the request's virtual cluster (see
// VirtualHost.VirtualClusterName).
func (e *Entry) VirtualClusterName(req *header.Map) string {
	return e.rule.vh.VirtualClusterName(req)
}

// VirtualCluster returns the request's virtual cluster (see VirtualHost.VirtualCluster).
func (e *Entry) VirtualCluster(req *header.Map) *VirtualCluster {
	return e.rule.vh.VirtualCluster(req)
}

// Timeout returns the upstream request timeout: route.timeout, DefaultTimeout when it is
// unset; zero disables it.
func (e *Entry) Timeout() time.Duration {
	if e.rule.act == nil {
		return DefaultTimeout
	}
	return e.rule.act.timeout
}

// IdleTimeout returns route.idle_timeout and whether it is set; zero disables the idle
// timeout, unset leaves the connection manager's stream idle timeout in force.
func (e *Entry) IdleTimeout() (time.Duration, bool) {
	if e.rule.act == nil || e.rule.act.idleTimeout == nil {
		return 0, false
	}
	return *e.rule.act.idleTimeout, true
}

// MaxStreamDuration returns the route's max_stream_duration settings.
func (e *Entry) MaxStreamDuration() MaxStreamDuration {
	if e.rule.act == nil {
		return MaxStreamDuration{}
	}
	return e.rule.act.maxStream
}

// AutoHostRewrite reports whether the router should set :authority to the hostname of
// the upstream host it picks (auto_host_rewrite).
func (e *Entry) AutoHostRewrite() bool { return e.rule.act != nil && e.rule.act.autoHost }

// RetryPolicy returns the route's retry policy, else its virtual host's, else nil.
func (e *Entry) RetryPolicy() *RetryPolicy {
	if e.rule.act != nil && e.rule.act.retry != nil {
		return e.rule.act.retry
	}
	return e.rule.vh.RetryPolicy()
}

// HashPolicies returns the route's hash policies in config order. The slice must not
// be changed.
func (e *Entry) HashPolicies() []HashPolicy {
	if e.rule.act == nil {
		return nil
	}
	return e.rule.act.hash
}

// MirrorPolicies returns the route's request mirror policies. The slice must not be
// changed.
func (e *Entry) MirrorPolicies() []MirrorPolicy {
	if e.rule.act == nil {
		return nil
	}
	return e.rule.act.mirrors
}

// Metadata returns the route's filter metadata by namespace; it must not be changed.
func (e *Entry) Metadata() map[string]map[string]any { return e.rule.metadata }

// Decorator returns the route's tracing decorator, or nil.
func (e *Entry) Decorator() *Decorator { return e.rule.decorator }

// PerFilterConfig returns the parsed typed_per_filter_config for the HTTP filter called
// name from the most specific level that has one: weighted cluster, route, virtual
// host, route configuration. It returns nil when no level configures the filter.
func (e *Entry) PerFilterConfig(name string) any {
	if e.wc != nil {
		if v, ok := e.wc.filters[name]; ok {
			return v
		}
	}
	if v, ok := e.rule.filters[name]; ok {
		return v
	}
	vh := e.rule.vh
	if vh == nil {
		return nil
	}
	if v, ok := vh.filters[name]; ok {
		return v
	}
	return vh.table.filters[name]
}

// headerLevels returns the header operations that apply to the entry, in Envoy's
// evaluation order (later levels win): the weighted cluster first, then route, virtual
// host and route configuration, or the reverse of the last three when
// most_specific_header_mutations_wins is set.
func (e *Entry) headerLevels(response bool) [4]*headerOps {
	var lv [4]*headerOps
	if e.wc != nil {
		lv[0] = sel(response, &e.wc.reqOps, &e.wc.respOps)
	}
	vh := e.rule.vh
	if vh == nil {
		return lv
	}
	route := sel(response, &e.rule.reqOps, &e.rule.respOps)
	host := sel(response, &vh.reqOps, &vh.respOps)
	global := sel(response, &vh.table.reqOps, &vh.table.respOps)
	if vh.table.mostSpecificWins {
		lv[1], lv[2], lv[3] = global, host, route
	} else {
		lv[1], lv[2], lv[3] = route, host, global
	}
	return lv
}

func sel(response bool, req, resp *headerOps) *headerOps {
	if response {
		return resp
	}
	return req
}

// FinalizeRequest applies the route to the request headers before they go upstream, in
// Envoy's order: the weighted cluster's header changes and host_rewrite_literal, the
// header changes of route, virtual host and route configuration, then the route's host
// rewrite (host_rewrite_literal, host_rewrite_header or host_rewrite_path_regex), then
// the path rewrite (prefix_rewrite or regex_rewrite), which keeps the original path in
// x-envoy-original-path (a router with suppress_envoy_headers removes it). Header
// values are formatted with info, whose RequestHeaders should be req. auto_host_rewrite
// is left to the router, which knows the upstream host (see AutoHostRewrite).
func (e *Entry) FinalizeRequest(req *header.Map, info *streaminfo.Info) {
	if info == nil {
		info = &streaminfo.Info{RequestHeaders: req}
	}
	for i, ops := range e.headerLevels(false) {
		if ops != nil && !ops.empty() {
			ops.apply(req, info)
		}
		if i == 0 && e.wc != nil && e.wc.hostRewrite != "" {
			setAuthority(req, e.wc.hostRewrite, false)
		}
	}
	act := e.rule.act
	if act == nil {
		return
	}
	act.rewriteHost(req)
	if act.prefixRewrite != nil || act.regexRewrite != nil {
		rewritePath(req, &e.rule.match, act.prefixRewrite, act.regexRewrite)
	}
}

// FinalizeResponse applies response header additions and removals at every level, in
// the same order as FinalizeRequest. Header values are formatted with info.
func (e *Entry) FinalizeResponse(resp *header.Map, info *streaminfo.Info) {
	if info == nil {
		info = &streaminfo.Info{ResponseHeaders: resp}
	}
	for _, ops := range e.headerLevels(true) {
		if ops != nil && !ops.empty() {
			ops.apply(resp, info)
		}
	}
}
